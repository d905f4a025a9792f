package render_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/npm"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/internal/golden"
)

// TestCDK8sSynth synthesizes examples/cdk8s for real (cdk8s and cdk8s-cli from the npm
// registry, through hack/npm-deps.sh) and renders it. Without node and npm it skips,
// unless GITLESS_REQUIRE_NPM=1.
func TestCDK8sSynth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs node")
	}
	app := npm.App(t, "../examples/cdk8s")
	opts := render.DefaultOptions()
	opts.Synth = true
	out := filepath.Join(t.TempDir(), "out")
	res, err := render.Render(context.Background(), out, opts, app)
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects != 4 || res.Units[0].Kind != render.KindCDK8s {
		t.Fatalf("result %+v", res)
	}
	golden.Compare(t, out, "testdata/golden/cdk8s-example")
	buildsWithKustomize(t, out, false)

	// the dist/ that synth left is read in cdk8s's order: infra's chart (0000-) first
	units, err := render.Load(context.Background(), render.DefaultOptions(), filepath.Join(app, "dist"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range units[0].Objects {
		got = append(got, o.Kind())
	}
	if len(got) != 4 || got[0] != "Namespace" || got[1] != "ConfigMap" || got[2] != "Deployment" {
		t.Fatalf("order of dist/: %v", got)
	}
}
