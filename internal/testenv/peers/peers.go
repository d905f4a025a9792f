// Package peers finds the peer tools that hack/build-peers.sh builds (helm, flux,
// cosign, kubectl, kustomize, ...) for interop tests, and runs them with a clean
// environment. A test whose tool is missing skips, unless GITLESS_REQUIRE_PEERS=1 (what
// `make test` sets after building them), which makes it fail: in CI a missing peer is a
// broken run, never a quiet skip (TestRequiredToolsArePresent checks every peer the
// Makefile's peers-test target builds).
package peers

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// EnvRequire makes a missing peer a failure.
const EnvRequire = "GITLESS_REQUIRE_PEERS"

// Required reports whether EnvRequire is set.
func Required() bool { return os.Getenv(EnvRequire) == "1" }

// Missing returns the tools that are not in Dir.
func Missing(tools ...string) []string {
	var missing []string
	for _, tool := range tools {
		if _, err := os.Stat(filepath.Join(Dir(), tool)); err != nil {
			missing = append(missing, tool)
		}
	}
	return missing
}

// Dir is where hack/build-peers.sh puts the tools: $GITLESS_PEERS_BIN, else
// $(hack/cache-dir.sh)/peers/bin.
func Dir() string {
	if dir := os.Getenv("GITLESS_PEERS_BIN"); dir != "" {
		return dir
	}
	cache := os.Getenv("GITLESS_CACHE_DIR")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "gitless")
	}
	return filepath.Join(cache, "peers", "bin")
}

// Bin returns the path of a peer tool. It skips the test when the tool is missing,
// or fails it under GITLESS_REQUIRE_PEERS=1 (what `make test` sets after building
// them).
func Bin(t testing.TB, tool string) string {
	t.Helper()
	p := filepath.Join(Dir(), tool)
	if _, err := os.Stat(p); err != nil {
		msg := "peer tool " + tool + " not found in " + Dir() + " (build it with hack/build-peers.sh " + tool + ", or set GITLESS_PEERS_BIN)"
		if Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

// Run runs a peer tool in dir ("" for the current directory) with a fresh HOME and a
// minimal PATH plus env, and returns its stdout and stderr. It fails the test when
// the tool fails.
func Run(t testing.TB, bin, dir string, env []string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := Try(t, bin, dir, env, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, stderr)
	}
	return stdout, stderr
}

// Try is Run that returns the tool's error instead of failing.
func Try(t testing.TB, bin, dir string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "PATH=/usr/bin:/bin", "XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"), "XDG_DATA_HOME=" + filepath.Join(home, ".local")}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

var helmDigestRE = regexp.MustCompile(`Digest: (sha256:[0-9a-f]{64})`)

// HelmPush packages a chart directory with the helm CLI (the peer tool) and pushes it
// with `helm push` to repo (oci://HOST/PATH, plain HTTP: the test registries are on
// loopback), with user and password when user is not empty. It returns the manifest
// digest helm reports.
func HelmPush(t testing.TB, chartDir, repo, user, password string) string {
	t.Helper()
	bin := Bin(t, "helm")
	work := t.TempDir()
	abs, err := filepath.Abs(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := Run(t, bin, work, nil, "package", abs, "--destination", work)
	tgz := strings.TrimSpace(out[strings.LastIndex(out, ":")+1:])
	args := []string{"push", tgz, repo, "--plain-http"}
	if user != "" {
		args = append(args, "--username", user, "--password", password)
	}
	stdout, stderr := Run(t, bin, work, nil, args...)
	m := helmDigestRE.FindStringSubmatch(stdout + stderr)
	if m == nil {
		t.Fatalf("helm push printed no digest:\n%s%s", stdout, stderr)
	}
	return m[1]
}
