package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/npm"
	"github.com/gitless-dev/gitless/internal/testenv/sigstoretest"
)

const mainEvent = `{"ref": "refs/heads/main"}`

// Tanka → GitHub Actions → ghcr.io: the workflow renders environments/prod, pushes and
// signs keylessly; the puller, trusting only that workflow on main, applies it.
func TestTankaGitHub(t *testing.T) {
	f := newFixture(t)
	repo := f.repo("tanka", nil)
	env, args, root := keyless(t, sigstoretest.GitHubClaims{Repository: "acme/web", Ref: "refs/heads/main", SHA: repo.Head(t),
		Workflow: "manifests", JobWorkflowRef: "acme/web/.github/workflows/manifests.yml@refs/heads/main"})
	wf := ".github/workflows/manifests.yml"
	b, _ := os.ReadFile(filepath.Join(repo.Dir, wf))
	repo.Write(t, map[string]string{wf: f.localize(t, string(b), args)})
	repo.Commit(t, "localize")
	res := f.act(repo, wf, "acme/web", mainEvent, env)
	if !strings.Contains(res.Log, "manifests oci://"+f.reg.Host()+"/acme/web-manifests@sha256:") || !strings.Contains(res.Log, "(pushed true)") {
		t.Fatalf("the workflow did not push:\n%s", res.Log)
	}
	f.kubectl("create", "namespace", "prod") // the environment's spec.namespace, made by the platform
	if got := f.sync("tanka/puller.yaml", "", root); got["web"] != "Applied" {
		t.Fatalf("sync: %v", got)
	}
	if r := f.get(deployments, "prod", "web", "spec", "replicas"); r != "3" {
		t.Errorf("Deployment prod/web replicas %q, want 3", r)
	}
	if f.get(services, "prod", "web", "metadata", "name") == "" || f.get(configMaps, "prod", "web-config", "data", "LOG_LEVEL") != "info" {
		t.Error("Service prod/web or ConfigMap prod/web-config missing")
	}
}

// cdk8s → GitLab CI: a node job synthesizes the app, the template's job (extended to need
// it) packages dist/ into $CI_REGISTRY_IMAGE/manifests signed with the project's key; the
// puller with the read-only deploy token applies it.
func TestCDK8sGitLab(t *testing.T) {
	f := newFixture(t)
	nm := npm.CDK8sNodeModules(t)
	repo := f.repo("cdk8s", nil)
	repo.SetOrigin(t, "https://gitlab.example.invalid/acme/web.git")
	b, _ := os.ReadFile(filepath.Join(repo.Dir, ".gitlab-ci.yml"))
	repo.Write(t, map[string]string{".gitlab-ci.yml": localizeGitLab(t, string(b))})
	// The synth job's cache of node_modules, as a later pipeline would have it: the
	// packages the tests install offline (hack/npm-deps.sh cdk8s).
	if err := os.Symlink(nm, filepath.Join(repo.Dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	repo.ForceAdd(t, "node_modules")
	repo.Commit(t, "localize")
	key, password, keys := f.cosignKey("cosign")
	res := f.gitlab(repo, map[string]string{"COSIGN_PRIVATE_KEY": key, "COSIGN_PASSWORD": password})
	if !strings.Contains(res.Log, "manifests oci://"+f.reg.Host()+"/acme/web/manifests@sha256:") {
		t.Fatalf("the pipeline did not announce the push:\n%s", res.Log)
	}
	if got := f.sync("cdk8s/puller.yaml", keys, ""); got["cdk8s-web"] != "Applied" {
		t.Fatalf("sync: %v", got)
	}
	if r := f.get(deployments, "cdk8s-demo", "web", "spec", "replicas"); r != "2" {
		t.Errorf("Deployment cdk8s-demo/web replicas %q, want 2", r)
	}
	if f.get(configMaps, "cdk8s-demo", "web-settings", "data", "GREETING") != "hello from cdk8s" {
		t.Error("ConfigMap cdk8s-demo/web-settings missing")
	}
}

// The layered fleet: a push to main gives main-<sha8> and latest, which the staging puller
// applies layer after layer (the Gateway CRD, then a Gateway, then the shop); a v1.0.0 tag
// gives v1.0.0 and latest-stable, which the production puller applies, trusting only tag
// builds: the main build's signature does not satisfy it.
func TestFleet(t *testing.T) {
	f := newFixture(t)
	repo := f.repo("fleet", nil)
	wf := ".github/workflows/fleet.yml"
	src, _ := os.ReadFile(filepath.Join(repo.Dir, wf))
	claims := sigstoretest.GitHubClaims{Repository: "acme/fleet", Ref: "refs/heads/main", SHA: repo.Head(t), Workflow: "fleet",
		JobWorkflowRef: "acme/fleet/.github/workflows/fleet.yml@refs/heads/main"}
	env, args, root := keyless(t, claims)
	repo.Write(t, map[string]string{wf: f.localize(t, string(src), args)})
	head := repo.Commit(t, "localize")
	f.act(repo, wf, "acme/fleet", mainEvent, env)
	creds := f.reg.Username + ":" + f.reg.Password
	fleet := "oci://" + f.reg.Host() + "/acme/fleet"
	if d1, d2 := digestOf(t, f.bin, fleet+":main-"+head[:8], creds), digestOf(t, f.bin, fleet+":latest", creds); d1 == "" || d1 != d2 {
		t.Fatalf("main-%s is %q and latest %q: want the same artifact", head[:8], d1, d2)
	}
	got := f.sync("fleet/puller/staging.yaml", "", root)
	for _, s := range []string{"infra-controllers", "infra-configs", "apps"} {
		if got[s] != "Applied" {
			t.Fatalf("staging sync: %v", got)
		}
	}
	if h := f.get(gateways, "fleet-system", "shop", "spec", "hostname"); h != "shop.staging.example.com" {
		t.Errorf("staging Gateway hostname %q", h)
	}
	if r := f.get(deployments, "shop", "shop", "spec", "replicas"); r != "1" {
		t.Errorf("staging shop replicas %q, want 1", r)
	}

	// Production is another cluster, with its own puller.
	f.kube = kube.NewT(t)
	f.pullerNS = f.kube.Namespace(t, "gitless")
	// Someone points latest-stable at the main build by hand: production refuses it, its
	// policy trusts only tag builds (exit 7: verification failed, nothing applied).
	tag := exec.Command(filepath.Join(f.bin, "gitless"), "tag", fleet+":main-"+head[:8], "--tag", "latest-stable", "--creds", creds)
	tag.Env = []string{"HOME=" + t.TempDir()}
	if out, err := tag.CombinedOutput(); err != nil {
		t.Fatalf("gitless tag: %v\n%s", err, out)
	}
	if _, code, log := f.trySync("fleet/puller/production.yaml", "", root); code != 7 || !strings.Contains(log, "refs/heads/main") {
		t.Fatalf("production synced a main build: exit %d, want 7 (verification failed)\n%.3000s", code, log)
	}

	// The release: a v1.0.0 tag on the same commit, signed by the tag's workflow run.
	claims.Ref = "refs/tags/v1.0.0"
	claims.JobWorkflowRef = "acme/fleet/.github/workflows/fleet.yml@refs/tags/v1.0.0"
	env, args, root2 := keyless(t, claims)
	repo.Write(t, map[string]string{wf: f.localize(t, string(src), args)})
	repo.Commit(t, "localize for the tag run")
	f.act(repo, wf, "acme/fleet", `{"ref": "refs/tags/v1.0.0"}`, env)
	if d1, d2 := digestOf(t, f.bin, fleet+":v1.0.0", creds), digestOf(t, f.bin, fleet+":latest-stable", creds); d1 == "" || d1 != d2 {
		t.Fatalf("v1.0.0 is %q and latest-stable %q: want the same artifact", d1, d2)
	}
	got = f.sync("fleet/puller/production.yaml", "", root2)
	if got["apps"] != "Applied" {
		t.Fatalf("production sync: %v", got)
	}
	if r := f.get(deployments, "shop", "shop", "spec", "replicas"); r != "3" {
		t.Errorf("production shop replicas %q, want 3", r)
	}
}

// Per-team GitLab repositories: each team's pipeline pushes its own artifact to its own
// registry path (a pipeline of another branch pushes nothing); the platform's puller
// applies each into the team's namespace as the team's service account, verified with the
// team's key.
func TestTeams(t *testing.T) {
	f := newFixture(t)
	keyDir := t.TempDir()
	for _, team := range []string{"team-a", "team-b"} {
		repo := f.repo("teams/"+team, nil)
		repo.SetOrigin(t, "https://gitlab.example.invalid/acme/"+team+".git")
		b, _ := os.ReadFile(filepath.Join(repo.Dir, ".gitlab-ci.yml"))
		repo.Write(t, map[string]string{".gitlab-ci.yml": localizeGitLab(t, string(b))})
		repo.Commit(t, "localize")
		key, password, dir := f.cosignKey(team)
		if team == "team-a" {
			res := f.gitlab(repo, map[string]string{"COSIGN_PRIVATE_KEY": key, "COSIGN_PASSWORD": password, "CI_COMMIT_BRANCH": "feature", "CI_COMMIT_REF_NAME": "feature"})
			if strings.Contains(res.Log, "gitless push oci://") {
				t.Fatalf("a pipeline of the branch feature pushed:\n%s", res.Log)
			}
		}
		pub, err := os.ReadFile(filepath.Join(dir, team+".pub"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(keyDir, team+".pub"), pub, 0o644); err != nil {
			t.Fatal(err)
		}
		f.gitlab(repo, map[string]string{"COSIGN_PRIVATE_KEY": key, "COSIGN_PASSWORD": password})
	}
	f.kubectl("apply", "-f", filepath.Join(ci.Root(), "examples", "teams", "platform", "tenants.yaml"))
	got := f.sync("teams/platform/puller.yaml", keyDir, "")
	if got["team-a"] != "Applied" || got["team-b"] != "Applied" {
		t.Fatalf("sync: %v", got)
	}
	if f.get(deployments, "team-a", "storefront", "metadata", "name") == "" || f.get(cronJobs, "team-b", "invoices", "spec", "schedule") != "0 2 * * *" {
		t.Error("the teams' objects are not in their namespaces")
	}
}
