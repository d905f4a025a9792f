// Package kube runs a real Kubernetes control plane, etcd and kube-apiserver, for tests of
// anything that talks to a cluster: server-side apply, dry-runs, conflicts, CRDs, pruning.
// There is no kubelet, scheduler or controller-manager: Pods never run, Namespaces never
// finish deleting, garbage collection does not happen. The apiserver's own controllers do
// run, so Services get ClusterIPs (from ServiceCIDR, a /16).
//
// It drives controller-runtime's envtest with binaries from Assets: $KUBEBUILDER_ASSETS, or
// the cache hack/build-kube.sh fills from the Go module proxy (make test runs it). Without
// them tests skip, or fail when GITLESS_REQUIRE_KUBE=1 (make test sets it).
//
// Start one control plane per test binary (about 3 to 10 seconds) with Main, and give each
// test its own namespace:
//
//	var env *kube.Env
//
//	func TestMain(m *testing.M) {
//		os.Exit(kube.Main(m, &env, kube.WithCRDPaths("testdata/crds")))
//	}
//
//	func TestApply(t *testing.T) {
//		cfg := env.Use(t).Config() // starts it on first use; skips without binaries
//		ns := env.Namespace(t, "apply")
//		dyn, err := dynamic.NewForConfig(cfg)
//		...
//		out, err := exec.Command("kubectl", "--kubeconfig", env.KubeconfigPath(),
//			"get", "configmaps", "-n", ns).CombinedOutput()
//	}
//
// NewT starts a control plane for a single test and stops it when the test ends; Start and
// Stop are the same without a testing.TB.
package kube
