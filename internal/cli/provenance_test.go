package cli_test

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/cli"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// A checkout whose origin URL carries a token (GitLab CI clones with
// https://gitlab-ci-token:TOKEN@...) gives the artifact its source without the token:
// not in push's output, not in the annotations the registry holds.
func TestProvenanceFromGitDropsCredentials(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	const token = "glcbt-64-SECRET-token-value"
	src := writeTree(t, map[string]string{"cm.yaml": cm})
	gitRun := func(ctx context.Context, dir string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
			"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
		out, err := cmd.Output()
		return string(out), err
	}
	ctx := context.Background()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "x"},
		{"remote", "add", "origin", "https://gitlab-ci-token:" + token + "@gitlab.example.com/acme/app.git"}} {
		if out, err := gitRun(ctx, src, args...); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	reg := registry.NewT(t, registry.Options{})
	url := "oci://" + reg.Host() + "/app:v1"
	exec := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		e := cli.Env{Out: &out, Err: &errb, Getenv: func(string) string { return "" }, Git: gitRun}
		code := cli.Main(ctx, cli.NewGitlessCommand(e), args, e)
		return code, out.String() + errb.String()
	}
	code, out := exec("push", url, "--path", src, "-o", "json")
	if code != 0 || !strings.Contains(out, `"source": "https://gitlab.example.com/acme/app.git"`) || strings.Contains(out, token) {
		t.Fatalf("push: %d %s", code, out)
	}
	code, out = exec("inspect", url, "-o", "json")
	if code != 0 || !strings.Contains(out, "https://gitlab.example.com/acme/app.git") || strings.Contains(out, token) {
		t.Fatalf("inspect: %d %s", code, out)
	}
}
