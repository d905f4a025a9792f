// Package golden compares rendered trees with golden trees under testdata, and writes
// source trees, for the render packages' tests. Run the tests with -update to rewrite the golden trees from
// what they render (then review the diff).
package golden

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Update is the -update flag of the test binary.
var Update = flag.Bool("update", false, "rewrite the golden trees under testdata from what the tests render")

// Tree reads every regular file below dir: slash path to content.
func Tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return files
}

// Compare checks that the tree at got equals the golden tree at want, file by file;
// with -update it replaces want by got.
func Compare(t testing.TB, got, want string) {
	t.Helper()
	g := Tree(t, got)
	if *Update {
		if err := os.RemoveAll(want); err != nil {
			t.Fatal(err)
		}
		for p, c := range g {
			dst := filepath.Join(want, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("updated %s (%d files)", want, len(g))
		return
	}
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("no golden tree %s: run the test with -update", want)
	}
	w := Tree(t, want)
	var names []string
	for p := range g {
		names = append(names, p)
	}
	for p := range w {
		if _, ok := g[p]; !ok {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	for _, p := range names {
		gc, gok := g[p]
		wc, wok := w[p]
		switch {
		case !gok:
			t.Errorf("%s: missing from the output", p)
		case !wok:
			t.Errorf("%s: in the output but not in %s:\n%s", p, want, gc)
		case gc != wc:
			t.Errorf("%s differs from %s:\n%s", p, want, diff(wc, gc))
		}
	}
}

// diff shows the lines of want and got around where they first differ.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(wl) && i < len(gl) && wl[i] == gl[i] {
		i++
	}
	from := max(i-3, 0)
	var b strings.Builder
	b.WriteString("--- want\n")
	for _, l := range wl[from:min(i+5, len(wl))] {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("+++ got\n")
	for _, l := range gl[from:min(i+5, len(gl))] {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
