package actions_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// The GitLab template, included with inputs and run by gitlab-ci-local, pushes to the
// project's registry (CI_REGISTRY_IMAGE/manifests) with CI_REGISTRY_USER/PASSWORD, signs
// with a key the stock cosign CLI verifies, hands GITLESS_DIGEST/URL/PUSHED to a later
// stage through its dotenv report, and pushes nothing on a second run with diff-tag. A
// second include pushes with the username and password inputs, which never appear on a
// command line or in the log, and hands args to gitless split but not glob-expanded.
func TestGitLabTemplate(t *testing.T) {
	bin := gitlessDir(t)
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthBasic})
	key, password, pub := keyPair(t, bin)
	repoFiles := files(t, filepath.Join(ci.Root(), "examples", "podinfo"), "deploy")
	repoFiles[".gitlab-ci.yml"] = testdata(t, "gitlab-ci.yml")
	repoFiles["README.md"] = "# app\n"
	repoFiles["deploy/NOTES.md"] = "not a manifest\n"
	repo := ci.NewRepo(t, repoFiles, "actions")
	out := filepath.Join(t.TempDir(), "outputs")
	opts := ci.GitLabOptions{
		Path: []string{bin},
		Variables: map[string]string{
			"CI_REGISTRY": reg.Host(), "CI_REGISTRY_USER": reg.Username, "CI_REGISTRY_PASSWORD": reg.Password,
			"COSIGN_PRIVATE_KEY": key, "COSIGN_PASSWORD": password, "GITLESS_TEST_OUT": out,
			"FILES_USER": reg.Username, "FILES_PASSWORD": reg.Password,
		},
	}
	res := ci.RunGitLab(t, repo.Dir, opts)
	if res.Code != 0 {
		t.Fatalf("gitlab-ci-local: exit %d\n%s", res.Code, res.Log)
	}
	if strings.Contains(res.Log, reg.Password) || strings.Contains(res.Log, password) {
		t.Error("a secret reached the job log")
	}
	got := readKV(t, out)
	repoURL := "oci://" + reg.Host() + "/acme/app/manifests" // CI_REGISTRY_IMAGE from the origin remote
	digest := got["digest"]
	if !strings.HasPrefix(digest, "sha256:") || got["url"] != repoURL+"@"+digest || got["pushed"] != "true" {
		t.Fatalf("dotenv %v, want GITLESS_DIGEST, GITLESS_URL=%s@DIGEST and GITLESS_PUSHED=true\n%s", got, repoURL, res.Log)
	}
	creds := reg.Username + ":" + reg.Password
	head := repo.Head(t)
	for _, tag := range []string{"latest", head[:8]} {
		in, code := inspect(t, bin, repoURL+":"+tag, creds)
		if code != 0 || in.Digest != digest || in.Metadata.Annotations["dev.gitless.test/team"] != "platform" {
			t.Fatalf("%s: exit %d %+v, want digest %s with the annotation", tag, code, in, digest)
		}
	}
	cosignVerify(t, got["url"], reg.Host(), reg.Username, reg.Password, pub)
	filesOut, errs, code := gitless(t, bin, nil, "inspect", "oci://"+reg.Host()+"/acme/app/files:"+head[:8], "--files", "--creds", creds)
	if code != 0 || !strings.Contains(filesOut, "kustomization.yaml") || strings.Contains(filesOut, "NOTES.md") {
		t.Errorf("the files artifact: exit %d %s, want deploy/ without NOTES.md (args --ignore *.md)\n%s", code, errs, filesOut)
	}
	if strings.Contains(res.Log, "--creds") {
		t.Errorf("the username and password inputs went on a command line:\n%s", res.Log)
	}

	repo.Write(t, map[string]string{"README.md": "# app, v2\n"})
	head = repo.Commit(t, "docs")
	res = ci.RunGitLab(t, repo.Dir, opts)
	if res.Code != 0 {
		t.Fatalf("second run: exit %d\n%s", res.Code, res.Log)
	}
	if again := readKV(t, out); again["pushed"] != "false" || again["digest"] != digest {
		t.Fatalf("second run: %v, want GITLESS_PUSHED=false and the first digest", again)
	}
	if _, code := inspect(t, bin, repoURL+":"+head[:8], creds); code != 6 {
		t.Errorf("the second run created the tag %s (inspect exit %d)", head[:8], code)
	}
}

// Without the project's registry (CI_REGISTRY* unset: the container registry disabled),
// the job fails at once saying so, before gitless runs.
func TestGitLabTemplateWithoutRegistry(t *testing.T) {
	bin := gitlessDir(t)
	repoFiles := files(t, filepath.Join(ci.Root(), "examples", "podinfo"), "deploy")
	repoFiles[".gitlab-ci.yml"] = "include:\n  - local: actions/gitlab/gitless.yml\n    inputs: {path: deploy, sign: none}\n"
	repo := ci.NewRepo(t, repoFiles, "actions")
	res := ci.RunGitLab(t, repo.Dir, ci.GitLabOptions{
		Path:  []string{bin},
		Unset: []string{"CI_REGISTRY", "CI_REGISTRY_IMAGE", "CI_REGISTRY_USER", "CI_REGISTRY_PASSWORD"},
	})
	want := "has no registry: CI_REGISTRY_IMAGE is empty (is the project's container registry enabled?)"
	if res.Code == 0 || !strings.Contains(res.Log, want) || strings.Contains(res.Log, "> gitless push oci") {
		t.Fatalf("gitlab-ci-local: exit %d, want a failure saying %q before gitless push:\n%s", res.Code, want, res.Log)
	}
}

// A signing-key input of env://NAME whose NAME is not a variable name is refused before
// the shell evaluates it: it cannot run commands in the job.
func TestGitLabTemplateRefusesAKeyVariableThatIsNotAName(t *testing.T) {
	bin := gitlessDir(t)
	marker := filepath.Join(t.TempDir(), "pwned")
	repoFiles := files(t, filepath.Join(ci.Root(), "examples", "podinfo"), "deploy")
	repoFiles[".gitlab-ci.yml"] = "include:\n  - local: actions/gitlab/gitless.yml\n    inputs:\n      path: deploy\n      repository: oci://127.0.0.1:9/x\n      username: u\n      password: p\n      sign: key\n" +
		"      signing-key: 'env://X:-}\" ]; touch " + marker + "; [ \"'\n"
	repo := ci.NewRepo(t, repoFiles, "actions")
	res := ci.RunGitLab(t, repo.Dir, ci.GitLabOptions{Path: []string{bin}})
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the signing-key input ran a command in the job:\n%s", res.Log)
	}
	if want := "is not a variable name"; res.Code == 0 || !strings.Contains(res.Log, want) {
		t.Fatalf("gitlab-ci-local: exit %d, want a failure saying %q:\n%s", res.Code, want, res.Log)
	}
}

// A key pasted where its path belongs (signing-key: $COSIGN_PRIVATE_KEY of a variable
// that is not a File variable) is refused without being quoted: GitLab cannot mask a
// multi-line variable.
func TestGitLabTemplateNeverQuotesAKeyGivenAsItsPath(t *testing.T) {
	bin := gitlessDir(t)
	repoFiles := files(t, filepath.Join(ci.Root(), "examples", "podinfo"), "deploy")
	repoFiles[".gitlab-ci.yml"] = "include:\n  - local: actions/gitlab/gitless.yml\n    inputs:\n      path: deploy\n      repository: oci://127.0.0.1:9/x\n      username: u\n      password: p\n      sign: key\n" +
		"      signing-key: \"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\\nSECRETBODY\\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\"\n"
	repo := ci.NewRepo(t, repoFiles, "actions")
	res := ci.RunGitLab(t, repo.Dir, ci.GitLabOptions{Path: []string{bin}})
	if res.Code == 0 || strings.Contains(res.Log, "SECRETBODY") || !strings.Contains(res.Log, "holds a key itself") {
		t.Fatalf("gitlab-ci-local: exit %d:\n%s", res.Code, res.Log)
	}
}

// Credentials passed in args are hidden in the logged command however the args are split
// (a newline or a tab between --creds and its value), and a moving-tags input of only
// white space means no tag moves (--moving-tag= replaces gitless's default, latest).
func TestGitLabTemplateHidesCredentialsInArgs(t *testing.T) {
	bin := gitlessDir(t)
	repoFiles := files(t, filepath.Join(ci.Root(), "examples", "podinfo"), "deploy")
	repoFiles[".gitlab-ci.yml"] = "include:\n  - local: actions/gitlab/gitless.yml\n    inputs:\n      path: deploy\n      repository: oci://127.0.0.1:9/x\n      username: u\n      password: p\n      sign: none\n" +
		"      moving-tags: \"\\t\"\n      args: \"--ignore *.md\\n--creds\\nu:hunter2\\t--identity-token=hunter3\"\n"
	repo := ci.NewRepo(t, repoFiles, "actions")
	res := ci.RunGitLab(t, repo.Dir, ci.GitLabOptions{Path: []string{bin}})
	if res.Code == 0 { // nothing listens on port 9
		t.Fatalf("gitlab-ci-local: exit 0, want the push to fail:\n%s", res.Log)
	}
	if strings.Contains(res.Log, "hunter2") || strings.Contains(res.Log, "hunter3") {
		t.Errorf("a credential in args reached the log:\n%s", res.Log)
	}
	for _, want := range []string{"--creds <hidden>", "--identity-token=<hidden>", "--moving-tag= ", "--ignore *.md"} {
		if !strings.Contains(res.Log, want) {
			t.Errorf("the logged command lacks %q:\n%s", want, res.Log)
		}
	}
}
