package kube_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gitless-dev/gitless/internal/testenv/kube"
)

var env *kube.Env

func TestMain(m *testing.M) {
	os.Exit(kube.Main(m, &env, kube.WithCRDPaths(filepath.Join("testdata", "crds"))))
}

const manager = "gitless-test"

var (
	namespaces   = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	configMaps   = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	services     = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	serviceCIDRs = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "servicecidrs"}
	crds         = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	widgets      = schema.GroupVersionResource{Group: "ssa.testenv.gitless.dev", Version: "v1", Resource: "widgets"}
	gadgets      = schema.GroupVersionResource{Group: "testenv.gitless.dev", Version: "v1", Resource: "gadgets"}
)

type obj = map[string]any

// apply server-side applies o as manager, with extra options such as DryRun.
func apply(ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, o obj, mutate ...func(*metav1.PatchOptions)) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{Object: o}
	body, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	opts := metav1.PatchOptions{FieldManager: manager}
	for _, m := range mutate {
		m(&opts)
	}
	var ri dynamic.ResourceInterface = dyn.Resource(gvr)
	if ns := u.GetNamespace(); ns != "" {
		ri = dyn.Resource(gvr).Namespace(ns)
	}
	return ri.Patch(ctx, u.GetName(), types.ApplyPatchType, body, opts)
}

func mustApply(t *testing.T, ctx context.Context, dyn dynamic.Interface, gvr schema.GroupVersionResource, o obj) *unstructured.Unstructured {
	t.Helper()
	got, err := apply(ctx, dyn, gvr, o)
	if err != nil {
		t.Fatalf("applying %s: %v", gvr.Resource, err)
	}
	return got
}

// ownedByUs checks that the object read back carries an Apply entry of our field manager.
func ownedByUs(t *testing.T, u *unstructured.Unstructured) {
	t.Helper()
	if !slices.ContainsFunc(u.GetManagedFields(), func(f metav1.ManagedFieldsEntry) bool {
		return f.Manager == manager && f.Operation == metav1.ManagedFieldsOperationApply
	}) {
		t.Errorf("%s %s: no Apply entry for %q in managedFields %+v", u.GetKind(), u.GetName(), manager, u.GetManagedFields())
	}
}

// TestServerSideApply proves the harness gives a real apiserver: server-side apply of
// core objects, a CRD and its custom resource, Service IP allocation from the /16, dry-run
// and field-manager conflicts.
func TestServerSideApply(t *testing.T) {
	cfg := env.Use(t).Config()
	t.Logf("control plane startup: %s", env.StartupTime())
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}

	ns := "ssa-" + strings.ToLower(rand.Text()[:10])
	// With no field but its name the apply would own nothing, and leave no managedFields entry.
	mustApply(t, ctx, dyn, namespaces, obj{"apiVersion": "v1", "kind": "Namespace",
		"metadata": obj{"name": ns, "labels": obj{"app.kubernetes.io/managed-by": manager}}})

	cmObj := func(data obj) obj {
		return obj{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": obj{"name": "cfg", "namespace": ns}, "data": data}
	}
	mustApply(t, ctx, dyn, configMaps, cmObj(obj{"a": "1", "b": "2"}))

	svc := mustApply(t, ctx, dyn, services, obj{"apiVersion": "v1", "kind": "Service",
		"metadata": obj{"name": "web", "namespace": ns},
		"spec": obj{"selector": obj{"app": "web"},
			"ports": []any{obj{"name": "http", "port": int64(80), "targetPort": int64(8080)}}}})
	ipStr, _, _ := unstructured.NestedString(svc.Object, "spec", "clusterIP")
	ip, err := netip.ParseAddr(ipStr)
	if err != nil || !netip.MustParsePrefix(kube.ServiceCIDR).Contains(ip) {
		t.Errorf("Service clusterIP %q not allocated from %s (%v)", ipStr, kube.ServiceCIDR, err)
	}
	cidr, err := dyn.Resource(serviceCIDRs).Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		t.Errorf("reading the default ServiceCIDR: %v", err)
	} else if got, _, _ := unstructured.NestedStringSlice(cidr.Object, "spec", "cidrs"); !slices.Equal(got, []string{kube.ServiceCIDR}) {
		t.Errorf("default ServiceCIDR is %v, want [%s]", got, kube.ServiceCIDR)
	}

	// A CRD applied like any object, then a custom resource once it is Established.
	mustApply(t, ctx, dyn, crds, obj{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": obj{"name": "widgets.ssa.testenv.gitless.dev"},
		"spec": obj{"group": "ssa.testenv.gitless.dev", "scope": "Namespaced",
			"names": obj{"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
			"versions": []any{obj{"name": "v1", "served": true, "storage": true,
				"schema": obj{"openAPIV3Schema": obj{"type": "object", "properties": obj{
					"spec": obj{"type": "object", "properties": obj{
						"size": obj{"type": "integer"}, "color": obj{"type": "string"}}}}}}}}}})
	crdWait := time.Now()
	if err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		crd, err := dyn.Resource(crds).Get(ctx, "widgets.ssa.testenv.gitless.dev", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return established(crd), nil
	}); err != nil {
		t.Fatalf("waiting for the Widget CRD to be Established: %v", err)
	}
	t.Logf("CRD established after %s", time.Since(crdWait).Round(time.Millisecond))
	mustApply(t, ctx, dyn, widgets, obj{"apiVersion": "ssa.testenv.gitless.dev/v1", "kind": "Widget",
		"metadata": obj{"name": "w1", "namespace": ns}, "spec": obj{"size": int64(3), "color": "red"}})

	// Read everything back.
	for _, r := range []struct {
		gvr       schema.GroupVersionResource
		ns, name  string
		field     []string
		wantValue any
	}{
		{namespaces, "", ns, []string{"metadata", "name"}, ns},
		{configMaps, ns, "cfg", []string{"data", "b"}, "2"},
		{services, ns, "web", []string{"spec", "clusterIP"}, ipStr},
		{crds, "", "widgets.ssa.testenv.gitless.dev", []string{"spec", "group"}, "ssa.testenv.gitless.dev"},
		{widgets, ns, "w1", []string{"spec", "size"}, int64(3)},
	} {
		u, err := dyn.Resource(r.gvr).Namespace(r.ns).Get(ctx, r.name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("reading back %s %s: %v", r.gvr.Resource, r.name, err)
			continue
		}
		if got, _, _ := unstructured.NestedFieldNoCopy(u.Object, r.field...); got != r.wantValue {
			t.Errorf("%s %s: %s = %v, want %v", r.gvr.Resource, r.name, strings.Join(r.field, "."), got, r.wantValue)
		}
		ownedByUs(t, u)
	}

	// Server-side dry-run: the answer is computed, nothing is persisted.
	dryRun := func(o *metav1.PatchOptions) { o.DryRun = []string{metav1.DryRunAll} }
	dry := cmObj(obj{"a": "1"})
	dry["metadata"].(obj)["name"] = "dry"
	if got, err := apply(ctx, dyn, configMaps, dry, dryRun); err != nil {
		t.Errorf("dry-run apply of a new ConfigMap: %v", err)
	} else if v, _, _ := unstructured.NestedString(got.Object, "data", "a"); v != "1" {
		t.Errorf("dry-run apply answered data.a = %q, want 1", v)
	}
	if _, err := dyn.Resource(configMaps).Namespace(ns).Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("dry-run created ConfigMap dry: Get returned %v, want NotFound", err)
	}
	if _, err := apply(ctx, dyn, configMaps, cmObj(obj{"a": "changed"}), dryRun); err != nil {
		t.Errorf("dry-run apply to an existing ConfigMap: %v", err)
	}
	if cm, err := dyn.Resource(configMaps).Namespace(ns).Get(ctx, "cfg", metav1.GetOptions{}); err != nil {
		t.Error(err)
	} else if data, _, _ := unstructured.NestedStringMap(cm.Object, "data"); data["a"] != "1" || data["b"] != "2" {
		t.Errorf("dry-run changed ConfigMap cfg: data = %v", data)
	}

	// A second field manager changing a field we own is a conflict, unless forced.
	intruder := func(force bool) func(*metav1.PatchOptions) {
		return func(o *metav1.PatchOptions) { o.FieldManager, o.Force = "intruder", &force }
	}
	_, err = apply(ctx, dyn, configMaps, cmObj(obj{"a": "theirs"}), intruder(false))
	if !apierrors.IsConflict(err) {
		t.Errorf("apply by a second manager: got %v, want a conflict", err)
	} else if !strings.Contains(err.Error(), manager) {
		t.Errorf("conflict does not name the owning manager %q: %v", manager, err)
	}
	if _, err := apply(ctx, dyn, configMaps, cmObj(obj{"a": "theirs"}), intruder(true)); err != nil {
		t.Errorf("forced apply by a second manager: %v", err)
	}
	t.Logf("checks took %s after the control plane was up", time.Since(began).Round(time.Millisecond))
}

func established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(obj); ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// TestCRDPaths checks that WithCRDPaths installed the CRD of testdata/crds before any test.
func TestCRDPaths(t *testing.T) {
	dyn, err := dynamic.NewForConfig(env.Use(t).Config())
	if err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t, "crdpaths")
	ctx := t.Context()
	if _, err := apply(ctx, dyn, gadgets, obj{"apiVersion": "testenv.gitless.dev/v1", "kind": "Gadget",
		"metadata": obj{"name": "g1", "namespace": ns}, "spec": obj{"size": int64(1)}}); err != nil {
		t.Fatalf("applying a Gadget from the CRD installed by WithCRDPaths: %v", err)
	}
}

// TestNamespace checks that Namespace gives distinct, existing namespaces with the prefix.
func TestNamespace(t *testing.T) {
	a, b := env.Namespace(t, "fresh"), env.Namespace(t, "fresh-")
	if a == b || !strings.HasPrefix(a, "fresh-") || !strings.HasPrefix(b, "fresh-") || strings.HasPrefix(b, "fresh--") {
		t.Fatalf("namespaces %q and %q: want two distinct fresh-<suffix> names", a, b)
	}
	dyn, err := dynamic.NewForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(namespaces).Get(t.Context(), a, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestKubeconfig checks that KubeconfigPath works for client-go and, when installed, kubectl.
func TestKubeconfig(t *testing.T) {
	path := env.Use(t).KubeconfigPath()
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(namespaces).Get(t.Context(), "default", metav1.GetOptions{}); err != nil {
		t.Fatalf("client from the kubeconfig file: %v", err)
	}
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("no kubectl on PATH: checked with client-go only")
		return
	}
	ns := env.Namespace(t, "kubectl")
	out, err := exec.CommandContext(t.Context(), kubectl, "--kubeconfig", path, "auth", "can-i", "create", "configmaps", "-n", ns).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "yes" {
		t.Fatalf("kubectl auth can-i: %v: %s", err, out)
	}
}

// TestAddUser checks that a user outside system:masters goes through RBAC.
func TestAddUser(t *testing.T) {
	cfg, err := env.Use(t).AddUser("nobody", "gitless:nobody")
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dyn.Resource(namespaces).List(t.Context(), metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("listing namespaces as a user without RBAC rights: got %v, want Forbidden", err)
	}
}

// TestAssets covers where Assets looks; it needs no control plane.
func TestAssets(t *testing.T) {
	fake := func(t *testing.T, names ...string) string {
		dir := t.TempDir()
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	cacheBin := func(root string) string { return filepath.Join(root, "kube", kube.AssetsVersion, "bin") }
	t.Run("KUBEBUILDER_ASSETS", func(t *testing.T) {
		dir := fake(t, "etcd", "kube-apiserver")
		t.Setenv(kube.EnvAssets, dir)
		if got, err := kube.Assets(); err != nil || got != dir {
			t.Fatalf("Assets() = %q, %v; want %q", got, err, dir)
		}
	})
	t.Run("KUBEBUILDER_ASSETS without kube-apiserver", func(t *testing.T) {
		t.Setenv(kube.EnvAssets, fake(t, "etcd"))
		if _, err := kube.Assets(); !errors.Is(err, kube.ErrNoAssets) || !strings.Contains(err.Error(), "kube-apiserver") {
			t.Fatalf("Assets() error = %v; want ErrNoAssets naming kube-apiserver", err)
		}
	})
	t.Run("GITLESS_CACHE_DIR", func(t *testing.T) {
		root := t.TempDir()
		if err := os.MkdirAll(cacheBin(root), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"etcd", "kube-apiserver"} {
			if err := os.WriteFile(filepath.Join(cacheBin(root), n), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		t.Setenv(kube.EnvAssets, "")
		t.Setenv(kube.EnvCacheDir, root)
		t.Setenv("XDG_CACHE_HOME", t.TempDir())
		if got, err := kube.Assets(); err != nil || got != cacheBin(root) {
			t.Fatalf("Assets() = %q, %v; want %q", got, err, cacheBin(root))
		}
	})
	t.Run("XDG_CACHE_HOME, nothing built", func(t *testing.T) {
		xdg := t.TempDir()
		t.Setenv(kube.EnvAssets, "")
		t.Setenv(kube.EnvCacheDir, "")
		t.Setenv("XDG_CACHE_HOME", xdg)
		_, err := kube.Assets()
		if !errors.Is(err, kube.ErrNoAssets) || !strings.Contains(err.Error(), cacheBin(filepath.Join(xdg, "gitless"))) ||
			!strings.Contains(err.Error(), "hack/build-kube.sh") {
			t.Fatalf("Assets() error = %v; want ErrNoAssets naming the cache path and hack/build-kube.sh", err)
		}
	})
	t.Run("HOME", func(t *testing.T) {
		home := t.TempDir()
		t.Setenv(kube.EnvAssets, "")
		t.Setenv(kube.EnvCacheDir, "")
		t.Setenv("XDG_CACHE_HOME", "")
		t.Setenv("HOME", home)
		if _, err := kube.Assets(); !strings.Contains(err.Error(), cacheBin(filepath.Join(home, ".cache", "gitless"))) {
			t.Fatalf("Assets() error = %v; want it to name the cache under HOME", err)
		}
	})
}

// TestAssetsVersionMatchesScript keeps AssetsVersion equal to hack/build-kube.sh's defaults.
func TestAssetsVersionMatchesScript(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "..", "hack", "build-kube.sh"))
	if err != nil {
		t.Fatal(err)
	}
	def := func(name string) string {
		m := regexp.MustCompile(`(?m)^` + name + `=\$\{` + name + `:-([^}]+)\}`).FindSubmatch(script)
		if m == nil {
			t.Fatalf("no %s default in hack/build-kube.sh", name)
		}
		return string(m[1])
	}
	if want := def("KUBE_VERSION") + "-etcd" + def("ETCD_VERSION"); kube.AssetsVersion != want {
		t.Fatalf("AssetsVersion = %q, hack/build-kube.sh builds %q", kube.AssetsVersion, want)
	}
}

// TestNewT checks the one-off form: a second, independent control plane next to the shared
// one, stopped when the test ends.
func TestNewT(t *testing.T) {
	env.Use(t) // the same skip or failure as the other tests when the binaries are missing
	own := kube.NewT(t)
	t.Logf("second control plane up in %s", own.StartupTime().Round(time.Millisecond))
	if own.Config().Host == env.Config().Host {
		t.Fatalf("NewT returned the shared control plane at %s", own.Config().Host)
	}
	ns := own.Namespace(t, "own")
	dyn, err := dynamic.NewForConfig(env.Config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dyn.Resource(namespaces).Get(t.Context(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace %s of the second control plane seen by the shared one: %v", ns, err)
	}
}

// TestStartFailure checks that a control plane that cannot start says why: envtest drops
// the processes' output, the harness keeps its end for the error.
func TestStartFailure(t *testing.T) {
	env.Use(t) // the same skip or failure as the other tests when the binaries are missing
	_, err := kube.Start(t.Context(), kube.WithAPIServerFlag("service-cluster-ip-range", "not-a-cidr"))
	if err == nil || !strings.Contains(err.Error(), "not a valid cidr") {
		t.Fatalf("Start with a bad flag value: got %v, want the apiserver's own complaint", err)
	}
}

// TestBadOption checks that options are validated before anything starts.
func TestBadOption(t *testing.T) {
	_, err := kube.Start(t.Context(), kube.WithAPIServerFlag("--service-cluster-ip-range", "10.0.0.0/16"))
	if err == nil || errors.Is(err, kube.ErrNoAssets) {
		t.Fatalf("Start with a dashed flag name: got %v, want an option error", err)
	}
}
