package jsonnet

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/google/go-jsonnet"
)

// tkLibsonnet is what `import "tk"` gives in Tanka: the environment object.
const tkLibsonnet = `{ env: std.extVar("tanka.dev/environment") }`

// importer is go-jsonnet's FileImporter with Tanka's `import "tk"`, and an error for
// an import that is not found that lists every path searched.
type importer struct {
	files jsonnet.FileImporter
	tanka bool
}

func newImporter(jpath []string, tanka bool) *importer {
	return &importer{files: jsonnet.FileImporter{JPaths: jpath}, tanka: tanka}
}

func (im *importer) Import(importedFrom, importedPath string) (jsonnet.Contents, string, error) {
	if im.tanka && importedPath == "tk" {
		return jsonnet.MakeContents(tkLibsonnet), "tk", nil
	}
	c, foundAt, err := im.files.Import(importedFrom, importedPath)
	if err != nil && strings.Contains(err.Error(), "no match locally or in the Jsonnet library paths") {
		return c, foundAt, fmt.Errorf("import %q not found; searched %s", importedPath, strings.Join(im.searched(importedFrom, importedPath), ", "))
	}
	return c, foundAt, err
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
