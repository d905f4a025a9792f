package ci

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a git repository made for one test, as a user's repository would look.
type Repo struct {
	Dir string
}

// Origin is the remote the repositories of NewRepo name: gitlab-ci-local derives
// CI_PROJECT_PATH and CI_REGISTRY_IMAGE from it (acme/app), offline.
const Origin = "https://gitlab.example.invalid/acme/app.git"

// NewRepo makes a git repository in a temporary directory holding files (path → content)
// and copies of the directories dirs of this repository (such as "actions"), and
// commits them on the branch main.
func NewRepo(t testing.TB, files map[string]string, dirs ...string) *Repo {
	t.Helper()
	r := &Repo{Dir: t.TempDir()}
	r.git(t, "init", "-q", "-b", "main")
	r.git(t, "remote", "add", "origin", Origin)
	for _, d := range dirs {
		if err := os.CopyFS(filepath.Join(r.Dir, d), os.DirFS(filepath.Join(Root(), d))); err != nil {
			t.Fatalf("copying %s into the test repository: %v", d, err)
		}
	}
	r.Write(t, files)
	r.Commit(t, "initial")
	return r
}

// SetOrigin points the remote origin at url (gitlab-ci-local derives CI_PROJECT_PATH and
// CI_REGISTRY_IMAGE from it).
func (r *Repo) SetOrigin(t testing.TB, url string) {
	t.Helper()
	r.git(t, "remote", "set-url", "origin", url)
}

// Write writes files (path → content) into the repository, without committing.
func (r *Repo) Write(t testing.TB, files map[string]string) {
	t.Helper()
	for p, c := range files {
		abs := filepath.Join(r.Dir, p)
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(abs, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Commit commits everything and returns the new HEAD.
func (r *Repo) Commit(t testing.TB, msg string) string {
	t.Helper()
	r.git(t, "add", "-A")
	r.git(t, "commit", "-q", "--allow-empty", "-m", msg)
	return r.git(t, "rev-parse", "HEAD")
}

// ForceAdd stages paths that .gitignore leaves out.
func (r *Repo) ForceAdd(t testing.TB, paths ...string) {
	t.Helper()
	r.git(t, append([]string{"add", "-f", "--"}, paths...)...)
}

// Head returns the commit checked out.
func (r *Repo) Head(t testing.TB) string {
	t.Helper()
	return r.git(t, "rev-parse", "HEAD")
}

func (r *Repo) git(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=gitless test", "GIT_AUTHOR_EMAIL=test@gitless.invalid",
		"GIT_COMMITTER_NAME=gitless test", "GIT_COMMITTER_EMAIL=test@gitless.invalid",
		"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}
