package artifact

import (
	"crypto/sha256"
	"hash"
	"sort"

	"github.com/opencontainers/go-digest"
)

type digester struct{ hash.Hash }

func newDigester() digester              { return digester{sha256.New()} }
func (d digester) Digest() digest.Digest { return digest.NewDigest(digest.SHA256, d.Hash) }

// Change is how one path differs between two trees.
type Change string

const (
	Added    Change = "added"
	Removed  Change = "removed"
	Modified Change = "modified" // content or mode
)

// FileChange is one entry of a [DiffTrees] result.
type FileChange struct {
	Path   string `json:"path"`
	Change Change `json:"change"`
	Old    *File  `json:"old,omitempty"`
	New    *File  `json:"new,omitempty"`
}

// DiffTrees compares two file lists (for example what is in a registry and what a push
// would send) and returns the differences sorted by path.
func DiffTrees(old, new []File) []FileChange {
	o := make(map[string]File, len(old))
	for _, f := range old {
		o[f.Path] = f
	}
	var out []FileChange
	for _, f := range new {
		if of, ok := o[f.Path]; !ok {
			out = append(out, FileChange{Path: f.Path, Change: Added, New: &f})
		} else {
			if of.Digest != f.Digest || of.Mode != f.Mode {
				out = append(out, FileChange{Path: f.Path, Change: Modified, Old: &of, New: &f})
			}
			delete(o, f.Path)
		}
	}
	for _, f := range o {
		out = append(out, FileChange{Path: f.Path, Change: Removed, Old: &f})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
