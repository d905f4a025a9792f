package daemon_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitless-dev/gitless/puller/config"
	"github.com/gitless-dev/gitless/puller/daemon"
	"github.com/gitless-dev/gitless/puller/install"
	"github.com/gitless-dev/gitless/verify"
)

// kubelet plays the controller-manager and the kubelet for Deployments in ns (the test
// control plane runs neither): every Deployment rolls out and becomes available.
func (f *fixture) kubelet(ctx context.Context, ns string) {
	for ctx.Err() == nil {
		l, err := f.Kube.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
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
				_, _ = f.Kube.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{})
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// fleetFiles reads examples/fleet, the layered fleet example, as the artifact its CI
// pushes would hold it (the CI renders each clusters/<cluster>/<layer> first; the
// puller's kustomize build reads the same directories as they are).
func fleetFiles(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..", "examples", "fleet")
	files := map[string]string{}
	for _, dir := range []string{"apps", "clusters", "infrastructure"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			rel, _ := filepath.Rel(root, path)
			files[filepath.ToSlash(rel)] = string(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// fleetConfig is examples/fleet's staging puller configuration, pointed at the test
// registry and key, polling every second, with wait: true on infra-controllers.
func (f *fixture) fleetConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "fleet", "puller", "staging.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(b, config.Namespaces{Default: f.NS})
	if err != nil {
		t.Fatal(err)
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		s.URL = "oci://" + f.Reg.Host() + "/acme/fleet"
		s.Verify = &verify.Policy{Keys: []string{f.Key.PubPEM}, InsecureIgnoreTlog: true}
		s.PullSecret = ""
		s.Interval.Duration = time.Second
		s.Path = "clusters/" + s.Path
		s.Wait = s.Name == "infra-controllers"
	}
	out, err := install.ConfigYAML(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// A layered fleet in the seeds' shape, ported from Flux unchanged: examples/fleet's
// staging cluster, infra-controllers (a CRD and its controller, wait: true) →
// infra-configs (a Gateway of that CRD) → apps (with ${cluster_name} substituted by the
// puller). While infra-configs fails, apps do not run; once it is fixed (the tag moves
// to a fixed build), they do.
func TestLayeredFleet(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(f.Ctx)
	defer cancel()
	for _, ns := range []string{"fleet-system", "shop"} {
		go f.kubelet(ctx, ns)
	}
	good := fleetFiles(t)
	broken := map[string]string{}
	for k, v := range good {
		broken[k] = v
	}
	const gw = "infrastructure/configs/gateway.yaml"
	if !strings.Contains(good[gw], "kind: Gateway") {
		t.Fatalf("%s: %q", gw, good[gw])
	}
	broken[gw] = good[gw] + "bogus: field\n"
	f.pushFiles("acme/fleet", "latest", broken)
	f.writeConfig(f.fleetConfig(t))
	r := f.start(daemon.Options{})
	parent := func(name string) map[string]string {
		c, err := f.Kube.CoreV1().ConfigMaps(f.NS).Get(f.Ctx, "gitless-"+name, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		return c.Annotations
	}
	waitUntil(t, 90*time.Second, "infra-configs to fail on the broken Gateway", func() bool {
		a := parent("infra-configs")
		return a["gitless.dev/result"] == "Failed" && strings.Contains(a["gitless.dev/message"], "bogus")
	})
	if a := parent("infra-controllers"); a["gitless.dev/result"] != "Applied" {
		t.Fatalf("infra-controllers: %v", a)
	}
	if d, err := f.Kube.AppsV1().Deployments("fleet-system").Get(f.Ctx, "gateway-controller", metav1.GetOptions{}); err != nil || d.Status.AvailableReplicas != 1 {
		t.Fatalf("the controller was not waited for: %v %+v", err, d)
	}
	time.Sleep(3 * time.Second) // several polls of every source
	if _, err := f.Kube.AppsV1().Deployments("shop").Get(f.Ctx, "shop", metav1.GetOptions{}); err == nil || parent("apps") != nil {
		t.Fatal("apps ran while infra-configs failed")
	}
	if code, body := get("http://" + r.addr + "/readyz"); code != 503 || !strings.Contains(body, "1 of 3 sources synced") || !strings.Contains(body, "apps, infra-configs") {
		t.Fatalf("readyz %d %q", code, body)
	}

	// The fix: latest moves to a good build; infra-configs applies, then the apps.
	f.pushFiles("acme/fleet", "latest", good)
	deadline := time.Now().Add(90 * time.Second)
	for {
		d, err := f.Kube.AppsV1().Deployments("shop").Get(f.Ctx, "shop", metav1.GetOptions{})
		if err == nil {
			env := d.Spec.Template.Spec.Containers[0].Env
			if len(env) != 2 || env[1].Name != "CLUSTER" || env[1].Value != "staging" || env[0].Value != "shop (staging)" || *d.Spec.Replicas != 1 {
				t.Fatalf("the shop: %+v", env)
			}
			break
		}
		if time.Now().After(deadline) {
			f.dumpParents(t)
			t.Fatal("apps did not run once infra-configs was fixed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if a := parent("infra-configs"); a["gitless.dev/result"] != "Applied" {
		t.Fatalf("infra-configs: %v", a)
	}
	waitUntil(t, 30*time.Second, "ready", func() bool {
		code, body := get("http://" + r.addr + "/readyz")
		return code == 200 && strings.Contains(body, "3 sources synced")
	})
}

func (f *fixture) dumpParents(t *testing.T) {
	l, _ := f.Kube.CoreV1().ConfigMaps(f.NS).List(f.Ctx, metav1.ListOptions{})
	for _, c := range l.Items {
		t.Logf("%s: %v", c.Name, c.Annotations)
	}
}
