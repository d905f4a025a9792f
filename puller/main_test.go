package puller_test

import (
	"context"
	"os"
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
	"k8s.io/client-go/rest"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

var env *kube.Env

func TestMain(m *testing.M) { os.Exit(kube.Main(m, &env)) }

// world is one test's cluster namespaces, registry, signing key and puller.
type world struct {
	t      *testing.T
	ctx    context.Context
	cfg    *rest.Config
	ns     string // the puller's namespace
	target string // where the objects go
	dyn    dynamic.Interface
	kube   kubernetes.Interface
	reg    *registry.Registry
	client *remote.Client // pushes
	signer *sign.Client
	key    *sign.SigningKey
	policy *verify.Policy
	clock  *clock
	p      *puller.Puller
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Now()} }

func newWorld(t *testing.T, regOpts registry.Options) *world {
	t.Helper()
	e := env.Use(t)
	w := &world{t: t, ctx: t.Context(), clock: newClock()}
	w.ns = e.Namespace(t, "gitless")
	w.target = e.Namespace(t, "apps")
	w.cfg = e.Config()
	w.cfg.QPS, w.cfg.Burst = -1, 0
	w.dyn = dynamic.NewForConfigOrDie(w.cfg)
	w.kube = kubernetes.NewForConfigOrDie(w.cfg)
	w.reg = registry.NewT(t, regOpts)
	w.client = remote.New(remote.Options{Credentials: staticCreds(w.reg)})
	w.signer = sign.New(sign.ClientOptions{Credentials: staticCreds(w.reg)})
	w.key, w.policy = newKey(t)
	w.p = w.newPuller(puller.Options{})
	return w
}

func (w *world) newPuller(opts puller.Options) *puller.Puller {
	w.t.Helper()
	if opts.Namespace == "" {
		opts.Namespace = w.ns
	}
	if opts.Now == nil {
		opts.Now = w.clock.now
	}
	p, err := puller.New(w.cfg, opts)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// newKey makes a cosign key pair and the policy that trusts it (no transparency log:
// tests cannot reach the public Rekor).
func newKey(t *testing.T) (*sign.SigningKey, *verify.Policy) {
	t.Helper()
	kp, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	priv := filepath.Join(t.TempDir(), "cosign.key")
	if err := os.WriteFile(priv, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := sign.LoadSigningKey(context.Background(), priv, sign.KeyOptions{Password: func() ([]byte, error) { return []byte("pw"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	return key, &verify.Policy{Keys: []string{string(kp.PublicPEM)}, InsecureIgnoreTlog: true}
}

// url is the test repository's URL.
func (w *world) url(repo string) string { return "oci://" + w.reg.Host() + "/" + repo }

// push packages files as an artifact at repo:tag (moving the tag) and returns it
// pinned to its digest. NS in the files is replaced by the target namespace.
func (w *world) push(repo, tag string, created time.Time, files map[string]string) artifact.Reference {
	w.t.Helper()
	data := map[string][]byte{}
	for p, c := range files {
		data[p] = []byte(strings.ReplaceAll(c, "NS", w.target))
	}
	layer, err := artifact.BuildFromFiles(data)
	if err != nil {
		w.t.Fatal(err)
	}
	ref, err := artifact.ParseReference(w.url(repo) + ":" + tag)
	if err != nil {
		w.t.Fatal(err)
	}
	opts := remote.DefaultPushOptions()
	opts.Policy.AllowOverwrite = true
	res, err := w.client.Push(w.ctx, ref, layer, artifact.Metadata{
		Source: "https://github.com/acme/app", Revision: "main@sha1:" + strings.Repeat(tag[:1], 40), Created: created,
	}, opts)
	if err != nil {
		w.t.Fatal(err)
	}
	return res.Reference
}

// sign signs ref with the world's key.
func (w *world) sign(ref artifact.Reference) {
	w.t.Helper()
	if _, err := w.signer.Sign(w.ctx, ref, sign.Options{Key: w.key, Format: verify.FormatCosign}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) pushSigned(repo, tag string, created time.Time, files map[string]string) artifact.Reference {
	w.t.Helper()
	ref := w.push(repo, tag, created, files)
	w.sign(ref)
	return ref
}

// source is a source for repo:tag with the world's policy, pruning on.
func (w *world) source(name, repo, tag string) puller.Source {
	return puller.Source{Name: name, URL: w.url(repo), Ref: puller.Ref{Tag: tag}, Verify: w.policy, Prune: true}
}

func (w *world) sync(src puller.Source) (*puller.Result, error) {
	w.t.Helper()
	return w.p.Sync(w.ctx, src)
}

func (w *world) mustSync(src puller.Source) *puller.Result {
	w.t.Helper()
	res, err := w.sync(src)
	if err != nil {
		w.t.Fatalf("sync %s: %v", src.Name, err)
	}
	return res
}

var (
	gvrCM     = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrDeploy = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

func (w *world) get(gvr schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error) {
	return w.dyn.Resource(gvr).Namespace(ns).Get(w.ctx, name, metav1.GetOptions{})
}

// cmData returns data[key] of ConfigMap name in the target namespace, or "<absent>".
func (w *world) cmData(name, key string) string {
	w.t.Helper()
	u, err := w.get(gvrCM, w.target, name)
	if err != nil {
		return "<absent>"
	}
	v, _, _ := unstructured.NestedString(u.Object, "data", key)
	return v
}

// status returns the annotations of a source's ApplySet parent.
func (w *world) status(name string) map[string]string {
	w.t.Helper()
	u, err := w.get(gvrCM, w.ns, "gitless-"+name)
	if err != nil {
		w.t.Fatal(err)
	}
	return u.GetAnnotations()
}

// events returns "Type Reason: message" of the events on a source's parent.
func (w *world) events(name string) []string {
	w.t.Helper()
	l, err := w.kube.CoreV1().Events(w.ns).List(w.ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=gitless-" + name})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, e := range l.Items {
		out = append(out, e.Type+" "+e.Reason+": "+e.Message)
	}
	return out
}

func countPrefix(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func cm(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n  namespace: NS\ndata:\n  k: \"" + value + "\"\n"
}

var _ = corev1.SecretTypeDockerConfigJson
