package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/cli"
	"github.com/gitless-dev/gitless/internal/testenv/peers"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/render"
)

const infraChart = examples + "/helm/charts/infra-controllers"

// helmPush pushes the example chart with `helm push` and returns its digest.
func helmPush(t *testing.T, reg *registry.Registry) string {
	t.Helper()
	return peers.HelmPush(t, infraChart, "oci://"+reg.Host()+"/charts", reg.Username, reg.Password)
}

// gitless render CHART --kind helm with helm template's flags, and the charts in
// the result.
func TestRenderChart(t *testing.T) {
	env := map[string]string{"HOME": t.TempDir()}
	values := filepath.Join(t.TempDir(), "values.yaml")
	os.WriteFile(values, []byte("replicaCount: 3\nlogLevel: debug\n"), 0o644)
	out := filepath.Join(t.TempDir(), "out")
	r := run(t, env, "render", infraChart, "-o", out, "--kind", "helm", "--namespace", "infra-system", "--release-name", "infra",
		"--values", values, "--set", "metrics-proxy.enabled=true", "--set-string", "defaultWidget.size=large",
		"--kube-version", "1.34.1", "--api-versions", "monitoring.coreos.com/v1", "--json")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	var res render.Result
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Charts) != 1 || res.Charts[0].Name != "infra-controllers" || res.Charts[0].Version != "0.3.0" || res.Units[0].Kind != render.KindHelm {
		t.Fatalf("%+v", res)
	}
	for file, want := range map[string]string{
		"apiextensions.k8s.io-v1.CustomResourceDefinition-widgets.infra.example.com.yaml": "kind: Widget",
		"monitoring.coreos.com-v1.ServiceMonitor-infra-infra-controllers.yaml":            "namespace: infra-system",
		"v1.Service-infra-metrics-proxy.yaml":                                             "port: 8443",
		"apps-v1.Deployment-infra-infra-controllers.yaml":                                 "replicas: 3",
		"infra.example.com-v1.Widget-default.yaml":                                        "size: large",
		"v1.ConfigMap-infra-infra-controllers-config.yaml":                                "kube-version: v1.34.1",
		"batch-v1.Job-infra-infra-controllers-preflight.yaml":                             "helm.sh/hook: pre-install,pre-upgrade",
	} {
		b, err := os.ReadFile(filepath.Join(out, file))
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v, want %q in:\n%s", file, err, want, b)
		}
	}
	// detected without --kind; --no-hooks; tests are never rendered
	r = run(t, env, "render", infraChart, "-o", out, "--no-hooks")
	if r.code != 0 || !strings.Contains(r.err, "chart infra-controllers 0.3.0 sha256:") {
		t.Fatalf("%+v", r)
	}
	if _, err := os.Stat(filepath.Join(out, "batch-v1.Job-infra-controllers-preflight.yaml")); err == nil {
		t.Error("--no-hooks wrote the hook")
	}
	if _, err := os.Stat(filepath.Join(out, "v1.Pod-infra-controllers-test-metrics.yaml")); err == nil {
		t.Error("the test was rendered")
	}
}

// push --render of a chart in a registry (token auth, --creds) records the chart on
// the artifact; inspect shows it, as text and JSON.
func TestPushRenderChartProvenance(t *testing.T) {
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthToken})
	digest := helmPush(t, reg)
	env := map[string]string{"HOME": t.TempDir()}
	creds := reg.Username + ":" + reg.Password
	url := "oci://" + reg.Host() + "/fleet/infra:v1"
	r := run(t, env, "push", url, "--render", "oci://"+reg.Host()+"/charts/infra-controllers", "--chart-version", "0.3.x",
		"--namespace", "infra-system", "--creds", creds, "--created", "2026-01-01T00:00:00Z")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	r = run(t, env, "inspect", url, "--creds", creds)
	if r.code != 0 || !strings.Contains(r.out, "Charts (1):") || !strings.Contains(r.out, "infra-controllers 0.3.0  "+digest) ||
		!strings.Contains(r.out, "oci://"+reg.Host()+"/charts/infra-controllers:0.3.0@"+digest) {
		t.Fatalf("inspect: %+v", r)
	}
	r = run(t, env, "inspect", url, "--creds", creds, "-o", "json")
	var in struct {
		Charts   []render.Chart
		Manifest struct{ Annotations map[string]string }
	}
	if err := json.Unmarshal([]byte(r.out), &in); err != nil || len(in.Charts) != 1 || in.Charts[0].Digest != digest ||
		!strings.Contains(in.Manifest.Annotations["dev.gitless.render.charts"], digest) {
		t.Fatalf("inspect -o json: %v %+v", err, in)
	}
	// without credentials the registry refuses: exit 4, naming the registry
	r = run(t, map[string]string{"HOME": t.TempDir()}, "render", "oci://"+reg.Host()+"/charts/infra-controllers", "-o", filepath.Join(t.TempDir(), "x"))
	if r.code != cli.ExitDenied || !strings.Contains(r.err, "registry "+reg.Host()+" requires authentication") {
		t.Fatalf("anonymous: %+v", r)
	}
	// the chart was cached by digest under HOME: render again with the registry's
	// chart pinned by digest, without credentials
	out := filepath.Join(t.TempDir(), "out")
	if r := run(t, env, "render", "oci://"+reg.Host()+"/charts/infra-controllers@"+digest, "-o", out); r.code != 0 {
		t.Fatalf("render from the cache: %+v", r)
	}
}

// Bad input is a clear error, and nothing is written.
func TestRenderChartBadInput(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	helmPush(t, reg)
	out := filepath.Join(t.TempDir(), "out")
	env := map[string]string{"HOME": t.TempDir()}
	oci := "oci://" + reg.Host() + "/charts/infra-controllers"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"missing values file", []string{"render", infraChart, "-o", out, "--values", "nope.yaml"}, cli.ExitError, []string{"values file nope.yaml does not exist"}},
		{"bad values file", []string{"render", infraChart, "-o", out, "--values", infraChart + "/templates/deployment.yaml"}, cli.ExitError, []string{"values file", "deployment.yaml"}},
		{"template fails", []string{"render", infraChart, "-o", out, "--set", "image=none"}, cli.ExitError, []string{"infra-controllers/templates/hooks/preflight.yaml:21:", "<.Values.image.repository>"}},
		{"bad YAML out of a template", []string{"render", infraChart, "-o", out, "--api-versions", "monitoring.coreos.com/v1", "--set", "serviceMonitor.interval=a: b"},
			cli.ExitError, []string{"YAML parse error on infra-controllers/templates/servicemonitor.yaml", "line"}},
		{"schema", []string{"render", infraChart, "-o", out, "--set", "logLevel=loud"}, cli.ExitError, []string{"/logLevel", "must be one of"}},
		{"unknown chart version", []string{"render", oci, "--chart-version", "9.9.9", "-o", out}, cli.ExitNotFound, []string{"infra-controllers:9.9.9", "not found"}},
		{"no matching version", []string{"render", oci, "--chart-version", "^1.0", "-o", out}, cli.ExitNotFound, []string{`no version`, `"^1.0"`, "tags: 0.3.0"}},
		{"local chart version", []string{"render", infraChart, "--chart-version", "1.0.0", "-o", out}, cli.ExitNotFound, []string{"version 0.3.0, not 1.0.0"}},
		{"unreachable registry", []string{"render", "oci://127.0.0.1:1/charts/x", "--chart-version", "1.0.0", "-o", out}, cli.ExitError, []string{"cannot reach registry 127.0.0.1:1"}},
		{"no chart there", []string{"render", "oci://" + reg.Host() + "/charts/nope", "--chart-version", "1.0.0", "-o", out}, cli.ExitNotFound, []string{"charts/nope:1.0.0", "not found"}},
		{"bad kube version", []string{"render", infraChart, "-o", out, "--kube-version", "one"}, cli.ExitUsage, []string{"--kube-version", `"one"`}},
		{"kube version too old", []string{"render", infraChart, "-o", out, "--kube-version", "1.27.0"}, cli.ExitError, []string{"chart requires kubeVersion: >=1.28.0-0"}},
		{"creds without a registry", []string{"render", infraChart, "-o", out, "--creds", "a:b"}, cli.ExitUsage, []string{"--creds is for the registry of an oci:// chart source"}},
		{"chart version of a YAML tree", []string{"render", examples + "/podinfo", "-o", out, "--chart-version", "1.0.0"}, cli.ExitUsage, []string{"--chart-version applies to Helm chart sources", "no source is one: " + examples + "/podinfo"}},
		{"values of a kustomize source", []string{"render", examples + "/podinfo", "-o", out, "--kind", "kustomize", "--set", "a=b"}, cli.ExitUsage, []string{"--set applies to Helm chart sources"}},
		{"push --render of no chart", []string{"push", "oci://" + reg.Host() + "/x:1", "--render", examples + "/podinfo", "--release-name", "r"}, cli.ExitUsage, []string{"--release-name applies to Helm chart sources"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, env, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tc.code, r.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.err, w) {
					t.Errorf("stderr %q does not say %q", r.err, w)
				}
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed render wrote %s", out)
	}
}
