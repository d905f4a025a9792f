package depcheck

import (
	"strings"
	"testing"
)

// The gitless-puller binary, not only the puller package, links no Jsonnet engine, no
// Helm, nothing of render and nothing of the gitless CLI (whose render command links
// them); the CLI kit it shares with gitless (internal/clikit) must keep it that way.
func TestPullerBinaryDoesNotLinkJsonnet(t *testing.T) {
	const mod = "github.com/gitless-dev/gitless/"
	pkgs := deps(t, mod+"cmd/gitless-puller")
	if len(pkgs) != 1 || len(pkgs[0].Deps) == 0 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	for _, d := range pkgs[0].Deps {
		if strings.HasPrefix(d, "github.com/google/go-jsonnet") || strings.HasPrefix(d, "helm.sh/") ||
			d == mod+"render" || strings.HasPrefix(d, mod+"render/") || d == mod+"internal/cli" {
			t.Errorf("cmd/gitless-puller links %s", d)
		}
	}
}
