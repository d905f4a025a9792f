package manifest_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/fstree"
	"github.com/gitless-dev/gitless/manifest"
)

func writeTree(t *testing.T, files map[string]string) string { return fstree.Write(t, files) }

// Walk lists what render's YAML loader and the puller read, with push's ignore rules.
func TestWalk(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"a.yaml": "", "b/c.YML": "", "b/notes.md": "", ".git/x.yaml": "", ".github/workflows/ci.yaml": "",
		"out/x.yaml": "", "skip/x.yaml": "", "c/.gitlessignore": "drop.yaml\n", "c/drop.yaml": "", "c/keep.yaml": "",
		"k/kustomization.yaml": "", "k/inner/x.yaml": "", "secret.yaml": "",
	})
	l, err := manifest.Walk(context.Background(), dir, manifest.WalkOptions{Ignore: []string{"skip/", "secret.yaml"}, Exclude: []string{filepath.Join(dir, "out")}})
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, f := range l.Files {
		r, _ := filepath.Rel(dir, f)
		rel = append(rel, filepath.ToSlash(r))
	}
	if got, want := strings.Join(rel, ","), "a.yaml,b/c.YML,c/keep.yaml"; got != want {
		t.Errorf("files %s, want %s", got, want)
	}
	if got := strings.Join(l.Kustomizations, ","); got != "k" {
		t.Errorf("kustomizations %q", got)
	}
	l, err = manifest.Walk(context.Background(), filepath.Join(dir, "k"), manifest.WalkOptions{})
	if err != nil || len(l.Files) != 0 || len(l.Kustomizations) != 1 || l.Kustomizations[0] != "" {
		t.Fatalf("a kustomization at the root: %+v, %v", l, err)
	}
}

// An ignore file that cannot be read is an error, not a file left in.
func TestIgnoreFileUnreadable(t *testing.T) {
	dir := writeTree(t, map[string]string{".gitlessignore/x": "", "secret.yaml": ""}) // a directory: unreadable as a file
	if _, err := manifest.Walk(context.Background(), dir, manifest.WalkOptions{}); err == nil {
		t.Fatal("walked past an unreadable .gitlessignore")
	}
}
