package depcheck

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// docs/architecture.md's table is the package graph: every package of the module (but
// bench/) has a row, and the row lists exactly the module's packages it imports.
func TestArchitectureDocMatchesTheImports(t *testing.T) {
	const mod = "github.com/gitless-dev/gitless/"
	doc, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9/-]+)` \\|([^|]*)\\|$")
	documented := map[string][]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		var imports []string
		for _, i := range regexp.MustCompile("`([a-z0-9/-]+)`").FindAllStringSubmatch(m[2], -1) {
			imports = append(imports, i[1])
		}
		documented[m[1]] = imports
	}
	if len(documented) < 20 {
		t.Fatalf("found %d rows in docs/architecture.md: the table's format changed", len(documented))
	}

	out, err := exec.Command("go", "list", "-json=ImportPath,Imports", mod+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := map[string]bool{}
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, mod)
		if strings.HasPrefix(name, "bench/") {
			continue
		}
		seen[name] = true
		var got []string
		for _, i := range p.Imports {
			if s, ok := strings.CutPrefix(i, mod); ok {
				got = append(got, s)
			}
		}
		want, ok := documented[name]
		switch {
		case !ok:
			t.Errorf("package %s is not in docs/architecture.md (it imports %v)", name, got)
		case !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))):
			t.Errorf("%s imports %v; docs/architecture.md says %v", name, got, want)
		}
	}
	for name := range documented {
		if !seen[name] {
			t.Errorf("docs/architecture.md lists %s, which is not a package of the module", name)
		}
	}
}
