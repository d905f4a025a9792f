package depcheck

import (
	"strings"
	"testing"
)

// The gitless-puller binary, not only the puller package, links no Jsonnet engine, no
// Helm and nothing of the gitless CLI (whose render command does link them).
func TestPullerBinaryDoesNotLinkJsonnet(t *testing.T) {
	const mod = "github.com/gitless-dev/gitless/"
	pkgs := deps(t, mod+"cmd/gitless-puller")
	if len(pkgs) != 1 || len(pkgs[0].Deps) == 0 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	for _, d := range pkgs[0].Deps {
		if strings.HasPrefix(d, "github.com/google/go-jsonnet") || strings.HasPrefix(d, "helm.sh/") ||
			d == mod+"render/jsonnet" || d == mod+"render/helm" || d == mod+"internal/cli" {
			t.Errorf("cmd/gitless-puller links %s", d)
		}
	}
}
