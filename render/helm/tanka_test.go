package helm_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/helm"
	"github.com/gitless-dev/gitless/render/jsonnet"
)

// tankaOptions are render options with the Jsonnet loader and helmTemplate wired
// in, as the gitless CLI wires them.
func tankaOptions(e *helm.Engine) render.Options {
	jo := jsonnet.DefaultOptions()
	jo.Natives = []jsonnet.Native{{Name: "helmTemplate", Params: helm.TankaParams, Func: e.HelmTemplate}}
	jl := jsonnet.NewLoader(jo)
	opts := render.DefaultOptions()
	opts.Loaders[render.KindTanka], opts.Loaders[render.KindJsonnet] = jl, jl
	return opts
}

// A Tanka environment that calls helm.template of grafana/jsonnet-libs tanka-util
// (vendored) on a chart vendored under the project's charts/ renders what Tanka
// would: helm template's objects with tanka-util's label, in the environment's
// namespace, the chart recorded on the unit.
func TestTankaHelmTemplate(t *testing.T) {
	e := helm.New(helm.Options{})
	out := filepath.Join(t.TempDir(), "out")
	res, err := render.Render(context.Background(), out, tankaOptions(e), "testdata/tanka/environments/default")
	if err != nil {
		t.Fatal(err)
	}
	units, err := render.Load(context.Background(), tankaOptions(e), "testdata/tanka/environments/default")
	if err != nil {
		t.Fatal(err)
	}
	if err := render.Check(context.Background(), units, render.DefaultOptions()); err != nil { // namespaces
		t.Fatal(err)
	}
	got := objectsOf(units)

	raiser := func(objs []*render.Object) []*render.Object {
		for i, o := range objs {
			v, _ := o.Value()
			meta := v["metadata"].(map[string]any)
			labels, _ := meta["labels"].(map[string]any)
			if labels == nil {
				labels = map[string]any{}
			}
			labels["app.kubernetes.io/managed-by"] = "Helmraiser"
			meta["labels"] = labels
			n, err := manifest.NewObjectFromValue(v, o.Origin)
			if err != nil {
				t.Fatal(err)
			}
			if n.Namespace() == "" {
				n.SetNamespace("web")
			}
			objs[i] = n
		}
		return objs
	}
	want := raiser(helmTemplate(t, "podinfo", podinfo, "--namespace", "web", "--include-crds", "--skip-tests", "--kube-version", helm.DefaultKubeVersion,
		"--values", podinfo+"/values-prod.yaml", "--set", "replicaCount=2,hooks.preInstall.job.enabled=true"))
	want = append(want, raiser(helmTemplate(t, "canary", podinfo, "--namespace", "web", "--include-crds", "--skip-tests", "--kube-version", "1.33.0",
		"--no-hooks", "--set", "hooks.preInstall.job.enabled=true"))...)
	sameObjects(t, got, want)

	if len(res.Charts) != 1 || res.Charts[0].Name != "podinfo" || res.Charts[0].Version != "6.14.1" || !strings.HasPrefix(res.Charts[0].Digest, "sha256:") {
		t.Errorf("charts: %+v", res.Charts)
	}
	if _, err := os.Stat(filepath.Join(out, "batch-v1.Job-podinfo-pre-install.yaml")); err != nil {
		t.Errorf("the hook is not written as tk export would: %v", err)
	}
	for _, o := range got {
		if o.Name() == "canary-podinfo" && !strings.Contains(o.Origin.String(), `(.canary["`+strings.ToLower(o.Kind())+`-canary-podinfo"])`) {
			t.Errorf("%s: origin %s does not follow nameFormat", o, o.Origin)
		}
	}
}

func TestTankaHelmTemplateErrors(t *testing.T) {
	e := helm.New(helm.Options{})
	root := t.TempDir()
	for p, data := range map[string]string{
		"jsonnetfile.json":               "{}",
		"environments/default/spec.json": `{"apiVersion": "tanka.dev/v1alpha1", "kind": "Environment", "metadata": {"name": "x"}, "spec": {"namespace": "web"}}`,
	} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(root, p), []byte(data), 0o644)
	}
	abs, _ := filepath.Abs(podinfo)
	cases := []struct {
		name, main string
		want       []string
	}{
		{"no chart", `std.native('helmTemplate')('x', './charts/nope', {calledFrom: std.thisFile})`, []string{"main.jsonnet:1:", "no chart at", "charts/nope"}},
		{"no calledFrom", `std.native('helmTemplate')('x', './charts/nope', {})`, []string{"calledFrom is unset"}},
		{"unknown option", `std.native('helmTemplate')('x', '` + abs + `', {calledFrom: '/', valueFiles: ['x.yaml']})`, []string{`unknown field "valueFiles"`}},
		{"template fails", `std.native('helmTemplate')('x', '` + abs + `', {calledFrom: '/', values: {hooks: 'none'}})`, []string{"podinfo/templates/hooks/job.yaml:3:"}},
		// The CI's environment is not the tree's to read, as in Helm's templates.
		{"env in nameFormat", `std.native('helmTemplate')('x', '` + abs + `', {calledFrom: '/', nameFormat: '{{ env "GITLESS_TEST_SECRET" }}'})`, []string{"nameFormat", `function "env" not defined`}},
		{"expandenv in nameFormat", `std.native('helmTemplate')('x', '` + abs + `', {calledFrom: '/', nameFormat: '{{ expandenv "$GITLESS_TEST_SECRET" }}'})`, []string{"nameFormat", `function "expandenv" not defined`}},
	}
	t.Setenv("GITLESS_TEST_SECRET", "s3cret-value")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(root, "environments/default/main.jsonnet"), []byte(c.main), 0o644)
			_, err := render.Load(context.Background(), tankaOptions(e), filepath.Join(root, "environments/default"))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}
