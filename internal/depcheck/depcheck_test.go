// Package depcheck enforces the layering of the module: the library packages never
// import the CLI, and the puller never links the Jsonnet engine or Helm.
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
	for _, lib := range []string{"artifact", "render", "verify", "puller"} {
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

func TestPullerDoesNotLinkJsonnet(t *testing.T) {
	for _, p := range deps(t, "github.com/gitless-dev/gitless/puller/...") {
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "github.com/google/go-jsonnet") || strings.HasPrefix(d, "helm.sh/") {
				t.Errorf("%s links %s", p.ImportPath, d)
			}
		}
	}
}
