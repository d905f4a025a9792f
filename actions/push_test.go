package actions_test

import (
	"encoding/base64"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// The push action, run by nektos/act as GitHub would run a user's workflow, pushes to a
// registry with basic auth, signs with a cosign key that the stock cosign CLI verifies,
// passes every line of args on, sets its outputs, and on a second run whose content did
// not change (diff-tag: latest) pushes, tags and signs nothing. Without a password, on a
// registry other than ghcr.io, it takes the runner's docker config and never hands the
// workflow's GITHUB_TOKEN to that registry.
func TestPushAction(t *testing.T) {
	bin := gitlessDir(t)
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthBasic})
	creds := reg.Username + ":" + reg.Password
	key, password, pub := keyPair(t, bin)
	repoFiles := files(t, filepath.Join(ci.Root(), "examples", "podinfo"), "deploy")
	repoFiles[".github/workflows/push.yml"] = testdata(t, "push.yml")
	repo := ci.NewRepo(t, repoFiles, "actions")
	out := filepath.Join(t.TempDir(), "outputs")
	dockerConfig := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(creds))
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(`{"auths":{"`+reg.Host()+`":{"auth":"`+auth+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	githubToken := secret(t) // not a credential of this registry
	opts := ci.ActOptions{
		Workflow: ".github/workflows/push.yml",
		Path:     []string{bin},
		Env:      map[string]string{"GITLESS_TEST_OUT": out},
		Vars:     map[string]string{"REGISTRY": reg.Host(), "REGISTRY_USER": reg.Username, "BUILD": "1", "DOCKER_CONFIG": dockerConfig},
		Secrets:  map[string]string{"REGISTRY_PASSWORD": reg.Password, "COSIGN_PRIVATE_KEY": key, "COSIGN_PASSWORD": password, "GITHUB_TOKEN": githubToken},
	}
	res := ci.RunAct(t, repo.Dir, opts)
	if res.Code != 0 {
		t.Fatalf("act: exit %d\n%s", res.Code, res.Log)
	}
	for _, s := range []string{reg.Password, password, githubToken} {
		if strings.Contains(res.Log, s) {
			t.Errorf("a secret reached the log")
		}
	}
	got := readKV(t, out)
	repoURL := "oci://" + reg.Host() + "/acme/app-manifests" // the input lower-cased
	digest := got["digest"]
	if !strings.HasPrefix(digest, "sha256:") || got["url"] != repoURL+"@"+digest || got["pushed"] != "true" {
		t.Fatalf("outputs %v, want a digest, url %s@DIGEST and pushed=true", got, repoURL)
	}
	for _, tag := range []string{"latest", "build-1"} {
		in, code := inspect(t, bin, repoURL+":"+tag, creds)
		if code != 0 || in.Digest != digest {
			t.Fatalf("%s: exit %d digest %s, want %s", tag, code, in.Digest, digest)
		}
		a := in.Metadata.Annotations
		if a["dev.gitless.test/team"] != "platform" || a["dev.gitless.test/line"] != "one" || a["dev.gitless.test/next-line"] != "two" ||
			!strings.HasPrefix(in.Metadata.Revision, "main@sha1:") {
			t.Errorf("%s: metadata %+v, want the annotations of annotations and of both lines of args, and the revision main@sha1:...", tag, in.Metadata)
		}
	}
	if in, code := inspect(t, bin, "oci://"+reg.Host()+"/acme/from-docker-config:build-1", creds); code != 0 || in.Digest == "" {
		t.Errorf("the job without a password pushed nothing with the docker config's credentials (inspect exit %d):\n%s", code, jobLog(res.Log, "push", "docker-config"))
	}
	cosignVerify(t, got["url"], reg.Host(), reg.Username, reg.Password, pub)

	// A new commit that does not touch deploy/: nothing to push.
	repo.Write(t, map[string]string{"README.md": "# app\n"})
	head := repo.Commit(t, "docs")
	opts.Vars = maps.Clone(opts.Vars)
	opts.Vars["BUILD"] = "2"
	res = ci.RunAct(t, repo.Dir, opts)
	if res.Code != 0 {
		t.Fatalf("second act run: exit %d\n%s", res.Code, res.Log)
	}
	again := readKV(t, out)
	if again["pushed"] != "false" || again["digest"] != digest || again["url"] != got["url"] {
		t.Fatalf("second run outputs %v, want pushed=false and the first digest %s", again, digest)
	}
	for _, tag := range []string{head, "build-2"} {
		if _, code := inspect(t, bin, repoURL+":"+tag, creds); code != 6 {
			t.Errorf("the second run created tag %s (inspect exit %d, want 6)", tag, code)
		}
	}
}

// Each bad input fails the job at once, with an error annotation naming the problem, and
// pushes nothing.
func TestPushActionBadInput(t *testing.T) {
	bin := gitlessDir(t)
	readOnly := secret(t)
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthToken, ReadOnlyUsername: "reader", ReadOnlyPassword: readOnly})
	repoFiles := files(t, filepath.Join(ci.Root(), "examples", "podinfo"), "deploy")
	repoFiles[".github/workflows/bad.yml"] = testdata(t, "bad.yml")
	repo := ci.NewRepo(t, repoFiles, "actions")
	res := ci.RunAct(t, repo.Dir, ci.ActOptions{
		Workflow: ".github/workflows/bad.yml",
		Path:     []string{bin},
		Vars:     map[string]string{"REGISTRY": reg.Host(), "REGISTRY_USER": "reader"},
		Secrets:  map[string]string{"READ_ONLY_TOKEN": readOnly},
	})
	if res.Code == 0 {
		t.Fatalf("act succeeded with bad inputs:\n%s", res.Log)
	}
	for job, want := range map[string]string{
		"no-token":          "no registry token for ghcr.io: password is empty and so is the workflow's GITHUB_TOKEN",
		"no-id-token":       "sign: keyless needs an OIDC token, and this job has none: give the job 'permissions: id-token: write'",
		"no-path":           "path 'no/such/dir' does not exist",
		"unknown-render":    "render 'helmfile' is not one of none, auto, yaml, jsonnet, tanka, cdk8s, kustomize, helm",
		"no-signing-key":    "signing-key 'keys/cosign.key' is not a file",
		"no-packages-write": "refused reader's token (exit 4): cannot push to oci://" + reg.Host() + "/acme/app; with GITHUB_TOKEN on ghcr.io, give the job 'permissions: packages: write'",
	} {
		log := jobLog(res.Log, "bad", job)
		if !strings.Contains(log, "Job failed") || !strings.Contains(log, "::error title=gitless push::") || !strings.Contains(log, want) {
			t.Errorf("job %s: want a failure saying %q; its log:\n%s", job, want, log)
		}
		if job != "no-packages-write" && strings.Contains(log, "gitless push oci://") {
			t.Errorf("job %s ran gitless push before refusing its input:\n%s", job, log)
		}
	}
	if strings.Contains(res.Log, readOnly) {
		t.Error("the read-only token reached the log")
	}
	if _, code := inspect(t, bin, "oci://"+reg.Host()+"/acme/app:latest", reg.Username+":"+reg.Password); code != 6 {
		t.Errorf("something was pushed: inspect exit %d", code)
	}
}
