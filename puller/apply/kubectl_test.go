package apply_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/peers"
	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/puller/apply"
)

// kubectl finds a kubectl v1.37 binary: $GITLESS_KUBECTL, the one hack/build-peers.sh
// builds (make test builds it), or PATH. Without one the test skips, or fails under
// GITLESS_REQUIRE_PEERS=1 or GITLESS_REQUIRE_KUBE=1.
func kubectl(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("GITLESS_KUBECTL"), filepath.Join(peers.Dir(), "kubectl")}
	if p, err := exec.LookPath("kubectl"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		out, err := exec.Command(c, "version", "--client").CombinedOutput()
		if err == nil && strings.Contains(string(out), "v1.37.") {
			return c
		}
	}
	if peers.Required() || os.Getenv(kube.EnvRequire) == "1" {
		t.Fatal("no kubectl v1.37.x: run hack/build-peers.sh kubectl, or set GITLESS_KUBECTL")
	}
	t.Skip("no kubectl v1.37.x (hack/build-peers.sh kubectl builds one)")
	return ""
}

func runKubectl(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--kubeconfig", env.KubeconfigPath()}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECTL_APPLYSET=true")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (f *fixture) writeManifests(docs string) string {
	f.t.Helper()
	p := filepath.Join(f.t.TempDir(), "m.yaml")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(docs, "NS", f.Target)), 0o644); err != nil {
		f.t.Fatal(err)
	}
	return p
}

func TestApplySetIDIsKubectls(t *testing.T) {
	bin := kubectl(t)
	f := newFixture(t)
	out, err := runKubectl(t, bin, "apply", "--server-side", "--prune", "--applyset=configmap/kset", "-n", f.Target, "-f", f.writeManifests(v1))
	if err != nil {
		t.Fatalf("kubectl: %v\n%s", err, out)
	}
	p := f.mustGet(pullertest.ConfigMaps, f.Target, "kset")
	want := apply.Parent{Kind: apply.ParentConfigMap, Namespace: f.Target, Name: "kset"}.ID()
	if got := p.GetLabels()[apply.LabelID]; got != want {
		t.Fatalf("kubectl's ID %q, ours %q", got, want)
	}
	// And a set kubectl made is another tool's: the puller refuses to touch it.
	a := f.newApplier(apply.DefaultOptions())
	if _, err := a.ReadParent(f.Ctx, apply.Parent{Kind: apply.ParentConfigMap, Namespace: f.Target, Name: "kset"}); err == nil || !strings.Contains(err.Error(), "kubectl/") {
		t.Fatalf("err = %v", err)
	}
}

func TestKubectlSeesOurApplySet(t *testing.T) {
	bin := kubectl(t)
	f := newFixture(t)
	// kubectl insists that -n names the parent's namespace and the objects' one.
	parent := apply.Parent{Kind: apply.ParentConfigMap, Namespace: f.Target, Name: "gitless-app"}

	// With the puller's own tooling, kubectl refuses to change the set: tools must not
	// mutate each other's sets.
	f.mustSync(f.applier, parent, f.objects(v1), apply.SyncOptions{Prune: true})
	out, err := runKubectl(t, bin, "apply", "--server-side", "--prune", "--applyset=configmap/gitless-app", "-n", f.Target, "-f", f.writeManifests(v2))
	if err == nil || !strings.Contains(out, `managed by tooling "gitless-puller" instead of "kubectl"`) {
		t.Fatalf("kubectl: %v\n%s", err, out)
	}
	out, err = runKubectl(t, bin, "get", "configmaps,deployments,services", "-n", f.Target, "-l", apply.LabelPartOf+"="+parent.ID(), "-o", "name")
	if err != nil || strings.Join(strings.Fields(out), " ") != "configmap/a configmap/b deployment.apps/web service/web" {
		t.Fatalf("kubectl get by part-of: %v\n%s", err, out)
	}

	// Had the set been kubectl's, kubectl would read everything we write: the ID label,
	// the group-kinds, the members. Write it with kubectl's tooling and let kubectl prune.
	opts := apply.DefaultOptions()
	opts.Tooling = "kubectl/v1.37.2"
	asKubectl := f.newApplier(opts)
	kparent := apply.Parent{Kind: apply.ParentConfigMap, Namespace: f.Target, Name: "shared-with-kubectl"}
	f.mustSync(asKubectl, kparent, f.objects(strings.ReplaceAll(v1, "name: ", "name: k")), apply.SyncOptions{Prune: true})
	out, err = runKubectl(t, bin, "apply", "--server-side", "--force-conflicts", "--prune", "--applyset=configmap/shared-with-kubectl", "-n", f.Target,
		"-f", f.writeManifests(strings.ReplaceAll(v2, "name: ", "name: k")))
	if err != nil {
		t.Fatalf("kubectl: %v\n%s", err, out)
	}
	for _, pruned := range []string{"configmap/kb pruned", "service/kweb pruned"} {
		if !strings.Contains(out, pruned) {
			t.Errorf("kubectl did not prune a member of our set: want %q in\n%s", pruned, out)
		}
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "kb"); !apierrors.IsNotFound(err) {
		t.Fatalf("kb: %v", err)
	}
	// The other set in the namespace was not touched by kubectl's prune.
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "b"); err != nil {
		t.Fatalf("b: %v", err)
	}
}
