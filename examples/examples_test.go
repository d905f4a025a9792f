// Package examples_test runs every example the way its users would: its CI file by the
// real runner (nektos/act for GitHub Actions, gitlab-ci-local for GitLab CI) pushing to a
// test registry with token auth, then its puller configuration syncing the artifact into
// a real kube-apiserver.
//
// The examples name ghcr.io, registry.gitlab.com, the public Sigstore and released
// actions; the tests change only that: the registry hosts become the test registry's (so
// the push action is given the workflow's token as its password, which on its own it
// sends to ghcr.io only),
// `uses: gitless-dev/gitless/actions/X@REF` becomes `./actions/X` (and setup is told the
// version of the gitless on PATH), the GitLab template's remote include becomes a local
// one, keyless signing goes to a local Sigstore (sigstoretest) whose issuer is GitHub's,
// so the examples' identity policies are checked as written, and key paths point at the
// keys the test made.
package examples_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/gitless-dev/gitless/internal/pullercli"
	"github.com/gitless-dev/gitless/internal/testenv/ci"
	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/internal/testenv/sigstoretest"
	"github.com/gitless-dev/gitless/puller/config"
)

const testVersion = "v0.0.0-examples"

var kubeEnv *kube.Env

func TestMain(m *testing.M) {
	code := kube.Main(m, &kubeEnv)
	ci.Cleanup()
	os.Exit(code)
}

// fixture is one example's world: a token-auth registry whose user pushes (CI) and whose
// read-only user pulls (the puller's pull secret), the gitless release on PATH, a cluster.
type fixture struct {
	t        *testing.T
	reg      *registry.Registry
	reader   string // the read-only user's password
	bin      string // directory of the gitless binaries
	kube     *kube.Env
	pullerNS string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, reader: "read-only-" + strings.Repeat("x", 8)}
	f.reg = registry.NewT(t, registry.Options{Auth: registry.AuthToken, Username: "acme-bot", ReadOnlyUsername: "puller", ReadOnlyPassword: f.reader})
	f.bin = ci.Release(t, testVersion, ci.ReleaseOptions{}).BinDir(runtime.GOOS, runtime.GOARCH)
	f.kube = kubeEnv.Use(t)
	f.pullerNS = f.kube.Namespace(t, "gitless")
	return f
}

// repo makes a git repository of the example directory (its CI files included) with the
// actions beside it.
func (f *fixture) repo(dir string, extra map[string]string) *ci.Repo {
	f.t.Helper()
	files := map[string]string{}
	root := filepath.Join(ci.Root(), "examples", dir)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	for k, v := range extra {
		files[k] = v
	}
	return ci.NewRepo(f.t, files, "actions")
}

var (
	usesSetup = regexp.MustCompile(`(?m)^(\s*)- uses: gitless-dev/gitless/actions/setup@\S+$`)
	usesPush  = regexp.MustCompile(`(?m)^(\s*)uses: gitless-dev/gitless/actions/push@\S+\n(\s*)with:\n`)
)

// localize rewrites a GitHub workflow of an example for the test (see the package doc).
func (f *fixture) localize(t *testing.T, wf, pushArgs string) string {
	t.Helper()
	out := usesSetup.ReplaceAllString(wf, "$1- uses: ./actions/setup\n$1  with: {version: "+testVersion+"}")
	out = usesPush.ReplaceAllString(out, "${1}uses: ./actions/push\n${2}with:\n${2}  args: "+pushArgs+"\n${2}  password: ${{ github.token }}\n")
	if out == wf || !strings.Contains(out, "./actions/push") {
		t.Fatal("the workflow does not use gitless-dev/gitless/actions/push@REF with inputs")
	}
	return strings.ReplaceAll(out, "ghcr.io", f.reg.Host())
}

// keyless returns a private Sigstore handing GitHub-like tokens of claims to the job, the
// act environment that makes them reachable, the push arguments that sign with it and the
// trusted root to verify with.
func keyless(t *testing.T, claims sigstoretest.GitHubClaims) (env map[string]string, pushArgs, root string) {
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	url, tok := ss.ActionsTokenEndpoint(t, ss.GitHubToken(claims))
	root = ss.WriteTrustedRoot(t, sigstoretest.RootOptions{})
	return map[string]string{"ACTIONS_ID_TOKEN_REQUEST_URL": url, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": tok},
		"--fulcio-url " + ss.FulcioURL + " --rekor-url " + ss.RekorURL + " --trusted-root " + root, root
}

// act runs the workflow of the repository with the registry's pushing user as the actor
// and its password as GITHUB_TOKEN.
func (f *fixture) act(repo *ci.Repo, workflow, repository, event string, env map[string]string) ci.Result {
	f.t.Helper()
	e := map[string]string{"GITHUB_REPOSITORY": repository, "GITHUB_REPOSITORY_OWNER": strings.Split(repository, "/")[0]}
	for k, v := range env {
		e[k] = v
	}
	res := ci.RunAct(f.t, repo.Dir, ci.ActOptions{
		Workflow:  workflow,
		EventJSON: event,
		Path:      []string{f.bin},
		Env:       e,
		Secrets:   map[string]string{"GITHUB_TOKEN": f.reg.Password},
	})
	if res.Code != 0 {
		f.t.Fatalf("act %s: exit %d\n%s", workflow, res.Code, res.Log)
	}
	return res
}

// gitlab runs the repository's .gitlab-ci.yml (its remote include of the template made
// local) with the project's registry variables and a cosign key.
func (f *fixture) gitlab(repo *ci.Repo, vars map[string]string) ci.Result {
	f.t.Helper()
	v := map[string]string{"CI_REGISTRY": f.reg.Host(), "CI_REGISTRY_USER": f.reg.Username, "CI_REGISTRY_PASSWORD": f.reg.Password}
	for k, x := range vars {
		v[k] = x
	}
	res := ci.RunGitLab(f.t, repo.Dir, ci.GitLabOptions{Path: []string{f.bin}, Variables: v})
	if res.Code != 0 {
		f.t.Fatalf("gitlab-ci-local: exit %d\n%s", res.Code, res.Log)
	}
	return res
}

var remoteInclude = regexp.MustCompile(`remote: https://raw\.githubusercontent\.com/gitless-dev/gitless/\S+/actions/gitlab/gitless\.yml`)

func localizeGitLab(t *testing.T, file string) string {
	t.Helper()
	out := remoteInclude.ReplaceAllString(file, "local: actions/gitlab/gitless.yml")
	if out == file {
		t.Fatal("the pipeline does not include the gitless template remotely")
	}
	return out
}

// cosignKey makes a key pair with the gitless under test; it returns the private key's PEM,
// its password and the directory holding NAME.pub.
func (f *fixture) cosignKey(name string) (private, password, dir string) {
	f.t.Helper()
	dir = f.t.TempDir()
	password = "pw-" + name
	cmd := exec.Command(filepath.Join(f.bin, "gitless"), "key", "generate", "--output-key-prefix", filepath.Join(dir, name))
	cmd.Env = []string{"COSIGN_PASSWORD=" + password, "HOME=" + f.t.TempDir()}
	if out, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("key generate: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".key"))
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b), password, dir
}

// sync runs `gitless-puller sync` on the example's puller configuration, with the
// registry hosts made the test registry's, key paths made keyDir's, and trustedRoot added
// to keyless policies; the pull secrets it names are made with the read-only user.
// It returns each source's outcome, failing the test unless the sync succeeded.
func (f *fixture) sync(configFile, keyDir, trustedRoot string) map[string]string {
	f.t.Helper()
	outcomes, code, log := f.trySync(configFile, keyDir, trustedRoot)
	if code != 0 {
		f.t.Fatalf("gitless-puller sync %s: exit %d\n%s", configFile, code, log)
	}
	return outcomes
}

// trySync is sync that returns the exit code and output instead of failing.
func (f *fixture) trySync(configFile, keyDir, trustedRoot string) (map[string]string, int, string) {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(ci.Root(), "examples", configFile))
	if err != nil {
		f.t.Fatal(err)
	}
	cfg := strings.NewReplacer("ghcr.io", f.reg.Host(), "registry.gitlab.com", f.reg.Host()).Replace(string(b))
	if keyDir != "" {
		cfg = strings.ReplaceAll(cfg, "/etc/gitless/keys/", keyDir+"/")
	}
	if trustedRoot != "" {
		cfg = strings.ReplaceAll(cfg, "\n  verify:\n", "\n  verify:\n    trustedRoot: "+trustedRoot+"\n")
	}
	// Each pull secret where the source reads it: its namespace (a tenant's source reads
	// its own, as the tenant), as the platform would have made it.
	if c, err := config.Parse([]byte(cfg), config.Namespaces{Default: f.pullerNS}); err == nil {
		for _, s := range c.Sources {
			if s.PullSecret == "" {
				continue
			}
			id, err := c.Tenancy().Identity(s, c.Namespace)
			if err != nil {
				f.t.Fatalf("%s: source %s: %v", configFile, s.Name, err)
			}
			f.pullSecret(id.Namespace, s.PullSecret)
		}
	}
	path := filepath.Join(f.t.TempDir(), "puller.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		f.t.Fatal(err)
	}
	var out, errb strings.Builder
	env := pullercli.Env{Out: &out, Err: &errb, Getenv: func(k string) string {
		if k == "HOME" {
			return f.t.TempDir()
		}
		return ""
	}}
	code := pullercli.Main(f.t.Context(), pullercli.NewCommand(env),
		[]string{"sync", "--config", path, "--kubeconfig", f.kube.KubeconfigPath(), "-n", f.pullerNS, "-o", "json"}, env)
	var res struct {
		Results []struct{ Source, Outcome, Signer, Error string }
	}
	log := out.String() + errb.String() + "\nconfig:\n" + cfg
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		return nil, code, log
	}
	outcomes := map[string]string{}
	for _, r := range res.Results {
		outcomes[r.Source] = r.Outcome
	}
	return outcomes, code, log
}

// pullSecret makes the kubernetes.io/dockerconfigjson Secret name in namespace ns with
// the read-only user, as `kubectl create secret docker-registry` would.
func (f *fixture) pullSecret(ns, name string) {
	f.t.Helper()
	kubectl := ci.Peer(f.t, "kubectl")
	cmd := exec.Command(kubectl, "--kubeconfig", f.kube.KubeconfigPath(), "-n", ns, "create", "secret", "docker-registry", name,
		"--docker-server="+f.reg.Host(), "--docker-username=puller", "--docker-password="+f.reader)
	if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "already exists") {
		f.t.Fatalf("kubectl create secret: %v\n%s", err, out)
	}
}

func (f *fixture) kubectl(args ...string) string {
	f.t.Helper()
	cmd := exec.Command(ci.Peer(f.t, "kubectl"), append([]string{"--kubeconfig", f.kube.KubeconfigPath()}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		f.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// get reads an object's field with the dynamic client ("" when the object is missing).
func (f *fixture) get(gvr schema.GroupVersionResource, ns, name string, fields ...string) string {
	f.t.Helper()
	dyn, err := dynamic.NewForConfig(f.kube.Config())
	if err != nil {
		f.t.Fatal(err)
	}
	obj, err := dyn.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	v, _, _ := unstructuredString(obj.Object, fields...)
	return v
}

func unstructuredString(obj map[string]any, fields ...string) (string, bool, error) {
	var cur any = obj
	for _, f := range fields {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[f]
	}
	b, err := json.Marshal(cur)
	return strings.Trim(string(b), `"`), cur != nil, err
}

var (
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	configMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	services    = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	cronJobs    = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}
	gateways    = schema.GroupVersionResource{Group: "fleet.example.com", Version: "v1", Resource: "gateways"}
)
