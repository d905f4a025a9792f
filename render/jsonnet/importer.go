package jsonnet

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-jsonnet"

	"github.com/gitless-dev/gitless/manifest"
)

// tkLibsonnet is what `import "tk"` gives in Tanka: the environment object.
const tkLibsonnet = `{ env: std.extVar("tanka.dev/environment") }`

// importer is go-jsonnet's FileImporter with Tanka's `import "tk"`, and an error for
// an import that is not found that lists every path searched. It reads only below its
// roots (the project, and the library directories the user named), links resolved,
// and never a VCS directory: render runs in CI beside the CI's secrets (its
// environment in /proc, the token actions/checkout leaves in .git/config), which an
// import of the tree must not put into the manifests.
type importer struct {
	files jsonnet.FileImporter
	tanka bool
	roots []string // absolute, links resolved
}

func newImporter(jpath []string, tanka bool, roots []string) *importer {
	im := &importer{files: jsonnet.FileImporter{JPaths: jpath}, tanka: tanka}
	for _, r := range roots {
		if real, err := manifest.RealPath(r); err == nil {
			im.roots = append(im.roots, real)
		} else if abs, err := filepath.Abs(r); err == nil {
			im.roots = append(im.roots, abs) // not there (yet): as named
		}
	}
	return im
}

func (im *importer) Import(importedFrom, importedPath string) (jsonnet.Contents, string, error) {
	if im.tanka && importedPath == "tk" {
		return jsonnet.MakeContents(tkLibsonnet), "tk", nil
	}
	c, foundAt, err := im.files.Import(importedFrom, importedPath)
	if err != nil && strings.Contains(err.Error(), "no match locally or in the Jsonnet library paths") {
		return c, foundAt, fmt.Errorf("import %q not found; searched %s", importedPath, strings.Join(im.searched(importedFrom, importedPath), ", "))
	}
	if err == nil {
		if err := im.allowed(foundAt); err != nil {
			return jsonnet.Contents{}, "", fmt.Errorf("import %q: %w", importedPath, err)
		}
	}
	return c, foundAt, err
}

// allowed checks that path, its links resolved, is below a root and in no VCS
// directory.
func (im *importer) allowed(path string) error {
	real, err := manifest.RealPath(path)
	if err != nil {
		return err
	}
	if manifest.InVCSDir(filepath.ToSlash(real)) {
		return fmt.Errorf("%s is in a VCS directory, which render does not read", real)
	}
	for _, r := range im.roots {
		if manifest.Within(r, real) {
			return nil
		}
	}
	return fmt.Errorf("%s is outside the source (%s); name its directory with --jpath to read it", real, strings.Join(im.roots, ", "))
}

// searched lists the paths FileImporter tries, in its order: next to the importing
// file, then the library paths, last one first.
func (im *importer) searched(importedFrom, importedPath string) []string {
	if filepath.IsAbs(importedPath) {
		return []string{importedPath}
	}
	dir, _ := filepath.Split(importedFrom)
	ps := []string{filepath.Join(dir, importedPath)}
	for i := len(im.files.JPaths) - 1; i >= 0; i-- {
		ps = append(ps, filepath.Join(im.files.JPaths[i], importedPath))
	}
	return ps
}
