// Package fstree writes file trees for tests.
package fstree

import (
	"os"
	"path/filepath"
	"testing"
)

// Write writes files (slash path to content) into a new temporary directory of t, with
// the directories they need, and returns it. A file that cannot be written fails t.
func Write(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		abs := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(abs, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
