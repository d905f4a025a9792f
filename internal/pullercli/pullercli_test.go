package pullercli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/cli"
	"github.com/gitless-dev/gitless/internal/pullercli"
	"github.com/gitless-dev/gitless/internal/testenv/fstree"
	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

var kubeEnv *kube.Env

// TestMain provides a control plane for the gitless-puller tests; it starts only
// when a test asks for it.
func TestMain(m *testing.M) { os.Exit(kube.Main(m, &kubeEnv)) }

type result struct {
	code     int
	out, err string
}

// runPuller executes gitless-puller in-process.
func runPuller(t *testing.T, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := pullercli.Env{Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }}
	code := pullercli.Main(ctx, pullercli.NewCommand(e), args, e)
	return result{code, out.String(), errb.String()}
}

// run executes the gitless CLI in-process (to push and sign what the puller pulls).
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := cli.Env{Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }}
	code := cli.Main(context.Background(), cli.NewGitlessCommand(e), args, e)
	return result{code, out.String(), errb.String()}
}

func writeTree(t *testing.T, files map[string]string) string { return fstree.Write(t, files) }

// pullerFixture is the shared fixture, the environment of both CLIs and the flags that
// point gitless-puller at the test's cluster and namespace.
type pullerFixture struct {
	*pullertest.Fixture
	t    *testing.T
	env  map[string]string
	base []string // --kubeconfig and -n
}

func newPullerFixture(t *testing.T) *pullerFixture {
	t.Helper()
	f := &pullerFixture{Fixture: pullertest.New(t, kubeEnv, registry.Options{}), t: t, env: map[string]string{"HOME": t.TempDir(), "COSIGN_PASSWORD": pullertest.KeyPassword}}
	f.base = []string{"--kubeconfig", f.Kubeconfig, "-n", f.NS}
	return f
}

// pushSigned pushes files (NS → the target namespace) as repo:tag and, if sign, signs
// it with the fixture's key.
func (f *pullerFixture) pushSigned(repo, tag string, sign bool, files map[string]string) {
	f.t.Helper()
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ref := f.Push(repo, tag, f.InTarget(files), artifact.Metadata{Created: created, Revision: "main@sha1:0123456789abcdef0123456789abcdef01234567"})
	if sign {
		f.Sign(ref)
	}
}

var pcm = pullertest.ConfigMap

func TestPullerSyncFromFlags(t *testing.T) {
	f := newPullerFixture(t)
	f.pushSigned("app", "v1.0.0", true, map[string]string{"a.yaml": pcm("a", "1"), "b.yaml": pcm("b", "1")})
	args := append([]string{"sync", "--url", "oci://" + f.Reg.Host() + "/app", "--ref", "^1.0", "--key", f.Key.PubPath, "--insecure-ignore-tlog", "--prune", "-o", "json"}, f.base...)
	r := runPuller(t, t.Context(), f.env, args...)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	var out struct {
		Results []struct {
			Source, Outcome, Tag, Digest, Signer string
			Created                              int
			Requests                             struct{ Registry, APIWrites int }
		}
	}
	if err := json.Unmarshal([]byte(r.out), &out); err != nil || len(out.Results) != 1 {
		t.Fatalf("%v\n%s", err, r.out)
	}
	res := out.Results[0]
	if res.Source != "app" || res.Outcome != "Applied" || res.Tag != "v1.0.0" || res.Created != 2 || !strings.HasPrefix(res.Signer, "key ") {
		t.Fatalf("%+v", res)
	}
	// Again: up to date, no write, and for a semver range two registry requests: the
	// tag list and the HEAD of the highest match.
	r = runPuller(t, t.Context(), f.env, args...)
	if r.code != 0 || json.Unmarshal([]byte(r.out), &out) != nil || out.Results[0].Outcome != "UpToDate" ||
		out.Results[0].Requests.Registry != 2 || out.Results[0].Requests.APIWrites != 0 {
		t.Fatalf("%+v", r)
	}
	// Text output.
	f.pushSigned("app", "v1.1.0", true, map[string]string{"a.yaml": pcm("a", "2")})
	// --dry-run first: what the sync below does, with the diff, and nothing written
	// (the sync then finds the same to do).
	r = runPuller(t, t.Context(), f.env, append([]string{"sync", "--url", "oci://" + f.Reg.Host() + "/app", "--ref", "^1.0", "--key", f.Key.PubPath, "--insecure-ignore-tlog", "--prune", "--dry-run"}, f.base...)...)
	if r.code != 0 || !strings.Contains(r.out, "app: plan for oci://") || !strings.Contains(r.out, "0 created, 1 configured, 0 unchanged, 1 pruned") ||
		!strings.Contains(r.out, "  configured ConfigMap "+f.Target+"/a\n    --- cluster: ConfigMap "+f.Target+"/a\n") ||
		!strings.Contains(r.out, "\n    -  k: \"1\"\n    +  k: \"2\"\n") || !strings.Contains(r.out, "pruned ConfigMap "+f.Target+"/b") {
		t.Fatalf("--dry-run: %+v", r)
	}
	r = runPuller(t, t.Context(), f.env, append([]string{"sync", "--url", "oci://" + f.Reg.Host() + "/app", "--ref", "^1.0", "--key", f.Key.PubPath, "--insecure-ignore-tlog", "--prune"}, f.base...)...)
	if r.code != 0 || !strings.Contains(r.out, "app: applied") || !strings.Contains(r.out, "0 created, 1 configured, 0 unchanged, 1 pruned") ||
		!strings.Contains(r.out, "pruned ConfigMap "+f.Target+"/b") {
		t.Fatalf("%+v", r)
	}
}

func TestPullerSyncExitCodes(t *testing.T) {
	f := newPullerFixture(t)
	f.pushSigned("app", "unsigned", false, map[string]string{"a.yaml": pcm("a", "1")})
	url := "oci://" + f.Reg.Host() + "/app"
	r := runPuller(t, t.Context(), f.env, append([]string{"sync", "--url", url + ":unsigned", "--key", f.Key.PubPath, "--insecure-ignore-tlog"}, f.base...)...)
	if r.code != pullercli.ExitVerifyFailed || !strings.Contains(r.out, "FAILED") {
		t.Fatalf("unsigned: %+v", r)
	}
	r = runPuller(t, t.Context(), f.env, append([]string{"sync", "--url", url + ":nope", "--key", f.Key.PubPath, "--insecure-ignore-tlog"}, f.base...)...)
	if r.code != pullercli.ExitNotFound {
		t.Fatalf("missing tag: %+v", r)
	}
	r = runPuller(t, t.Context(), f.env, append([]string{"sync", "--url", url}, f.base...)...)
	if r.code != pullercli.ExitUsage || !strings.Contains(r.err, "--key") {
		t.Fatalf("no policy: %+v", r)
	}
	// A registry that wants credentials the puller does not have: 4.
	locked := registry.NewT(t, registry.Options{Auth: registry.AuthBasic})
	r = runPuller(t, t.Context(), f.env, append([]string{"sync", "--url", "oci://" + locked.Host() + "/app:v1", "--key", f.Key.PubPath, "--insecure-ignore-tlog"}, f.base...)...)
	if r.code != pullercli.ExitDenied {
		t.Fatalf("credentials refused: %+v, want exit %d", r, pullercli.ExitDenied)
	}
	// The tag resolves, but its signatures cannot be read (the registry fails them): 8.
	f.pushSigned("app", "signed", true, map[string]string{"a.yaml": pcm("a", "1")})
	upstream, err := neturl.Parse("http://" + f.Reg.Host())
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(upstream)
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".sig") || strings.Contains(r.URL.Path, "/referrers/") {
			http.Error(w, "storage unavailable", http.StatusInternalServerError)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	defer flaky.Close()
	r = runPuller(t, t.Context(), f.env, append([]string{"sync", "--url", "oci://" + strings.TrimPrefix(flaky.URL, "http://") + "/app:signed", "--key", f.Key.PubPath, "--insecure-ignore-tlog"}, f.base...)...)
	if r.code != pullercli.ExitUnavailable {
		t.Fatalf("signatures unreadable: %+v, want exit %d", r, pullercli.ExitUnavailable)
	}
	cfg := filepath.Join(t.TempDir(), "puller.yaml")
	os.WriteFile(cfg, []byte("apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nsources:\n- name: a\n  url: "+url+"\n  insecureSkipVerify: true\n  prun: true\n"), 0o644)
	r = runPuller(t, t.Context(), f.env, append([]string{"sync", "--config", cfg}, f.base...)...)
	if r.code != pullercli.ExitUsage || !strings.Contains(r.err, "sources[0].prun: unknown field") {
		t.Fatalf("bad config: %+v", r)
	}
	// A key file that is not there is refused at start, before any sync.
	os.WriteFile(cfg, []byte("apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nsources:\n- name: a\n  url: "+url+"\n  verify: {keys: [/nonexistent/cosign.pub], insecureIgnoreTlog: true}\n"), 0o644)
	r = runPuller(t, t.Context(), f.env, append([]string{"sync", "--config", cfg}, f.base...)...)
	if r.code != pullercli.ExitUsage || !strings.Contains(r.err, "puller config "+cfg+": sources[0].verify.keys[0]") {
		t.Fatalf("missing key file: %+v", r)
	}
	// --namespace must be a namespace name, and the file is checked in it: a tenant
	// source whose targetNamespace is the puller's own is refused there too.
	r = runPuller(t, t.Context(), f.env, append(append([]string{"sync", "--config", cfg}, f.base...), "-n", "Bad_NS")...)
	if r.code != pullercli.ExitUsage || !strings.Contains(r.err, `--namespace "Bad_NS"`) {
		t.Fatalf("bad --namespace: %+v", r)
	}
	r = runPuller(t, t.Context(), f.env, append(append([]string{"sync", "--config", cfg}, f.base...), "--concurrency", "1000")...)
	if r.code != pullercli.ExitUsage || !strings.Contains(r.err, "--concurrency 1000: want 1 to 64") {
		t.Fatalf("--concurrency 1000: %+v", r)
	}
	os.WriteFile(cfg, []byte("apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\ndefaultServiceAccount: tenant\nsources:\n- name: a\n  url: "+url+"\n  targetNamespace: team-a\n  insecureSkipVerify: true\n"), 0o644)
	r = runPuller(t, t.Context(), f.env, append(append([]string{"sync", "--config", cfg}, f.base...), "-n", "team-a")...)
	if r.code != pullercli.ExitUsage || !strings.Contains(r.err, "sources[0].targetNamespace") || !strings.Contains(r.err, "the puller's own namespace") {
		t.Fatalf("--namespace of a tenant: %+v", r)
	}
}

func TestPullerSyncConfigAndRun(t *testing.T) {
	f := newPullerFixture(t)
	f.pushSigned("base", "v1", true, map[string]string{"ns.yaml": pcm("base", "1")})
	f.pushSigned("app", "v1", true, map[string]string{"a.yaml": pcm("a", "1")})
	cfg := filepath.Join(t.TempDir(), "puller.yaml")
	doc := fmt.Sprintf(`apiVersion: gitless.dev/v1alpha1
kind: PullerConfig
sources:
- name: app
  url: oci://%[1]s/app:v1
  verify: {keys: [%[2]s], insecureIgnoreTlog: true}
  dependsOn: [base]
  prune: true
  interval: 1s
- name: base
  url: oci://%[1]s/base:v1
  verify: {keys: [%[2]s], insecureIgnoreTlog: true}
  interval: 1s
`, f.Reg.Host(), f.Key.PubPath)
	os.WriteFile(cfg, []byte(doc), 0o644)
	r := runPuller(t, t.Context(), f.env, append([]string{"sync", "--config", cfg, "--once"}, f.base...)...)
	if r.code != 0 || strings.Index(r.out, "base: applied") > strings.Index(r.out, "app: applied") || strings.Index(r.out, "base: applied") < 0 {
		t.Fatalf("%+v", r)
	}

	// The daemon: ready once every source synced, metrics, stops on cancel.
	get, stop := f.runDaemon(cfg)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _ := get("/readyz"); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never ready: %+v", stop())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, body := get("/healthz"); code != 200 {
		t.Fatalf("healthz %d %s", code, body)
	}
	// Ready says every source synced once; the first poll that finds nothing new may
	// come a poll (1s) later.
	for {
		_, body := get("/metrics")
		if strings.Contains(body, `gitless_puller_syncs_total{outcome="UpToDate",source="app"}`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics:\n%s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := stop(); r.code != 0 {
		t.Fatalf("%+v", r)
	}
}

// runDaemon starts `gitless-puller run --config cfg` (with extra args) on a free
// loopback port; get requests one of its paths, stop cancels it and returns its result.
func (f *pullerFixture) runDaemon(cfg string, args ...string) (get func(path string) (int, string), stop func() result) {
	f.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(f.t.Context())
	done := make(chan result, 1)
	go func() {
		done <- runPuller(f.t, ctx, f.env, append(append([]string{"run", "--config", cfg, "--listen", addr}, args...), f.base...)...)
	}()
	get = func(path string) (int, string) { return pullertest.HTTPGet("http://" + addr + path) }
	stop = func() result {
		cancel()
		return <-done
	}
	return get, stop
}

// The puller's exit codes are the gitless CLI's (docs/cli.md).
func TestExitCodesMatchGitless(t *testing.T) {
	for _, c := range []struct {
		name      string
		puller, g int
	}{
		{"OK", pullercli.ExitOK, cli.ExitOK}, {"Error", pullercli.ExitError, cli.ExitError},
		{"Usage", pullercli.ExitUsage, cli.ExitUsage}, {"Denied", pullercli.ExitDenied, cli.ExitDenied},
		{"NotFound", pullercli.ExitNotFound, cli.ExitNotFound}, {"VerifyFailed", pullercli.ExitVerifyFailed, cli.ExitVerifyFailed},
		{"Unavailable", pullercli.ExitUnavailable, cli.ExitUnavailable},
	} {
		if c.puller != c.g {
			t.Errorf("Exit%s: gitless-puller %d, gitless %d", c.name, c.puller, c.g)
		}
	}
}

// The policy flags of gitless-puller sync are gitless verify's, with the same meaning.
func TestPolicyFlagsMatchGitlessVerify(t *testing.T) {
	var sync, verify map[string]string = map[string]string{}, map[string]string{}
	root := pullercli.NewCommand(pullercli.Env{Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }})
	s, _, err := root.Find([]string{"sync"})
	if err != nil {
		t.Fatal(err)
	}
	s.Flags().VisitAll(func(f *pflag.Flag) { sync[f.Name] = f.Value.Type() })
	groot := cli.NewGitlessCommand(cli.Env{Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }})
	v, _, err := groot.Find([]string{"verify"})
	if err != nil {
		t.Fatal(err)
	}
	v.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name == "policy" || f.Name == "key" || f.Name == "trusted-root" || f.Name == "match-revision" ||
			strings.HasPrefix(f.Name, "certificate-") || strings.HasPrefix(f.Name, "insecure-ignore") {
			verify[f.Name] = f.Value.Type()
		}
	})
	if len(verify) < 10 {
		t.Fatalf("gitless verify has only %d policy flags: %v", len(verify), verify)
	}
	for name, typ := range verify {
		if sync[name] != typ {
			t.Errorf("gitless verify --%s (%s): gitless-puller sync has %q", name, typ, sync[name])
		}
	}
}

// Every flag of gitless-puller sync is named in docs/puller-config.md, which lists them.
func TestSyncFlagsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/puller-config.md")
	if err != nil {
		t.Fatal(err)
	}
	root := pullercli.NewCommand(pullercli.Env{Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }})
	s, _, err := root.Find([]string{"sync"})
	if err != nil {
		t.Fatal(err)
	}
	s.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" || f.Name == "output" || f.Name == "once" {
			return
		}
		name := "`--" + f.Name
		if strings.HasSuffix(f.Name, "-regexp") { // written `--certificate-identity[-regexp]`
			name = "`--" + strings.TrimSuffix(f.Name, "-regexp") + "[-regexp]`"
		}
		if !strings.Contains(string(doc), name) {
			t.Errorf("docs/puller-config.md does not name sync's --%s", f.Name)
		}
	})
}

// Every flag of run and install is named in the puller's docs.
func TestRunAndInstallFlagsAreDocumented(t *testing.T) {
	var docs strings.Builder
	for _, p := range []string{"puller-config.md", "puller.md", "operations.md", "install.md"} {
		b, err := os.ReadFile("../../docs/" + p)
		if err != nil {
			t.Fatal(err)
		}
		docs.Write(b)
	}
	root := pullercli.NewCommand(pullercli.Env{Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }})
	for _, name := range []string{"run", "install"} {
		c, _, err := root.Find([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		c.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if f.Hidden || f.Name == "help" || f.Name == "output" {
				return
			}
			written := "`--" + f.Name
			if strings.HasSuffix(f.Name, "-regexp") { // written `--certificate-identity[-regexp]`
				written = "`--" + strings.TrimSuffix(f.Name, "-regexp") + "[-regexp]`"
			}
			if !strings.Contains(docs.String(), written) {
				t.Errorf("docs/{puller-config,puller,operations,install}.md do not name %s's --%s", name, f.Name)
			}
		})
	}
}

// install --config puts this machine's key files into the cluster, as the flags do: a
// key file becomes PEM in the configuration, a trusted root goes into the keys
// ConfigMap; paths below /etc/gitless/keys are the cluster's and stay.
func TestInstallFromAConfigFile(t *testing.T) {
	dir := t.TempDir()
	pem := "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
	os.WriteFile(filepath.Join(dir, "cosign.pub"), []byte(pem), 0o644)
	os.WriteFile(filepath.Join(dir, "root.json"), []byte(`{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}`), 0o644)
	cfg := filepath.Join(dir, "puller.yaml")
	write := func(keyA string) {
		os.WriteFile(cfg, []byte(`apiVersion: gitless.dev/v1alpha1
kind: PullerConfig
sources:
- name: a
  url: oci://ghcr.io/acme/a
  verify: {keys: [`+keyA+`]}
- name: b
  url: oci://ghcr.io/acme/b
  verify: {keys: [/etc/gitless/keys/b.pub], trustedRoot: `+filepath.Join(dir, "root.json")+`}
`), 0o644)
	}
	write(filepath.Join(dir, "cosign.pub"))
	r := runPuller(t, t.Context(), nil, "install", "--config", cfg, "--image", "example.com/puller:v1")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE", "/etc/gitless/keys/b.pub", "trustedRoot: /etc/gitless/keys/trusted_root-b.json", "trusted_root-b.json: ", "vnd.dev.sigstore.trustedroot"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the install lacks %q:\n%s", want, r.out)
		}
	}
	if strings.Contains(r.out, filepath.Join(dir, "cosign.pub")) || strings.Contains(r.out, filepath.Join(dir, "root.json")) {
		t.Errorf("a path of this machine went into the install:\n%s", r.out)
	}
	// A private key is never written into the install.
	priv := "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nSECRETBODY\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
	os.WriteFile(filepath.Join(dir, "cosign.key"), []byte(priv), 0o600)
	write(filepath.Join(dir, "cosign.key"))
	if r := runPuller(t, t.Context(), nil, "install", "--config", cfg); r.code != pullercli.ExitUsage || !strings.Contains(r.err, "a private key") || strings.Contains(r.out+r.err, "SECRETBODY") {
		t.Fatalf("a private key file: %+v", r)
	}
	if r := runPuller(t, t.Context(), nil, "install", "--source", "oci://ghcr.io/acme/fleet", "--key", filepath.Join(dir, "cosign.key")); r.code != pullercli.ExitUsage || strings.Contains(r.out+r.err, "SECRETBODY") {
		t.Fatalf("--key with a private key: %+v", r)
	}
	write(`"` + strings.ReplaceAll(priv, "\n", `\n`) + `"`)
	if r := runPuller(t, t.Context(), nil, "install", "--config", cfg); r.code != pullercli.ExitUsage || strings.Contains(r.out+r.err, "SECRETBODY") {
		t.Fatalf("a private key inline: %+v", r)
	}
	write("missing.pub")
	if r := runPuller(t, t.Context(), nil, "install", "--config", cfg); r.code != pullercli.ExitUsage || !strings.Contains(r.err, "sources[0].verify.keys[0] missing.pub") {
		t.Fatalf("a key file that is not there: %+v", r)
	}
	// An absolute path that is not on this machine is the cluster's (a volume of its own):
	// left, with a warning.
	write("/etc/gitless/cosign.pub")
	if r := runPuller(t, t.Context(), nil, "install", "--config", cfg); r.code != 0 || !strings.Contains(r.out, "- /etc/gitless/cosign.pub") || !strings.Contains(r.err, "Warning: "+cfg+": sources[0].verify.keys[0] /etc/gitless/cosign.pub is not on this machine") {
		t.Fatalf("a cluster path: %+v", r)
	}
}

// run gives the Go runtime nine tenths of the container's memory limit (what the install
// passes in GITLESS_MEMORY_LIMIT) as its soft limit; GOMEMLIMIT, when set, wins; a
// value that is no byte count is a usage error.
func TestRunSetsTheSoftMemoryLimit(t *testing.T) {
	f := newPullerFixture(t)
	f.pushSigned("app", "v1", true, map[string]string{"a.yaml": pcm("a", "1")})
	cfg := filepath.Join(t.TempDir(), "puller.yaml")
	doc := fmt.Sprintf("apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nsources:\n- name: app\n  url: oci://%s/app:v1\n  verify: {keys: [%s], insecureIgnoreTlog: true}\n", f.Reg.Host(), f.Key.PubPath)
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })

	f.env["GITLESS_MEMORY_LIMIT"] = "1000000000"
	get, stop := f.runDaemon(cfg)
	pullertest.WaitUntil(t, 30*time.Second, "ready", func() bool { code, _ := get("/readyz"); return code == 200 })
	if got := debug.SetMemoryLimit(-1); got != 900000000 {
		t.Errorf("soft memory limit %d, want 900000000", got)
	}
	if r := stop(); r.code != 0 || !strings.Contains(r.err, "soft memory limit 858 MiB") {
		t.Fatalf("%+v", r)
	}

	f.env["GITLESS_MEMORY_LIMIT"] = "1Gi"
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second) // ends a run that starts anyway
	defer cancel()
	if r := runPuller(t, ctx, f.env, append([]string{"run", "--config", cfg, "--listen", "127.0.0.1:0"}, f.base...)...); r.code != 2 || !strings.Contains(r.err, "GITLESS_MEMORY_LIMIT") {
		t.Fatalf("a limit that is no byte count: %+v", r)
	}
}

// A source with suspend: true in the configuration is reported suspended, in text as in
// JSON, and nothing of it is applied.
func TestPullerSyncSuspendedSource(t *testing.T) {
	f := newPullerFixture(t)
	f.pushSigned("app", "v1", true, map[string]string{"a.yaml": pcm("a", "1")})
	cfg := f.config(t, f.SourceYAML("app", "app", "v1", "  suspend: true\n"))
	r := runPuller(t, t.Context(), f.env, append([]string{"sync", "--config", cfg}, f.base...)...)
	if r.code != 0 || r.out != "app: suspended\n" {
		t.Fatalf("%+v", r)
	}
	r = runPuller(t, t.Context(), f.env, append([]string{"sync", "--config", cfg, "-o", "json"}, f.base...)...)
	if r.code != 0 || !strings.Contains(r.out, `"outcome": "Suspended"`) || f.CMData("a", "k") != "<absent>" {
		t.Fatalf("%+v", r)
	}
}
