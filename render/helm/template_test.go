package helm_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/peers"
	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/helm"
)

const (
	podinfo = "testdata/tanka/charts/podinfo"
	infra   = "../../examples/helm/charts/infra-controllers"
)

// byID indexes objects by apiVersion, kind, namespace and name, with their data.
func byID(t *testing.T, objs []*render.Object) map[string]map[string]any {
	t.Helper()
	m := map[string]map[string]any{}
	for _, o := range objs {
		id := fmt.Sprintf("%s %s %s/%s", o.APIVersion(), o.Kind(), o.Namespace(), o.Name())
		if _, dup := m[id]; dup {
			t.Fatalf("%s twice", id)
		}
		v, err := o.Value()
		if err != nil {
			t.Fatal(err)
		}
		m[id] = v
	}
	return m
}

// helmTemplate runs the helm CLI v4 (the peer tool) and parses what it prints.
func helmTemplate(t *testing.T, args ...string) []*render.Object {
	t.Helper()
	bin := peers.Bin(t, "helm")
	out, _ := peers.Run(t, bin, "", nil, append([]string{"template"}, args...)...)
	objs, err := manifest.ParseYAML([]byte(out), "helm template", manifest.ParseYAMLOptions{})
	if err != nil {
		t.Fatalf("parsing helm template's output: %v\n%s", err, out)
	}
	return objs
}

// sameObjects compares two object sets field for field.
func sameObjects(t *testing.T, got, want []*render.Object) {
	t.Helper()
	g, w := byID(t, got), byID(t, want)
	var ids []string
	for id := range w {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		gv, ok := g[id]
		if !ok {
			t.Errorf("helm template gives %s, gitless does not", id)
			continue
		}
		if !reflect.DeepEqual(gv, w[id]) {
			t.Errorf("%s differs:\ngitless: %v\nhelm:    %v", id, gv, w[id])
		}
	}
	for id := range g {
		if _, ok := w[id]; !ok {
			t.Errorf("gitless gives %s, helm template does not", id)
		}
	}
	if len(ids) == 0 {
		t.Fatal("helm template gave no objects")
	}
}

// The objects are those of `helm template --include-crds --skip-tests` with the same
// inputs, field for field: podinfo's default and production values, its hooks
// turned on, --no-hooks, --set, a namespace, a kube version and extra API versions.
func TestTemplateMatchesHelmCLI(t *testing.T) {
	cases := []struct {
		name      string
		chart     string
		rel       helm.ChartOptions
		kube      string
		apis      []string
		extraArgs []string
	}{
		{name: "default", rel: helm.ChartOptions{Release: "podinfo"}},
		{name: "prod", rel: helm.ChartOptions{Release: "web", Namespace: "shop", ValuesFiles: []string{podinfo + "/values-prod.yaml"}}},
		{name: "hooks", rel: helm.ChartOptions{Release: "hooked", Set: []string{"hooks.preInstall.job.enabled=true,hooks.postUpgrade.job.enabled=true", "replicaCount=3"}}},
		{name: "no-hooks", rel: helm.ChartOptions{Release: "hooked", NoHooks: true, Set: []string{"hooks.preInstall.job.enabled=true"}}},
		{name: "capabilities", rel: helm.ChartOptions{Release: "caps", SetString: []string{"podAnnotations.build=1234"},
			Set: []string{"ingress.enabled=true,serviceMonitor.enabled=true,certificate.create=true,httpRoute.enabled=true"}},
			kube: "v1.33.4-gke.100", apis: []string{"monitoring.coreos.com/v1,cert-manager.io/v1", "gateway.networking.k8s.io/v1"}},
		// a chart with crds/, a subchart behind a condition, a schema, hooks, a test,
		// NOTES.txt and templates that read .Capabilities
		{name: "infra-default", chart: infra, rel: helm.ChartOptions{Release: "infra", Namespace: "infra-system"}},
		{name: "infra-capabilities", chart: infra, rel: helm.ChartOptions{Release: "infra", Namespace: "infra-system", Set: []string{"metrics-proxy.enabled=true,replicaCount=2"}},
			kube: "1.30.2", apis: []string{"monitoring.coreos.com/v1"}},
		{name: "infra-no-hooks", chart: infra, rel: helm.ChartOptions{Release: "ctl", NoHooks: true, SetString: []string{"logLevel=debug"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := helm.New(helm.Options{KubeVersion: c.kube, APIVersions: c.apis})
			vals, err := helm.Values(c.rel.ValuesFiles, c.rel.Set, c.rel.SetString)
			if err != nil {
				t.Fatal(err)
			}
			chartPath := cmpOr(c.chart, podinfo)
			ch, err := helm.LoadChart(chartPath)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Template(context.Background(), ch, helm.Release{
				Name: c.rel.Release, Namespace: c.rel.Namespace, Values: vals, IncludeCRDs: true, NoHooks: c.rel.NoHooks,
			})
			if err != nil {
				t.Fatal(err)
			}
			args := []string{c.rel.Release, chartPath, "--include-crds", "--skip-tests", "--kube-version", cmpOr(c.kube, helm.DefaultKubeVersion)}
			if c.rel.Namespace != "" {
				args = append(args, "--namespace", c.rel.Namespace)
			}
			for _, f := range c.rel.ValuesFiles {
				args = append(args, "--values", f)
			}
			for _, s := range c.rel.Set {
				args = append(args, "--set", s)
			}
			for _, s := range c.rel.SetString {
				args = append(args, "--set-string", s)
			}
			for _, a := range c.apis {
				args = append(args, "--api-versions", a)
			}
			if c.rel.NoHooks {
				args = append(args, "--no-hooks")
			}
			want := helmTemplate(t, args...)
			sameObjects(t, got, want)
			hooks := 0
			for _, o := range got {
				if v, _ := o.Value(); v != nil && strings.Contains(fmt.Sprint(v["metadata"]), "helm.sh/hook:") {
					hooks++
				}
			}
			wantHooks := map[string]int{"hooks": 2, "infra-default": 1, "infra-capabilities": 1}[c.name]
			if hooks != wantHooks {
				t.Errorf("%d hook objects, want %d", hooks, wantHooks)
			}
			t.Logf("%d objects, %d hooks", len(got), hooks)
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
