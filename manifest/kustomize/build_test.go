package kustomize_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/peers"
	"github.com/gitless-dev/gitless/manifest/kustomize"
)

// TestBuildIsKustomizeBuild: Build gives what `kustomize build` prints, on an overlay
// with bases, generators and a builtin transformer, and on trees render wrote.
func TestBuildIsKustomizeBuild(t *testing.T) {
	cli := peers.Bin(t, "kustomize")
	for _, dir := range []string{
		"../../examples/kustomize/overlays/production",
		"../../render/testdata/golden/kustomize-two-overlays",
		"../../render/testdata/golden/tanka-project",
		"../../render/testdata/golden/yaml-format",
	} {
		got, err := kustomize.Build(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		want, err := exec.Command(cli, "build", dir).Output()
		if err != nil {
			t.Fatalf("kustomize build %s: %v", dir, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Build differs from kustomize build", dir)
		}
	}
}

func TestCheckLocal(t *testing.T) {
	if err := kustomize.CheckLocal("../../examples/kustomize/overlays/staging"); err != nil {
		t.Fatal(err)
	}
	if err := kustomize.CheckLocal(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no kustomization file") {
		t.Fatalf("no kustomization: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources:\n- ssh://git@example.com/acme/app.git\n"), 0o644)
	if err := kustomize.CheckLocal(dir); !errors.Is(err, kustomize.ErrRefused) {
		t.Fatalf("ssh base: %v", err)
	}
}
