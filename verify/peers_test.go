package verify_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// peersBin finds the peer tools hack/build-peers.sh builds: $GITLESS_PEERS_BIN, else
// $(hack/cache-dir.sh)/peers/bin. It skips the test when a tool is missing, unless
// GITLESS_REQUIRE_PEERS=1 (what `make test` sets after building them).
func peersBin(t *testing.T, tools ...string) string {
	t.Helper()
	dir := os.Getenv("GITLESS_PEERS_BIN")
	if dir == "" {
		cache := os.Getenv("GITLESS_CACHE_DIR")
		if cache == "" {
			base := os.Getenv("XDG_CACHE_HOME")
			if base == "" {
				home, _ := os.UserHomeDir()
				base = filepath.Join(home, ".cache")
			}
			cache = filepath.Join(base, "gitless")
		}
		dir = filepath.Join(cache, "peers", "bin")
	}
	for _, tool := range tools {
		if _, err := os.Stat(filepath.Join(dir, tool)); err != nil {
			msg := "peer tool " + tool + " not found in " + dir + " (build it with hack/build-peers.sh " + strings.Join(tools, " ") + ", or set GITLESS_PEERS_BIN)"
			if os.Getenv("GITLESS_REQUIRE_PEERS") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// peer runs a peer tool with args and env (added to a minimal environment); it returns
// combined output and fails the test when wantOK differs from the outcome.
func peer(t *testing.T, bin string, env []string, wantOK bool, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	home := t.TempDir()
	cmd.Env = append([]string{"HOME=" + home, "PATH=/usr/bin:/bin", "TUF_ROOT=" + filepath.Join(home, "tuf")}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if (err == nil) != wantOK {
		t.Fatalf("%s %s: err=%v, want ok=%v\n%s", filepath.Base(bin), strings.Join(args, " "), err, wantOK, out.String())
	}
	return out.String()
}
