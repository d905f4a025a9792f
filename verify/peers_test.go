package verify_test

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/internal/testenv/peers"
)

// peersBin finds the peer tools hack/build-peers.sh builds (internal/testenv/peers):
// it skips the test when a tool is missing, unless GITLESS_REQUIRE_PEERS=1.
func peersBin(t *testing.T, tools ...string) string {
	t.Helper()
	for _, tool := range tools {
		peers.Bin(t, tool)
	}
	return peers.Dir()
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
