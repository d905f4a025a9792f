package pullercli_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/pullercli"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller/install"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

// runDaemon runs `gitless-puller run` in-process until the test ends.
func runDaemon(t *testing.T, f *pullerFixture, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan result)
	go func() {
		done <- runPuller(t, ctx, f.env, append(append([]string{"run", "--listen", addr}, args...), f.base...)...)
	}()
	t.Cleanup(func() {
		cancel()
		if r := <-done; r.code != 0 {
			t.Errorf("run: %+v", r)
		}
	})
	return addr
}

// config writes a PullerConfig with these sources.
func (f *pullerFixture) config(t *testing.T, sources string) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "puller.yaml")
	if err := os.WriteFile(cfg, []byte(f.ConfigYAML("", sources)), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// status -o json has exactly the fields of the CLI's interface; reconcile --wait
// prints the outcome of the sync it asked for; suspend and resume.
func TestStatusReconcileSuspendResume(t *testing.T) {
	f := newPullerFixture(t)
	f.pushSigned("app", "v1", true, map[string]string{"a.yaml": pcm("a", "1")})
	f.pushSigned("bad", "v1", false, map[string]string{"b.yaml": pcm("b", "1")}) // unsigned: fails
	cfg := f.config(t, f.SourceYAML("app", "app", "v1", "")+f.SourceYAML("bad", "bad", "v1", ""))
	runDaemon(t, f, "--config", cfg)
	var list []map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := runPuller(t, t.Context(), f.env, append([]string{"status", "-o", "json"}, f.base...)...)
		if r.code != 0 {
			t.Fatalf("%+v", r)
		}
		if err := json.Unmarshal([]byte(r.out), &list); err != nil {
			t.Fatalf("%v\n%s", err, r.out)
		}
		// A source is listed from the start of its first sync (the parent marked,
		// gitless.dev/syncing), with no result until it ends.
		if len(list) == 2 && list[0]["result"] != "" && list[1]["result"] != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s", r.out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	want := []string{"appliedAt", "digest", "message", "name", "ready", "ref", "result", "revision", "signer", "url"}
	for _, s := range list {
		var keys []string
		for k := range s {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("fields %v, want %v", keys, want)
		}
	}
	app, bad := list[0], list[1]
	if app["name"] != "app" || app["ready"] != true || app["result"] != "Applied" || app["ref"] != "tag v1" ||
		!strings.HasPrefix(app["digest"].(string), "sha256:") || !strings.HasPrefix(app["signer"].(string), "key ") || app["appliedAt"] == "" ||
		app["revision"] != "main@sha1:0123456789abcdef0123456789abcdef01234567" {
		t.Fatalf("%v", app)
	}
	if bad["ready"] != false || bad["result"] != "Failed" || !strings.Contains(bad["message"].(string), "signature") {
		t.Fatalf("%v", bad)
	}
	r := runPuller(t, t.Context(), f.env, append([]string{"status"}, f.base...)...)
	if r.code != 0 || !strings.Contains(r.out, "NAME") || !strings.Contains(r.out, "app   ") || !strings.Contains(r.out, "s ago") {
		t.Fatalf("%+v", r)
	}

	// reconcile --wait: the running puller syncs at once (interval 1h) and says how.
	f.pushSigned("app", "v1", true, map[string]string{"a.yaml": pcm("a", "2")})
	r = runPuller(t, t.Context(), f.env, append([]string{"reconcile", "app", "--wait", "--timeout", "30s"}, f.base...)...)
	if r.code != 0 || !strings.HasPrefix(r.out, "app: Applied at sha256:") || !strings.Contains(r.out, "revision main@sha1:") {
		t.Fatalf("%+v", r)
	}
	r = runPuller(t, t.Context(), f.env, append([]string{"reconcile", "bad", "--wait", "--timeout", "30s"}, f.base...)...)
	if r.code != 1 || !strings.HasPrefix(r.out, "bad: Failed") || !strings.Contains(r.err, "the sync failed") {
		t.Fatalf("%+v", r)
	}
	// suspend: status says so, reconcile refuses, resume --wait syncs.
	if r := runPuller(t, t.Context(), f.env, append([]string{"suspend", "app"}, f.base...)...); r.code != 0 || r.out != "app: suspended\n" {
		t.Fatalf("%+v", r)
	}
	r = runPuller(t, t.Context(), f.env, append([]string{"status", "app", "-o", "json"}, f.base...)...)
	if r.code != 0 || !strings.Contains(r.out, `"result": "Suspended"`) || !strings.Contains(r.out, `"ready": false`) {
		t.Fatalf("%+v", r)
	}
	if r := runPuller(t, t.Context(), f.env, append([]string{"reconcile", "app"}, f.base...)...); r.code != 1 || !strings.Contains(r.err, "suspended") {
		t.Fatalf("%+v", r)
	}
	f.pushSigned("app", "v1", true, map[string]string{"a.yaml": pcm("a", "3")})
	r = runPuller(t, t.Context(), f.env, append([]string{"resume", "app", "--wait", "-o", "json"}, f.base...)...)
	if r.code != 0 || !strings.Contains(r.out, `"result": "Applied"`) {
		t.Fatalf("%+v", r)
	}
	for _, cmd := range []string{"status", "reconcile", "suspend", "resume"} {
		if r := runPuller(t, t.Context(), f.env, append([]string{cmd, "nope"}, f.base...)...); r.code != 6 || !strings.Contains(r.err, "no such source") {
			t.Fatalf("%s nope: %+v, want exit 6 (no such source)", cmd, r)
		}
	}
}

// install prints what the install package generates, with the first source's key
// inlined; --apply applies it; a source whose artifact holds the puller's own
// ConfigMap and Deployment takes them over, and never prunes them.
func TestInstallAndSelfManagement(t *testing.T) {
	f := newPullerFixture(t)
	url := "oci://" + f.Reg.Host() + "/fleet"
	args := append([]string{"install", "--source", url, "--ref", "v1", "--key", f.Key.PubPath, "--insecure-ignore-tlog", "--prune", "--image", "example.com/puller:v1"}, f.base...)
	r := runPuller(t, t.Context(), f.env, args...)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	pub, _ := os.ReadFile(f.Key.PubPath)
	if !strings.Contains(r.out, "-----BEGIN PUBLIC KEY-----") || strings.Contains(r.out, f.Key.PubPath) || !strings.Contains(r.out, "url: "+url) ||
		!strings.Contains(r.out, "--leader-elect") || !strings.Contains(r.out, "replicas: 2") || len(pub) == 0 {
		t.Fatalf("%s", r.out)
	}
	objs, err := install.Objects([]byte(r.out))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
		if o.GetAnnotations()["gitless.dev/prune"] != "disabled" {
			t.Errorf("%s %s can be pruned", o.GetKind(), o.GetName())
		}
	}
	if !slices.Equal(kinds, []string{"Namespace", "ServiceAccount", "Role", "RoleBinding", "ClusterRoleBinding", "ConfigMap", "Secret", "Deployment"}) {
		t.Fatalf("%v", kinds)
	}
	if r := runPuller(t, t.Context(), f.env, append([]string{"install", "--replicas", "2", "--leader-elect=false"}, f.base...)...); r.code != 2 {
		t.Fatalf("%+v", r)
	}

	// --apply, then the fleet artifact holds the same ConfigMap and Deployment (as a
	// repository made with `install --dir` would): the puller's source adopts them.
	r = runPuller(t, t.Context(), f.env, append(args, "--apply")...)
	if r.code != 0 || !strings.Contains(r.out, "applied Deployment "+f.NS+"/gitless-puller") {
		t.Fatalf("%+v", r)
	}
	var own strings.Builder
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" || o.GetKind() == "Deployment" {
			b, _ := json.Marshal(o.Object)
			own.WriteString(string(b) + "\n---\n")
		}
	}
	f.pushSigned("fleet", "v1", true, map[string]string{"puller.yaml": own.String(), "app.yaml": pcm("app", "1")})
	sync := append([]string{"sync", "--url", url, "--ref", "v1", "--key", f.Key.PubPath, "--insecure-ignore-tlog", "--prune", "--name", "fleet"}, f.base...)
	if r := runPuller(t, t.Context(), f.env, sync...); r.code != 0 || !strings.Contains(r.out, "fleet: applied") {
		t.Fatalf("%+v", r)
	}
	kc := kubernetes.NewForConfigOrDie(kubeEnv.Config())
	d, err := kc.AppsV1().Deployments(f.NS).Get(t.Context(), "gitless-puller", metav1.GetOptions{})
	if err != nil || d.Labels["applyset.kubernetes.io/part-of"] == "" {
		t.Fatalf("%v %v", err, d.Labels)
	}
	// The next artifact leaves the puller out: it is kept, not pruned.
	f.pushSigned("fleet", "v1", true, map[string]string{"app.yaml": pcm("app", "2")})
	if r := runPuller(t, t.Context(), f.env, sync...); r.code != 0 || !strings.Contains(r.out, "0 pruned, 2 kept") {
		t.Fatalf("%+v", r)
	}
	if _, err := kc.AppsV1().Deployments(f.NS).Get(t.Context(), "gitless-puller", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}

	// --dir writes the files with a kustomization.
	dir := t.TempDir()
	if r := runPuller(t, t.Context(), f.env, append([]string{"install", "--dir", dir, "--webhook", "--image", "x/y:z"}, f.base...)...); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, name := range []string{"namespace.yaml", "rbac.yaml", "config.yaml", "deployment.yaml", "webhook.yaml", "kustomization.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	// Again without the webhook: its file goes with it; files of the user's stay, also
	// one named as an install's (pull-secret.yaml, which examples/cluster has).
	os.WriteFile(filepath.Join(dir, "mine.yaml"), []byte("x: 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "pull-secret.yaml"), []byte("x: 1\n"), 0o644)
	if r := runPuller(t, t.Context(), f.env, append([]string{"install", "--dir", dir, "--image", "x/y:z"}, f.base...)...); r.code != 0 || !strings.Contains(r.err, "removed "+filepath.Join(dir, "webhook.yaml")) {
		t.Fatalf("%+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "webhook.yaml")); err == nil {
		t.Error("webhook.yaml left beside a kustomization that does not list it")
	}
	for _, mine := range []string{"mine.yaml", "pull-secret.yaml"} {
		if _, err := os.Stat(filepath.Join(dir, mine)); err != nil {
			t.Error(err)
		}
	}
	if r := runPuller(t, t.Context(), f.env, append([]string{"install", "--replicas", "0"}, f.base...)...); r.code != pullercli.ExitUsage || !strings.Contains(r.err, "--replicas 0: at least 1") {
		t.Fatalf("--replicas 0: %+v", r)
	}
}

// HTTPS_PROXY is used for registry requests: a CONNECT proxy on loopback sees the
// registry's traffic (a registry with its own CA, named registry.test, which only the
// proxy can resolve).
func TestProxyForRegistries(t *testing.T) {
	f := newPullerFixture(t)
	reg := registry.NewT(t, registry.Options{TLS: &registry.TLSOptions{Hosts: []string{"registry.test"}}})
	_, port, _ := net.SplitHostPort(reg.Host())
	var mu sync.Mutex
	var connects []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		mu.Lock()
		connects = append(connects, r.Host)
		mu.Unlock()
		target := strings.Replace(r.Host, "registry.test", "127.0.0.1", 1)
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() { io.Copy(up, buf); up.Close() }()
		io.Copy(conn, up)
		conn.Close()
	}))
	defer proxy.Close()

	// Push and sign over HTTPS, directly.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(reg.CACertPEM())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	hc := &http.Client{Transport: tr}
	ref, _ := artifact.ParseReference("oci://" + reg.Host() + "/app:v1")
	layer, err := artifact.BuildFromFiles(map[string][]byte{"a.yaml": []byte(strings.ReplaceAll(pcm("a", "1"), "NS", f.Target))})
	if err != nil {
		t.Fatal(err)
	}
	res, err := remote.New(remote.Options{HTTPS: true, HTTPClient: hc}).Push(t.Context(), ref, layer, artifact.Metadata{Created: time.Unix(1, 0)}, remote.DefaultPushOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.New(sign.ClientOptions{Registry: remote.New(remote.Options{HTTPS: true, HTTPClient: hc})}).Sign(t.Context(), res.Reference, sign.Options{Key: f.Key.Signing, Format: verify.FormatCosign}); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.crt")
	os.WriteFile(ca, reg.CACertPEM(), 0o600)
	cfg := f.config(t, fmt.Sprintf("- name: app\n  url: oci://registry.test:%s/app:v1\n  verify: {keys: [%s], insecureIgnoreTlog: true}\n  caFile: %s\n", port, f.Key.PubPath, ca))

	env := map[string]string{}
	for k, v := range f.env {
		env[k] = v
	}
	r := runPuller(t, t.Context(), env, append([]string{"sync", "--config", cfg}, f.base...)...)
	if r.code == 0 {
		t.Fatalf("registry.test resolved without the proxy: %+v", r)
	}
	env["HTTPS_PROXY"] = proxy.URL
	r = runPuller(t, t.Context(), env, append([]string{"sync", "--config", cfg}, f.base...)...)
	if r.code != 0 || !strings.Contains(r.out, "app: applied") {
		t.Fatalf("%+v", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(connects) == 0 || slices.ContainsFunc(connects, func(h string) bool { return h != "registry.test:"+port }) {
		t.Fatalf("the proxy saw %v", connects)
	}
}

// install --apply does not weaken a tenant namespace that exists with a stricter Pod
// Security level than tenants.yaml writes (baseline).
func TestInstallKeepsAStricterTenantNamespace(t *testing.T) {
	f := newPullerFixture(t)
	tenant := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "team-strict-", Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	ns, err := f.Kube.CoreV1().Namespaces().Create(t.Context(), tenant, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Kube.CoreV1().Namespaces().Delete(context.Background(), ns.Name, metav1.DeleteOptions{}) })
	args := append([]string{"install", "--source", "oci://" + f.Reg.Host() + "/fleet", "--ref", "v1", "--key", f.Key.PubPath, "--insecure-ignore-tlog",
		"--target-namespace", ns.Name, "--default-service-account", "deployer", "--image", "example.com/puller:v1", "--apply"}, f.base...)
	if r := runPuller(t, t.Context(), f.env, args...); r.code != 0 || !strings.Contains(r.out, "applied Namespace "+ns.Name) {
		t.Fatalf("%+v", r)
	}
	got, err := f.Kube.CoreV1().Namespaces().Get(t.Context(), ns.Name, metav1.GetOptions{})
	if err != nil || got.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Fatalf("the tenant namespace's level: %v %v", err, got.Labels)
	}
}

// A source that names an account in a namespace that does not exist yet (the platform,
// or the puller's own artifact, makes it later): install --apply installs the puller and
// says which Role it skipped, instead of failing half-way.
func TestInstallSkipsRolesOfMissingNamespaces(t *testing.T) {
	f := newPullerFixture(t)
	missing := "team-later-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))[:8]
	args := append([]string{"install", "--source", "oci://" + f.Reg.Host() + "/fleet", "--ref", "v1", "--key", f.Key.PubPath, "--insecure-ignore-tlog",
		"--service-account", missing + "/deployer", "--image", "example.com/puller:v1", "--apply"}, f.base...)
	r := runPuller(t, t.Context(), f.env, args...)
	if r.code != 0 || !strings.Contains(r.out, "applied Deployment "+f.NS+"/gitless-puller") ||
		!strings.Contains(r.err, "Warning: skipped Role "+missing+"/gitless-puller-impersonate-deployer: the namespace "+missing+" does not exist yet") {
		t.Fatalf("%+v", r)
	}
}
