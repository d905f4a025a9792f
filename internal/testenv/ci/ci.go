package ci

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/internal/testenv/peers"
)

// Root is the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

func cacheDir() string {
	if d := os.Getenv("GITLESS_CACHE_DIR"); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "gitless")
}

// missing skips t, or fails it when the variable require is "1".
func missing(t testing.TB, require, msg string) {
	t.Helper()
	if os.Getenv(require) == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (" + require + "=1 makes this a failure)")
}

// Peer returns the path of a tool hack/build-peers.sh builds (internal/testenv/peers),
// skipping t when it is missing unless GITLESS_REQUIRE_PEERS=1.
func Peer(t testing.TB, name string) string {
	t.Helper()
	return peers.Bin(t, name)
}

var (
	glclOnce sync.Once
	glclPath string
	glclErr  error
)

// GitLabCILocal returns the gitlab-ci-local executable: $GITLESS_GITLAB_CI_LOCAL, else the
// one hack/npm-deps.sh gitlab-ci-local installs (and installs it on first use). It skips t
// when there is none, unless GITLESS_REQUIRE_NPM=1.
func GitLabCILocal(t testing.TB) string {
	t.Helper()
	glclOnce.Do(func() {
		if p := os.Getenv("GITLESS_GITLAB_CI_LOCAL"); p != "" {
			glclPath = p
			return
		}
		var stderr bytes.Buffer
		cmd := exec.Command("bash", filepath.Join(Root(), "hack", "npm-deps.sh"), "gitlab-ci-local")
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			glclErr = fmt.Errorf("hack/npm-deps.sh gitlab-ci-local: %w: %s", err, strings.TrimSpace(stderr.String()))
			return
		}
		glclPath = filepath.Join(strings.TrimSpace(string(out)), ".bin", "gitlab-ci-local")
	})
	if glclErr != nil {
		missing(t, "GITLESS_REQUIRE_NPM", glclErr.Error())
	}
	if _, err := exec.LookPath("rsync"); err != nil {
		missing(t, "GITLESS_REQUIRE_NPM", "gitlab-ci-local needs rsync (hack/npm-deps.sh gitlab-ci-local installs it)")
	}
	return glclPath
}

// Result is what a runner did: its exit code and everything it printed.
type Result struct {
	Code int
	Log  string
}

// run runs name with args in dir with env (the whole environment) and a timeout.
func run(t testing.TB, dir string, env []string, timeout time.Duration, name string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	res := Result{Log: out.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		res.Code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %s: %v\n%s", name, err, res.Log)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out after %s\n%s", name, strings.Join(args, " "), timeout, res.Log)
	}
	return res
}

// baseEnv is the environment runners get: PATH with extra first, a HOME of the test's own,
// and nothing else of the test process (no credentials, no CI variables).
func baseEnv(t testing.TB, extra []string) []string {
	path := strings.Join(append(append([]string{}, extra...), "/usr/local/bin", "/usr/bin", "/bin"), string(os.PathListSeparator))
	if p := os.Getenv("PATH"); p != "" {
		path += string(os.PathListSeparator) + p
	}
	return []string{"PATH=" + path, "HOME=" + t.TempDir(), "LANG=C.UTF-8"}
}

func sortedKV(m map[string]string) []string {
	kv := make([]string, 0, len(m))
	for k, v := range m {
		kv = append(kv, k+"="+v)
	}
	sort.Strings(kv)
	return kv
}
