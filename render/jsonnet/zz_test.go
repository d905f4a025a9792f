package jsonnet_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/jsonnet"
)

func TestZZProfile(t *testing.T) {
	o := options(jsonnet.Options{})
	out := filepath.Join(t.TempDir(), "out")
	if _, err := render.Render(context.Background(), out, o, "/tmp/gl/bp/environments/env-00"); err != nil {
		t.Fatal(err)
	}
}
