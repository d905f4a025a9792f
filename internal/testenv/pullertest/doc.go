// Package pullertest is the fixture the tests of the puller share (puller, puller/apply,
// puller/daemon and the gitless-puller CLI): a real kube-apiserver with two fresh
// namespaces per test, a loopback distribution registry, a cosign key, signed artifacts
// pushed to that registry, and the PullerConfig that points at them.
//
// A test package starts one control plane for its binary with kube.Main and builds its
// own fixture type on top of this one, embedding it:
//
//	var env *kube.Env
//
//	func TestMain(m *testing.M) { os.Exit(kube.Main(m, &env)) }
//
//	func TestSync(t *testing.T) {
//		f := pullertest.New(t, env, registry.Options{})
//		ref := f.Push("app", "v1", f.InTarget(map[string]string{"a.yaml": pullertest.ConfigMap("a", "1")}), artifact.Metadata{Created: time.Now()})
//		f.Sign(ref)
//		p, err := puller.New(f.Config, puller.Options{Namespace: f.NS})
//		...
//		if f.CMData("a", "k") != "1" { ... }
//	}
//
// Tests of the applier alone, which need no registry, use NewCluster.
//
// The package imports none of the puller's packages, so that the puller's own internal
// tests could use it too; and no library package imports it (internal/depcheck).
package pullertest
