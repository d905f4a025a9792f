package pullercli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/gitless-dev/gitless/internal/testenv/peers"
)

const examplesHelm = "../../examples/helm"

// TestHelmFleetSync is the Helm path end to end: the example's chart is pushed
// with `helm push` (the helm CLI v4) to the distribution registry; the example
// fleet layer (a HelmRelease, an OCIRepository and a values ConfigMap) is rendered
// and pushed with gitless push --render, signed, and synced by gitless-puller into
// the kube-apiserver: the CRD first, then the Widget that needs it. The chart
// rendered from oci:// directly (gitless push --render oci://...) then replaces it
// under the same source, pruning what only the first release had. Both artifacts
// record the chart, which gitless inspect shows.
func TestHelmFleetSync(t *testing.T) {
	f := newPullerFixture(t)

	// the chart, with helm package and helm push
	chartDigest := peers.HelmPush(t, filepath.Join(examplesHelm, "charts", "infra-controllers"), "oci://"+f.Reg.Host()+"/charts", "", "")

	// the fleet layer, pointed at the test registry and the test's namespace
	fleet := map[string]string{}
	entries, _ := os.ReadDir(filepath.Join(examplesHelm, "fleet", "infra-controllers"))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(examplesHelm, "fleet", "infra-controllers", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		fleet[e.Name()] = strings.NewReplacer("ghcr.io/acme", f.Reg.Host(), "infra-system", f.Target).Replace(string(b))
	}
	tree := writeTree(t, fleet)

	sync := func(url string) (created, pruned int) {
		t.Helper()
		if r := run(t, f.env, "sign", url, "--key", f.Key.Path, "--tlog-upload=false"); r.code != 0 {
			t.Fatalf("sign: %+v", r)
		}
		r := runPuller(t, t.Context(), f.env, append([]string{"sync", "--url", url, "--name", "infra", "--key", f.Key.PubPath, "--insecure-ignore-tlog",
			"--prune", "-o", "json"}, f.base...)...)
		if r.code != 0 {
			t.Fatalf("sync %s: %+v", url, r)
		}
		var out struct {
			Results []struct {
				Outcome         string
				Created, Pruned int
			}
		}
		if err := json.Unmarshal([]byte(r.out), &out); err != nil || len(out.Results) != 1 || out.Results[0].Outcome != "Applied" {
			t.Fatalf("sync %s: %v\n%s", url, err, r.out)
		}
		return out.Results[0].Created, out.Results[0].Pruned
	}
	inspectCharts := func(url string) {
		t.Helper()
		r := run(t, f.env, "inspect", url)
		if r.code != 0 || !strings.Contains(r.out, "Charts (1):") || !strings.Contains(r.out, "infra-controllers 0.3.0") || !strings.Contains(r.out, chartDigest) {
			t.Fatalf("inspect %s: %+v", url, r)
		}
	}

	fleetURL := "oci://" + f.Reg.Host() + "/fleet/infra-controllers:v1"
	if r := run(t, f.env, "push", fleetURL, "--render", tree, "--created", "2026-01-01T00:00:00Z"); r.code != 0 {
		t.Fatalf("push --render fleet: %+v", r)
	}
	inspectCharts(fleetURL)
	if created, _ := sync(fleetURL); created < 10 {
		t.Fatalf("%d objects created", created)
	}
	k := kubeEnv.Use(t)
	dyn := dynamic.NewForConfigOrDie(k.Config())
	get := func(gvr schema.GroupVersionResource, ns, name string) map[string]any {
		t.Helper()
		var ri dynamic.ResourceInterface = dyn.Resource(gvr)
		if ns != "" {
			ri = dyn.Resource(gvr).Namespace(ns)
		}
		o, err := ri.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s %s/%s: %v", gvr.Resource, ns, name, err)
		}
		return o.Object
	}
	widgets := schema.GroupVersionResource{Group: "infra.example.com", Version: "v1", Resource: "widgets"}
	deployments := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	get(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, "", "widgets.infra.example.com")
	if size := get(widgets, f.Target, "default")["spec"].(map[string]any)["size"]; size != "medium" {
		t.Errorf("Widget size %v, want medium (from the values ConfigMap)", size)
	}
	dep := get(deployments, f.Target, "controllers-infra-controllers")
	spec := dep["spec"].(map[string]any)
	if spec["replicas"] != int64(2) || !strings.Contains(toJSON(spec), `"priorityClassName":"system-cluster-critical"`) {
		t.Errorf("Deployment: replicas %v (want 2 from spec.values), post-renderer patch missing? %s", spec["replicas"], toJSON(spec))
	}
	get(schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, f.Target, "controllers-infra-controllers-preflight")
	get(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, f.Target, "infra-values")

	// the chart from the registry directly, as another release of the same source
	directURL := "oci://" + f.Reg.Host() + "/fleet/infra-controllers:v2"
	if r := run(t, f.env, "push", directURL, "--render", "oci://"+f.Reg.Host()+"/charts/infra-controllers", "--chart-version", "0.3.x",
		"--namespace", f.Target, "--release-name", "infra", "--set", "defaultWidget.size=large", "--created", "2026-01-02T00:00:00Z"); r.code != 0 {
		t.Fatalf("push --render oci://: %+v", r)
	}
	inspectCharts(directURL)
	if _, pruned := sync(directURL); pruned == 0 {
		t.Error("nothing pruned when the release changed its name")
	}
	if size := get(widgets, f.Target, "default")["spec"].(map[string]any)["size"]; size != "large" {
		t.Errorf("Widget size %v, want large", size)
	}
	get(deployments, f.Target, "infra-infra-controllers")
	if _, err := dyn.Resource(deployments).Namespace(f.Target).Get(context.Background(), "controllers-infra-controllers", metav1.GetOptions{}); err == nil {
		t.Error("the first release's Deployment was not pruned")
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
