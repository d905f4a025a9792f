package render_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/manifest/kustomize"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/internal/golden"
)

// renderTo renders sources into a new directory and returns it.
func renderTo(t *testing.T, opts render.Options, sources ...string) (string, *render.Result) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	res, err := render.Render(context.Background(), out, opts, sources...)
	if err != nil {
		t.Fatalf("render %v: %v", sources, err)
	}
	return out, res
}

// TestGolden renders each source kind and compares the tree with
// testdata/golden/<name>; go test -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	cases := []struct {
		name    string
		sources []string
		opts    func(*render.Options)
	}{
		{name: "yaml-app", sources: []string{"testdata/yaml/app"}, opts: func(o *render.Options) { o.Namespace = "apps" }},
		{name: "yaml-format", sources: []string{"testdata/yaml/app"}, opts: func(o *render.Options) {
			o.Namespace = "apps"
			o.Format = "{{.metadata.namespace}}/{{.kind}}-{{.metadata.name}}"
		}},
		{name: "yaml-file", sources: []string{"testdata/yaml/app/apps/web.yaml"}},
		{name: "yaml-nested-kustomization", sources: []string{"testdata/yaml/nested"}},
		{name: "kustomize-production", sources: []string{"../examples/kustomize/overlays/production"}},
		{name: "kustomize-two-overlays", sources: []string{"../examples/kustomize/overlays/staging", "../examples/kustomize/overlays/production"}},
		{name: "kustomize-two-overlays-separate", sources: []string{"../examples/kustomize/overlays/staging", "../examples/kustomize/overlays/production"},
			opts: func(o *render.Options) { o.Separate = true }},
		{name: "podinfo", sources: []string{"../examples/podinfo"}},
		{name: "cdk8s-layouts", sources: []string{"testdata/cdk8s/file-per-chart"}},
		{name: "cdk8s-layouts", sources: []string{"testdata/cdk8s/file-per-app"}},
		{name: "cdk8s-layouts", sources: []string{"testdata/cdk8s/file-per-resource"}},
		{name: "cdk8s-layouts", sources: []string{"testdata/cdk8s/folder-per-chart"}},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+filepath.Base(c.sources[0]), func(t *testing.T) {
			opts := render.DefaultOptions()
			if c.opts != nil {
				c.opts(&opts)
			}
			out, _ := renderTo(t, opts, c.sources...)
			golden.Compare(t, out, filepath.Join("testdata/golden", c.name))
			buildsWithKustomize(t, out, opts.Separate)
		})
	}
}

// buildsWithKustomize checks that kustomize builds the tree (each unit, when
// separate) and gives as many objects as there are object files.
func buildsWithKustomize(t *testing.T, out string, separate bool) {
	t.Helper()
	dirs := []string{out}
	if separate {
		dirs = nil
		filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Name() == "kustomization.yaml" {
				dirs = append(dirs, filepath.Dir(p))
			}
			return err
		})
	}
	files := 0
	for p := range golden.Tree(t, out) {
		if filepath.Base(p) != "kustomization.yaml" {
			files++
		}
	}
	objects := 0
	for _, d := range dirs {
		y, err := kustomize.Build(context.Background(), d, kustomize.BuildOptions{})
		if err != nil {
			t.Fatalf("kustomize build of the rendered tree: %v", err)
		}
		objs, err := manifest.ParseYAML(y, d, manifest.ParseYAMLOptions{})
		if err != nil {
			t.Fatal(err)
		}
		objects += len(objs)
	}
	if objects != files {
		t.Errorf("kustomize build gives %d objects for %d object files", objects, files)
	}
}

func TestDetect(t *testing.T) {
	for src, want := range map[string]render.Kind{
		"testdata/yaml/app":                                render.KindYAML,
		"testdata/yaml/app/apps/web.yaml":                  render.KindYAML,
		"testdata/yaml/nested":                             render.KindYAML,
		"testdata/yaml/nested/base":                        render.KindKustomize,
		"../examples/kustomize/overlays/production":        render.KindKustomize,
		"../examples/podinfo":                              render.KindKustomize,
		"testdata/cdk8s/file-per-chart":                    render.KindCDK8s,
		"testdata/cdk8s/folder-per-chart":                  render.KindCDK8s,
		"../examples/cdk8s":                                render.KindCDK8s,
		"../examples/tanka":                                render.KindTanka,
		"../examples/tanka/environments":                   render.KindTanka,
		"../examples/tanka/environments/prod":              render.KindTanka,
		"../examples/tanka/environments/prod/main.jsonnet": render.KindTanka,
		"../examples/jsonnet/app.jsonnet":                  render.KindJsonnet,
	} {
		got, err := render.Detect(src)
		if err != nil || got != want {
			t.Errorf("Detect(%s) = %q, %v; want %q", src, got, err, want)
		}
	}
	if _, err := render.Detect("testdata/nope"); !errors.Is(err, render.ErrNotFound) {
		t.Errorf("Detect of a missing source: %v", err)
	}
}

// TestCDK8sOrder: objects come in cdk8s's order: charts by their 0000- prefixes,
// objects in a chart's file as written; files of a chart folder by name.
func TestCDK8sOrder(t *testing.T) {
	for layout, want := range map[string]string{
		"file-per-chart":   "Namespace,Service,ConfigMap,Deployment",
		"file-per-app":     "Namespace,Service,ConfigMap,Deployment",
		"folder-per-chart": "Namespace,ConfigMap,Service,Deployment",
	} {
		units, err := render.Load(context.Background(), render.DefaultOptions(), "testdata/cdk8s/"+layout)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, o := range units[0].Objects {
			kinds = append(kinds, o.Kind())
		}
		if got := strings.Join(kinds, ","); got != want {
			t.Errorf("%s: order %s", layout, got)
		}
	}
}

// TestDeterministic: the same sources give byte-identical trees, whatever the order
// and times of the files; rendering again into the same output replaces it.
func TestDeterministic(t *testing.T) {
	src := "testdata/yaml/app"
	copyDir := filepath.Join(t.TempDir(), "app")
	if err := os.CopyFS(copyDir, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	opts := render.DefaultOptions()
	opts.Namespace = "apps"
	a, _ := renderTo(t, opts, src)
	b, _ := renderTo(t, opts, copyDir)
	ta, tb := golden.Tree(t, a), golden.Tree(t, b)
	if len(ta) != len(tb) {
		t.Fatalf("%d files vs %d", len(ta), len(tb))
	}
	for p, c := range ta {
		if tb[p] != c {
			t.Errorf("%s differs between two renders", p)
		}
	}
	// again into a: allowed (an earlier render), and the same
	if _, err := render.Render(context.Background(), a, opts, src); err != nil {
		t.Fatalf("rendering over an earlier render: %v", err)
	}
	for p, c := range golden.Tree(t, a) {
		if ta[p] != c {
			t.Errorf("%s changed on the second render", p)
		}
	}
}

// TestOutputExcludedFromSource: an output directory inside a YAML source is not read
// back as source on the next render.
func TestOutputExcludedFromSource(t *testing.T) {
	src := filepath.Join(t.TempDir(), "app")
	if err := os.CopyFS(src, os.DirFS("testdata/yaml/app")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(src, "out")
	for range 2 {
		if _, err := render.Render(context.Background(), out, render.DefaultOptions(), src); err != nil {
			t.Fatal(err)
		}
	}
}

func TestResult(t *testing.T) {
	_, res := renderTo(t, render.DefaultOptions(), "../examples/kustomize/overlays/staging", "testdata/yaml/nested")
	if res.Objects != len(res.Files)-4 || len(res.Units) != 3 {
		t.Fatalf("result: %+v", res)
	}
	want := []render.UnitResult{
		{Dir: "nested", Kind: render.KindYAML, Source: "testdata/yaml/nested", Objects: 1},
		{Dir: "nested/base", Kind: render.KindKustomize, Source: filepath.Join("testdata/yaml/nested", "base"), Objects: 1},
		{Dir: "staging", Kind: render.KindKustomize, Source: "../examples/kustomize/overlays/staging", Objects: res.Units[2].Objects},
	}
	for i, u := range res.Units {
		if !reflect.DeepEqual(u, want[i]) {
			t.Errorf("unit %d: %+v, want %+v", i, u, want[i])
		}
	}
}
