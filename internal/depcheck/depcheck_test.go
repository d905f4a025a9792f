// Package depcheck enforces the layering of the module and keeps docs/architecture.md
// true (TestArchitectureDocMatchesTheImports): the library packages never import the
// CLI, and the puller never links the Jsonnet engine or Helm.
package depcheck

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Deps       []string
}

func deps(t *testing.T, pattern string) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Deps", pattern).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pattern, err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestLibrariesDoNotImportTheCLI(t *testing.T) {
	const mod = "github.com/gitless-dev/gitless/"
	forbidden := []string{"github.com/spf13/cobra", mod + "cmd/", mod + "internal/cli", mod + "internal/testenv"}
	checked := 0
	for _, lib := range []string{"manifest", "artifact", "render", "verify", "sign", "puller"} {
		for _, p := range deps(t, "github.com/gitless-dev/gitless/"+lib+"/...") {
			if p.ImportPath == "" {
				continue
			}
			checked++
			for _, d := range p.Deps {
				for _, f := range forbidden {
					if d == strings.TrimSuffix(f, "/") || strings.HasPrefix(d, f) {
						t.Errorf("%s imports %s", p.ImportPath, d)
					}
				}
			}
		}
	}
	if checked < 3 { // artifact, artifact/auth, artifact/remote at least
		t.Fatalf("checked only %d packages: the patterns no longer match the tree", checked)
	}
}

// The puller builds what it pulls with manifest and manifest/kustomize: nothing of
// render (sources, Jsonnet, cdk8s synth) is reachable from it.
func TestPullerDoesNotImportRender(t *testing.T) {
	const mod = "github.com/gitless-dev/gitless/"
	pkgs := deps(t, mod+"puller/...")
	if len(pkgs) < 3 {
		t.Fatalf("go list found %d puller packages", len(pkgs))
	}
	for _, p := range pkgs {
		for _, d := range p.Deps {
			if d == mod+"render" || strings.HasPrefix(d, mod+"render/") {
				t.Errorf("%s imports %s", p.ImportPath, d)
			}
		}
	}
}

// Verifying never links signing: the puller verifies, and must not carry Fulcio, Rekor
// or OIDC clients.
func TestVerifyAndPullerDoNotImportSign(t *testing.T) {
	const mod = "github.com/gitless-dev/gitless/"
	for _, pattern := range []string{mod + "verify", mod + "puller/...", mod + "cmd/gitless-puller"} {
		pkgs := deps(t, pattern)
		if len(pkgs) == 0 {
			t.Fatalf("go list found no package for %s", pattern)
		}
		for _, p := range pkgs {
			for _, d := range p.Deps {
				if d == mod+"sign" || strings.HasPrefix(d, "github.com/sigstore/rekor/pkg/client") {
					t.Errorf("%s imports %s", p.ImportPath, d)
				}
			}
		}
	}
}

// manifest is the leaf: it imports nothing of gitless, and links no kustomize build
// (that is manifest/kustomize).
func TestManifestIsALeaf(t *testing.T) {
	const mod = "github.com/gitless-dev/gitless/"
	pkgs := deps(t, mod+"manifest")
	if len(pkgs) != 1 || len(pkgs[0].Deps) == 0 {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	for _, d := range pkgs[0].Deps {
		if strings.HasPrefix(d, mod) || strings.HasPrefix(d, "sigs.k8s.io/kustomize/api") {
			t.Errorf("manifest imports %s", d)
		}
	}
}

func TestPullerDoesNotLinkJsonnet(t *testing.T) {
	for _, p := range deps(t, "github.com/gitless-dev/gitless/puller/...") {
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "github.com/google/go-jsonnet") || strings.HasPrefix(d, "helm.sh/") {
				t.Errorf("%s links %s", p.ImportPath, d)
			}
		}
	}
}
