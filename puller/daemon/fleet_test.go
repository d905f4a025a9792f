package daemon_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitless-dev/gitless/puller/daemon"
)

// kubelet plays the controller-manager and the kubelet for Deployments in ns (the test
// control plane runs neither): every Deployment rolls out and becomes available.
func (f *fixture) kubelet(ctx context.Context, ns string) {
	for ctx.Err() == nil {
		l, err := f.kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err == nil {
			for i := range l.Items {
				d := &l.Items[i]
				want := int32(1)
				if d.Spec.Replicas != nil {
					want = *d.Spec.Replicas
				}
				if d.Status.ObservedGeneration == d.Generation && d.Status.AvailableReplicas == want {
					continue
				}
				d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: want, UpdatedReplicas: want, ReadyReplicas: want, AvailableReplicas: want}
				_, _ = f.kube.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

const fleetDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME, namespace: NS}
spec:
  replicas: 1
  selector: {matchLabels: {app: NAME}}
  template:
    metadata: {labels: {app: NAME}}
    spec:
      containers:
      - name: c
        image: IMAGE
`

// A layered fleet in the seeds' shape, ported from Flux unchanged: the platform
// repository's controllers (a CRD and its controller, wait: true) and configs (a
// resource of that CRD) at semver tags, and apps with ${cluster_name} from a
// per-cluster ConfigMap. While infra-configs fails, apps do not run; once it is fixed
// (a new version), they do.
func TestLayeredFleet(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	go f.kubelet(ctx, f.target)
	group := f.target + ".example.com"
	crd := strings.ReplaceAll(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: issuers.GROUP}
spec:
  group: GROUP
  scope: Namespaced
  names: {kind: Issuer, plural: issuers, singular: issuer, listKind: IssuerList}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, x-kubernetes-preserve-unknown-fields: true}}}}
`, "GROUP", group)
	controller := strings.NewReplacer("NAME", "issuer-controller", "IMAGE", "ghcr.io/acme/issuer:v1").Replace(fleetDeployment)
	issuer := "apiVersion: " + group + "/v1\nkind: Issuer\nmetadata: {name: letsencrypt, namespace: NS}\nspec: {acme: true}\n"
	broken := "apiVersion: " + group + "/v1\nkind: Issuer\nmetadata: {name: letsencrypt, namespace: NS}\nspec: {acme: true}\nbogus: field\n"
	f.push("platform", "v1.0.0", map[string]string{
		"controllers/crd.yaml": crd, "controllers/controller.yaml": controller,
		"configs/issuer.yaml": broken,
	})
	web := strings.NewReplacer("NAME", "web", "IMAGE", "ghcr.io/acme/web:${version:=1.0}").Replace(fleetDeployment)
	f.push("apps", "latest", map[string]string{
		"kustomization.yaml": "resources: [config.yaml, web.yaml]\n",
		"config.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config, namespace: NS}\ndata:\n  k: ${cluster_name}-${region:=eu}\n",
		"web.yaml":           web,
	})
	if _, err := f.kube.CoreV1().ConfigMaps(f.ns).Create(f.ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cluster-vars"},
		Data: map[string]string{"cluster_name": "staging"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	platform := func(name, path, extra string) string {
		s := f.source(name, "platform", "PLACEHOLDER", "  path: "+path+"\n"+extra)
		s = strings.Replace(s, "ref: {tag: PLACEHOLDER}", `ref: {semver: ">=1.0.0"}`, 1)
		return strings.Replace(s, "interval: 1h", "interval: 1s", 1)
	}
	apps := strings.Replace(f.source("apps", "apps", "latest", "  dependsOn: [infra-configs]\n  postBuild:\n    substituteFrom: [{kind: ConfigMap, name: cluster-vars}]\n"), "interval: 1h", "interval: 1s", 1)
	f.writeConfig(f.configText("",
		platform("infra-controllers", "controllers", "  wait: true\n"),
		platform("infra-configs", "configs", "  dependsOn: [infra-controllers]\n"),
		apps))
	r := f.start(daemon.Options{})
	parent := func(name string) map[string]string {
		c, err := f.kube.CoreV1().ConfigMaps(f.ns).Get(f.ctx, "gitless-"+name, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return c.Annotations
	}
	waitUntil(t, 60*time.Second, "infra-configs to fail on the broken issuer", func() bool {
		a := parent("infra-configs")
		return a["gitless.dev/result"] == "Failed" && strings.Contains(a["gitless.dev/message"], "bogus")
	})
	if a := parent("infra-controllers"); a["gitless.dev/result"] != "Applied" {
		t.Fatalf("infra-controllers: %v", a)
	}
	time.Sleep(3 * time.Second) // several polls of every source
	if f.cmData("app-config") != "<absent>" || parent("apps") != nil {
		t.Fatal("apps ran while infra-configs failed")
	}
	if code, body := get("http://" + r.addr + "/readyz"); code != 503 || !strings.Contains(body, "1 of 3 sources synced") || !strings.Contains(body, "apps, infra-configs") {
		t.Fatalf("readyz %d %q", code, body)
	}

	// The fix: a new platform version; its configs apply, then the apps.
	f.push("platform", "v1.0.1", map[string]string{
		"controllers/crd.yaml": crd, "controllers/controller.yaml": controller,
		"configs/issuer.yaml": issuer,
	})
	t.Cleanup(func() {
		if t.Failed() {
			f.dumpParents(t)
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for v, _, _ := getField(f, "app-config"); v != "staging-eu"; v, _, _ = getField(f, "app-config") {
		if time.Now().After(deadline) {
			f.dumpParents(t)
			t.Fatal("apps did not run once infra-configs was fixed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	d, err := f.kube.AppsV1().Deployments(f.target).Get(f.ctx, "web", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "ghcr.io/acme/web:1.0" {
		t.Fatalf("%v %v", err, d)
	}
	if a := parent("infra-configs"); a["gitless.dev/result"] != "Applied" || a["gitless.dev/tag"] != "v1.0.1" {
		t.Fatalf("infra-configs: %v", a)
	}
	waitUntil(t, 10*time.Second, "ready", func() bool {
		code, body := get("http://" + r.addr + "/readyz")
		return code == 200 && strings.Contains(body, "3 sources synced")
	})
}

func getField(f *fixture, name string) (string, bool, error) {
	c, err := f.kube.CoreV1().ConfigMaps(f.target).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", false, err
	}
	v, ok := c.Data["k"]
	return v, ok, nil
}

func (f *fixture) dumpParents(t *testing.T) {
	l, _ := f.kube.CoreV1().ConfigMaps(f.ns).List(f.ctx, metav1.ListOptions{})
	for _, c := range l.Items {
		t.Logf("%s: %v", c.Name, c.Annotations)
	}
}
