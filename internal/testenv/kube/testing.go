package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// required reports whether GITLESS_REQUIRE_KUBE asks for missing binaries to fail tests.
func required() bool {
	v, _ := strconv.ParseBool(os.Getenv(EnvRequire))
	return v
}

// unavailable skips t, or fails it when err is not about missing binaries or when
// GITLESS_REQUIRE_KUBE is set.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrNoAssets) && !required() {
		t.Skipf("skipping: %v (set %s=1 to fail instead)", err, EnvRequire)
	}
	t.Fatal(err)
}

// NewT starts a control plane for one test and stops it in t.Cleanup. Without the binaries
// it skips t, or fails it under GITLESS_REQUIRE_KUBE=1; any other start failure fails t.
// Each call costs a few seconds: prefer one control plane per test binary, with Main.
func NewT(t testing.TB, opts ...Option) *Env {
	t.Helper()
	e, err := Start(t.Context(), opts...)
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if err := e.Stop(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// shared is the state of an Env made by Main, started on first use.
type shared struct {
	opts []Option
	once sync.Once
	err  error
}

// Main runs the tests of m with one control plane for the whole test binary, and returns
// the exit code for os.Exit. It sets *env before the tests run; the control plane starts
// on the first env.Use(t), so that `go test -run` of the other tests pays nothing, and
// stops after the last test.
//
//	var env *kube.Env
//
//	func TestMain(m *testing.M) { os.Exit(kube.Main(m, &env)) }
func Main(m *testing.M, env **Env, opts ...Option) int {
	e := &Env{shared: &shared{opts: opts}}
	*env = e
	code := m.Run()
	if err := e.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Use declares that t needs the control plane and returns e. On an Env from Main, the first
// Use starts it; if it cannot start, every Use skips its test when the binaries are missing
// (or fails it under GITLESS_REQUIRE_KUBE=1), and fails it on any other error.
func (e *Env) Use(t testing.TB) *Env {
	t.Helper()
	if e == nil {
		t.Fatal("kube: nil Env: call kube.Main from TestMain, or use kube.NewT")
	}
	if s := e.shared; s != nil {
		s.once.Do(func() {
			started, err := Start(context.Background(), s.opts...)
			if err != nil {
				s.err = err
				return
			}
			shared := e.shared
			*e = *started
			e.shared = shared
			t.Logf("kube: control plane up in %s", e.startup.Round(time.Millisecond))
		})
		if s.err != nil {
			unavailable(t, s.err)
		}
	}
	if e.cfg == nil {
		t.Fatal("kube: the control plane was stopped")
	}
	return e
}

// Namespace creates a fresh namespace named prefix plus a random suffix (see
// CreateNamespace) and returns its name; it fails t on error.
func (e *Env) Namespace(t testing.TB, prefix string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	ns, err := e.Use(t).CreateNamespace(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}
