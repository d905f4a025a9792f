// Package npm gives tests the npm packages they need (cdk8s and its CLI), installed
// by hack/npm-deps.sh from the npm registry into the cache outside the repository.
//
// Without node and npm the tests that need them skip, saying why, unless
// GITLESS_REQUIRE_NPM=1 (what `make test` sets), which makes them fail instead.
// GITLESS_CDK8S_NODE_MODULES, when set, names an installed node_modules to use.
package npm

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var (
	once sync.Once
	dir  string
	err  error
)

// CDK8sNodeModules returns a node_modules directory with cdk8s, cdk8s-cli,
// constructs, typescript and ts-node, or skips (fails, with GITLESS_REQUIRE_NPM=1)
// the test when there is none and none can be installed.
func CDK8sNodeModules(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if d := os.Getenv("GITLESS_CDK8S_NODE_MODULES"); d != "" {
			dir = d
			return
		}
		if _, lerr := exec.LookPath("npm"); lerr != nil && os.Getuid() != 0 {
			err = lerr
			return
		}
		_, file, _, _ := runtime.Caller(0)
		script := filepath.Join(filepath.Dir(file), "..", "..", "..", "hack", "npm-deps.sh")
		out, rerr := exec.Command("bash", script, "cdk8s").Output()
		if rerr != nil {
			if ee, ok := rerr.(*exec.ExitError); ok {
				rerr = &scriptError{rerr, string(ee.Stderr)}
			}
			err = rerr
			return
		}
		dir = strings.TrimSpace(string(out))
	})
	if err != nil || dir == "" {
		msg := "node and npm are needed for the real cdk8s test (hack/npm-deps.sh cdk8s)"
		if err != nil {
			msg += ": " + err.Error()
		}
		if os.Getenv("GITLESS_REQUIRE_NPM") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg + "; GITLESS_REQUIRE_NPM=1 makes this a failure")
	}
	return dir
}

// App copies the cdk8s app in src into a temporary directory with node_modules
// linked in, ready for `cdk8s synth`, and returns the directory.
func App(t testing.TB, src string) string {
	t.Helper()
	nm := CDK8sNodeModules(t)
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	for _, leftover := range []string{"node_modules", "dist"} {
		os.RemoveAll(filepath.Join(dst, leftover))
	}
	if err := os.Symlink(nm, filepath.Join(dst, "node_modules")); err != nil {
		t.Fatal(err)
	}
	return dst
}

type scriptError struct {
	err    error
	stderr string
}

func (e *scriptError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }
