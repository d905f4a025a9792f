package manifest

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/fluxcd/pkg/sourceignore"
	"github.com/fluxcd/pkg/sourceignore/gitignore"
)

// IgnoreFileName is the name of the per-directory ignore file (gitignore syntax).
const IgnoreFileName = ".gitlessignore"

// SourceIgnoreFileName is Flux's per-directory ignore file, read as IgnoreFileName is:
// a repository set up for Flux keeps its rules (source-controller applies them when it
// unpacks an artifact, as the puller's build does here).
const SourceIgnoreFileName = ".sourceignore"

// ignoreFileNames are the per-directory ignore files, read in this order.
var ignoreFileNames = []string{SourceIgnoreFileName, IgnoreFileName}

// Ignore holds the ignore rules of one tree, the same for packaging (artifact.Build),
// rendering a YAML source and the puller's build: Flux's default patterns (VCS files,
// CI configurations, archives and images, as fluxcd/pkg/sourceignore defines them),
// the ignore files themselves, extra patterns given by the caller, and the patterns
// of every .sourceignore and .gitlessignore file read so far, each scoped to its
// directory.
// A "!pattern" re-includes what an earlier one excludes.
type Ignore struct {
	patterns []gitignore.Pattern
}

// NewIgnore returns the default rules plus extra, gitignore-syntax patterns relative
// to the tree's root (blank entries and # comments are skipped).
func NewIgnore(extra []string) *Ignore {
	ig := &Ignore{}
	ig.patterns = append(ig.patterns, sourceignore.VCSPatterns(nil)...)
	ig.patterns = append(ig.patterns, sourceignore.DefaultPatterns(nil)...)
	for _, name := range ignoreFileNames {
		ig.patterns = append(ig.patterns, gitignore.ParsePattern(name, nil))
	}
	for _, p := range extra {
		if p = strings.TrimSpace(p); p != "" && !strings.HasPrefix(p, "#") {
			ig.patterns = append(ig.patterns, gitignore.ParsePattern(p, nil))
		}
	}
	return ig
}

// ReadDir adds the patterns of the .sourceignore and .gitlessignore files in dir,
// whose slash path in the tree is rel ("" for the root). Call it when entering a
// directory, before matching its entries. A missing file is no error; an unreadable
// one is, so that files meant to stay out are never packaged by accident.
func (ig *Ignore) ReadDir(dir, rel string) error {
	var domain []string
	if rel != "" {
		domain = strings.Split(rel, "/")
	}
	for _, name := range ignoreFileNames {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return &SourceError{Origin: Origin{File: path.Join(rel, name)}, Err: err}
		}
		ig.patterns = append(ig.patterns, sourceignore.ReadPatterns(bytes.NewReader(b), domain)...)
	}
	return nil
}

// Match reports whether the entry at the slash path rel (relative to the root) is
// ignored. A VCS directory (.git, .hg, .svn, .bzr) and everything below it always is,
// whatever the patterns say: a tree's own ignore file re-including .git would put the
// checkout's .git/config, which holds the CI's token, into the artifact.
func (ig *Ignore) Match(rel string, isDir bool) bool {
	if InVCSDir(rel) {
		return true
	}
	return gitignore.NewMatcher(ig.patterns).Match(strings.Split(rel, "/"), isDir)
}

// vcsDirs are the names of the version control directories never packaged (a .git
// file, a worktree's or submodule's pointer, included).
var vcsDirs = map[string]bool{".git": true, ".hg": true, ".svn": true, ".bzr": true}

// InVCSDir reports whether the slash path rel is, or is below, a version control
// directory (.git, .hg, .svn, .bzr): never packaged, never read through a link.
func InVCSDir(rel string) bool {
	for _, p := range strings.Split(rel, "/") {
		if vcsDirs[p] {
			return true
		}
	}
	return false
}
