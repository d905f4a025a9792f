package hack_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
)

// The README's first command, as a newcomer runs it: hack/quickstart.sh builds gitless
// and the embedded registry, pushes examples/podinfo, pushes it again (nothing pushed),
// lists, inspects, pulls it back and diffs it, and says so.
func TestQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two binaries")
	}
	cmd := exec.CommandContext(t.Context(), "bash", "hack/quickstart.sh")
	cmd.Dir = ci.Root()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "quickstart OK: pushed, listed, inspected and pulled back") {
		t.Fatalf("hack/quickstart.sh: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "\033[") {
		t.Error("colour escapes in output that is not a terminal")
	}
}
