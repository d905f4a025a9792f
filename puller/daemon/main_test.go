package daemon_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	"github.com/gitless-dev/gitless/puller/config"
	"github.com/gitless-dev/gitless/puller/daemon"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

var env *kube.Env

func TestMain(m *testing.M) { os.Exit(kube.Main(m, &env)) }

// fixture is a registry, a cluster namespace pair, a signing key and a kubelet-style
// mounted config directory.
type fixture struct {
	t         *testing.T
	ctx       context.Context
	cfg       *rest.Config
	kube      kubernetes.Interface
	dyn       dynamic.Interface
	reg       *registry.Registry
	client    *remote.Client
	signer    *sign.Client
	key       *sign.SigningKey
	pubPEM    string
	ns        string
	target    string
	configDir string // holds ..data → ..N/ and puller.yaml → ..data/puller.yaml
	swaps     int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	e := env.Use(t)
	f := &fixture{t: t, ctx: t.Context(), cfg: e.Config()}
	f.cfg.QPS, f.cfg.Burst = -1, 0
	f.kube = kubernetes.NewForConfigOrDie(f.cfg)
	f.dyn = dynamic.NewForConfigOrDie(f.cfg)
	f.ns, f.target = e.Namespace(t, "gitless"), e.Namespace(t, "apps")
	f.reg = registry.NewT(t, registry.Options{})
	f.client = remote.New(remote.Options{})
	f.signer = sign.New(sign.ClientOptions{})
	kp, err := sign.GenerateKeyPair([]byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	priv := filepath.Join(t.TempDir(), "cosign.key")
	if err := os.WriteFile(priv, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	f.key, err = sign.LoadSigningKey(f.ctx, priv, sign.KeyOptions{Password: func() ([]byte, error) { return []byte("pw"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	f.pubPEM = string(kp.PublicPEM)
	f.configDir = t.TempDir()
	return f
}

// push packages files (NS → the target namespace) as repo:tag and signs it.
func (f *fixture) push(repo, tag string, files map[string]string) {
	f.t.Helper()
	nsFiles := map[string]string{}
	for p, c := range files {
		nsFiles[p] = strings.ReplaceAll(c, "NS", f.target)
	}
	f.pushFiles(repo, tag, nsFiles)
}

// pushFiles packages files as they are as repo:tag and signs it.
func (f *fixture) pushFiles(repo, tag string, files map[string]string) {
	f.t.Helper()
	data := map[string][]byte{}
	for p, c := range files {
		data[p] = []byte(c)
	}
	layer, err := artifact.BuildFromFiles(data)
	if err != nil {
		f.t.Fatal(err)
	}
	ref, err := artifact.ParseReference("oci://" + f.reg.Host() + "/" + repo + ":" + tag)
	if err != nil {
		f.t.Fatal(err)
	}
	opts := remote.DefaultPushOptions()
	opts.Policy.AllowOverwrite = true
	res, err := f.client.Push(f.ctx, ref, layer, artifact.Metadata{Source: "https://github.com/acme/app", Revision: "main@sha1:" + strings.Repeat("a", 40), Created: time.Now()}, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.signer.Sign(f.ctx, res.Reference, sign.Options{Key: f.key, Format: verify.FormatCosign}); err != nil {
		f.t.Fatal(err)
	}
}

func cm(name, v string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: NS\ndata:\n  k: %q\n", name, v)
}

// source is a config file entry for repo:tag.
func (f *fixture) source(name, repo, tag, extra string) string {
	key := strings.ReplaceAll(strings.TrimSpace(f.pubPEM), "\n", "\n      ")
	return fmt.Sprintf("- name: %s\n  url: oci://%s/%s\n  ref: {tag: %s}\n  prune: true\n  interval: 1h\n  verify:\n    insecureIgnoreTlog: true\n    keys:\n    - |\n      %s\n%s",
		name, f.reg.Host(), repo, tag, key, extra)
}

func (f *fixture) configText(top string, sources ...string) string {
	return "apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nnamespace: " + f.ns + "\n" + top + "sources:\n" + strings.Join(sources, "")
}

// writeConfig swaps the mounted configuration as the kubelet does: a new timestamped
// directory, a ..data_tmp symlink to it, renamed over ..data.
func (f *fixture) writeConfig(text string) string {
	f.t.Helper()
	f.swaps++
	dir := fmt.Sprintf("..2026_12_03_%02d", f.swaps)
	if err := os.Mkdir(filepath.Join(f.configDir, dir), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.configDir, dir, "puller.yaml"), []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
	tmp := filepath.Join(f.configDir, "..data_tmp")
	if err := os.Symlink(dir, tmp); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(f.configDir, "..data")); err != nil {
		f.t.Fatal(err)
	}
	path := filepath.Join(f.configDir, "puller.yaml")
	if _, err := os.Lstat(path); os.IsNotExist(err) {
		if err := os.Symlink(filepath.Join("..data", "puller.yaml"), path); err != nil {
			f.t.Fatal(err)
		}
	}
	return path
}

type running struct {
	addr, webhook string
	done          chan error
	cancel        context.CancelFunc
}

// start runs the daemon on the mounted configuration.
func (f *fixture) start(opts daemon.Options) *running {
	f.t.Helper()
	path := filepath.Join(f.configDir, "puller.yaml")
	c, err := config.Load(path, f.ns)
	if err != nil {
		f.t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	wln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	opts.Config, opts.ConfigPath, opts.RestConfig = c, path, f.cfg
	opts.Listener, opts.WebhookListener = ln, wln
	opts.ConfigCheckInterval = 100 * time.Millisecond
	if opts.Puller.Instance == "" {
		opts.Puller.Instance = "gitless-puller-test"
	}
	ctx, cancel := context.WithCancel(f.ctx)
	r := &running{addr: ln.Addr().String(), webhook: wln.Addr().String(), done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- daemon.Run(ctx, opts) }()
	f.t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var gvrCM = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}

func (f *fixture) cmData(name string) string {
	u, err := f.dyn.Resource(gvrCM).Namespace(f.target).Get(f.ctx, name, metav1.GetOptions{})
	if err != nil {
		return "<absent>"
	}
	v, _, _ := unstructured.NestedString(u.Object, "data", "k")
	return v
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (f *fixture) events(reason string) []string {
	l, err := f.kube.CoreV1().Events(f.ns).List(f.ctx, metav1.ListOptions{FieldSelector: "reason=" + reason})
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, e := range l.Items {
		out = append(out, e.Message)
	}
	return out
}

var _ = puller.Applied
