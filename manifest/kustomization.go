package manifest

import (
	"os"
	"path"
	"path/filepath"
)

// KustomizationFiles are the names of a kustomization file, in kustomize's order.
var KustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// KustomizationFile returns the kustomization file of the directory dir, or "".
func KustomizationFile(dir string) string {
	for _, n := range KustomizationFiles {
		p := filepath.Join(dir, n)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// isKustomizationName reports whether the base name of the slash path p is a
// kustomization file's name.
func isKustomizationName(p string) bool {
	base := path.Base(p)
	for _, n := range KustomizationFiles {
		if base == n {
			return true
		}
	}
	return false
}
