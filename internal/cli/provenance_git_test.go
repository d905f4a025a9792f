package cli_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/cli"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// A pull request's tree that looks like a bare git repository (HEAD, config, objects,
// refs: plain files) must not make push's provenance lookup run what its config names:
// git's own discovery stopped at it, read gpg.program and ran it, with the job's
// environment, and took its commit's time for the artifact's created. The repository
// read is the checkout's (the nearest .git above), with the settings that run programs
// off.
func TestProvenanceGitIgnoresARepositoryInTheTree(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	ctx := context.Background()
	work := t.TempDir()
	marker := filepath.Join(work, "ran")
	// The checkout (a real repository with one commit) and, inside it, the tree.
	src := filepath.Join(work, "deploy")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "cm.yaml"), []byte(cm), 0o644); err != nil {
		t.Fatal(err)
	}
	git := func(dir, stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+work, "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	git(work, "", "init", "-q")
	git(work, "", "add", "deploy/cm.yaml")
	git(work, "", "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "c", "--date", "2026-01-02T03:04:05Z")
	// The tree's files, added by the pull request (made with git for brevity; they are
	// plain files, in the checkout's work tree).
	git(work, "", "init", "-q", "--bare", src)
	tree := git(src, "", "mktree")
	commit := git(src, "tree "+tree+"\nauthor a <a@b> 4102444800 +0000\ncommitter a <a@b> 4102444800 +0000\n"+
		"gpgsig -----BEGIN PGP SIGNATURE-----\n \n AAAA\n -----END PGP SIGNATURE-----\n\nx\n",
		"hash-object", "-t", "commit", "-w", "--stdin")
	git(src, "", "update-ref", "refs/heads/main", commit)
	git(src, "", "symbolic-ref", "HEAD", "refs/heads/main")
	git(src, "", "config", "log.showSignature", "true")
	git(src, "", "config", "gpg.program", "./pwn.sh")
	git(src, "", "config", "core.fsmonitor", "./pwn.sh")
	if err := os.WriteFile(filepath.Join(src, "pwn.sh"), []byte("#!/bin/sh\necho ran > "+marker+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	gh := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_SHA": strings.Repeat("a", 40),
		"GITHUB_REF_NAME": "main", "GITHUB_REPOSITORY": "acme/app", "GITHUB_SERVER_URL": "https://github.com"}
	reg := registry.NewT(t, registry.Options{})
	var out, errb bytes.Buffer
	e := cli.Env{Out: &out, Err: &errb, Getenv: func(k string) string { return gh[k] }, Git: cli.OSEnv().Git}
	code := cli.Main(ctx, cli.NewGitlessCommand(e), []string{"push", "oci://" + reg.Host() + "/app:v1", "--path", src, "-o", "json"}, e)
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("push ran the tree's program through git (exit %d)\n%s%s", code, out.String(), errb.String())
	}
	if code != 0 || strings.Contains(out.String(), "2100-01-01") || !strings.Contains(out.String(), `"created": "2026-01-02T03:04:05Z"`) {
		t.Fatalf("exit %d, the tree's commit time taken:\n%s%s", code, out.String(), errb.String())
	}
}
