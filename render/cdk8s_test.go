package render_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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

// cdk8s's output directory, and the links in it, stay in the app's directory.
func TestCDK8sOutputLinkedOutsideIsRefused(t *testing.T) {
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "a.k8s.yaml"), []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: ci, namespace: n}\nstringData: {t: s3cret-marker}\n"), 0o644)
	app := t.TempDir()
	os.WriteFile(filepath.Join(app, "cdk8s.yaml"), []byte("language: typescript\napp: npx ts-node main.ts\noutput: dist\n"), 0o644)
	if err := os.Symlink(outside, filepath.Join(app, "dist")); err != nil {
		t.Skip(err)
	}
	_, err := render.Load(context.Background(), render.DefaultOptions(), app)
	if err == nil || !strings.Contains(err.Error(), "outside the source") {
		t.Fatalf("dist linked out of the app: %v", err)
	}
	os.Remove(filepath.Join(app, "dist"))
	os.MkdirAll(filepath.Join(app, "dist"), 0o755)
	os.Symlink(filepath.Join(outside, "a.k8s.yaml"), filepath.Join(app, "dist", "a.k8s.yaml"))
	if _, err := render.Load(context.Background(), render.DefaultOptions(), app); err == nil || !strings.Contains(err.Error(), "outside the source") {
		t.Fatalf("a file of dist linked out of the app: %v", err)
	}
}
