package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/verify"
)

var ociRepositories = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "ocirepositories"}

// TestFluxVerifiesGitlessSignatures: Flux's own source-controller (v1.9.0, which verifies
// with the cosign v3 library), run against a real kube-apiserver, accepts an OCIRepository
// whose artifact gitless signed, in its default format and in the bundle format, and
// refuses an unsigned one and one signed by another key.
func TestFluxVerifiesGitlessSignatures(t *testing.T) {
	bin := peersBin(t, "source-controller")
	env := kube.NewT(t, kube.WithCRDPaths(filepath.Join(bin, "source-controller-crds")))
	reg := registry.NewT(t, registry.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	priv, pub := keyPair(t, "flux")
	_, otherPub := keyPair(t, "flux")
	signed := pushArtifact(t, reg, "flux/signed", "v1", "signed")
	keySign(t, signed, loadKey(t, priv, "flux"), verify.FormatCosign)
	unsigned := pushArtifact(t, reg, "flux/unsigned", "v1", "unsigned")
	bundled := pushArtifact(t, reg, "flux/bundle", "v1", "bundle")
	keySign(t, bundled, loadKey(t, priv, "flux"), verify.FormatBundle)

	runSourceController(t, ctx, filepath.Join(bin, "source-controller"), env.KubeconfigPath())

	ns := env.Namespace(t, "flux")
	kc := kubernetes.NewForConfigOrDie(env.Config())
	dyn := dynamic.NewForConfigOrDie(env.Config())
	for name, pem := range map[string]string{"cosign-pub": string(must(os.ReadFile(pub))), "other-pub": string(must(os.ReadFile(otherPub)))} {
		_, err := kc.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"cosign.pub": pem},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	create := func(name, repo, secret string) {
		t.Helper()
		obj := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{
				"interval": "10m", "url": "oci://" + reg.Host() + "/" + repo, "insecure": true,
				"ref":    map[string]any{"tag": "v1"},
				"verify": map[string]any{"provider": "cosign", "secretRef": map[string]any{"name": secret}},
			},
		}}
		if _, err := dyn.Resource(ociRepositories).Namespace(ns).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	create("signed", "flux/signed", "cosign-pub")
	create("unsigned", "flux/unsigned", "cosign-pub")
	create("other-key", "flux/signed", "other-pub")
	create("bundle", "flux/bundle", "cosign-pub")

	wantCondition(t, ctx, dyn, ns, "signed", "SourceVerified", "True", "")
	wantCondition(t, ctx, dyn, ns, "signed", "Ready", "True", "")
	wantCondition(t, ctx, dyn, ns, "unsigned", "Ready", "False", "VerificationError")
	wantCondition(t, ctx, dyn, ns, "other-key", "Ready", "False", "VerificationError")
	_ = unsigned
	// The bundle format (cosign v3's default) too.
	wantCondition(t, ctx, dyn, ns, "bundle", "SourceVerified", "True", "")
	wantCondition(t, ctx, dyn, ns, "bundle", "Ready", "True", "")
}

// runSourceController starts Flux's source-controller out of cluster, as hack/build-peers.sh
// built it, until the test ends.
func runSourceController(t *testing.T, ctx context.Context, bin, kubeconfig string) {
	t.Helper()
	port := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	storage := port()
	cctx, cancel := context.WithCancel(ctx)
	cmd := exec.CommandContext(cctx, bin,
		"--storage-path", t.TempDir(), "--storage-addr", storage, "--storage-adv-addr", storage,
		"--metrics-addr", port(), "--health-addr", port(), "--enable-leader-election=false",
		"--watch-all-namespaces=true", "--log-level", "info")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "RUNTIME_NAMESPACE=default", "HOME="+t.TempDir())
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("source-controller logs:\n%s", lastLines(logs.String(), 40))
		}
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// wantCondition waits until the OCIRepository has the condition with status (and reason).
func wantCondition(t *testing.T, ctx context.Context, dyn dynamic.Interface, ns, name, typ, status, reason string) {
	t.Helper()
	var last string
	for ctx.Err() == nil {
		obj, err := dyn.Resource(ociRepositories).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] != typ {
					continue
				}
				last = fmt.Sprintf("%s=%s reason=%s: %s", typ, m["status"], m["reason"], m["message"])
				if m["status"] == status && (reason == "" || m["reason"] == reason) {
					t.Logf("%s: %s", name, last)
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: condition %s=%s (%s) not reached; last: %s", name, typ, status, reason, last)
}
