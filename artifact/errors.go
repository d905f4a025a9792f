package artifact

import (
	"errors"
	"fmt"

	"github.com/gitless-dev/gitless/manifest"
)

// Sentinel errors. Match them with errors.Is; the errors returned carry details.
var (
	// ErrInvalidManifest: a manifest read from a registry is not a gitless/Flux artifact.
	ErrInvalidManifest = errors.New("invalid artifact manifest")
	// ErrDeclaredMediaType marks an ErrInvalidManifest that the registry's Content-Type
	// decided (it disagrees with the document, or is all that names the document's
	// type): what the registry says, which can change, rather than what the digest holds.
	ErrDeclaredMediaType = errors.New("by the media type the registry declared")
	// ErrEmptySource: the directory to package has no files (after ignore rules).
	ErrEmptySource = errors.New("nothing to package")
	// ErrTooLarge: a size or count cap was hit, when building or extracting.
	ErrTooLarge = errors.New("over the size limit")
	// ErrUnsafeArchive: an archive entry that extraction refuses (traversal, link,
	// device, duplicate, ...).
	ErrUnsafeArchive = errors.New("unsafe archive entry")
	// ErrInvalidReference: an artifact reference that does not parse.
	ErrInvalidReference = errors.New("invalid artifact reference")
	// ErrSymlink: a symbolic link in a tree to package, which BuildOptions.
	// ResolveSymlinks did not allow.
	ErrSymlink = errors.New("is a symbolic link")
)

// TotalSizeError is the cap on the bytes of all files (Limits.MaxTotalSize) hit, when
// building or extracting. It matches ErrTooLarge.
type TotalSizeError struct {
	Limit int64
}

func (e *TotalSizeError) Error() string {
	return fmt.Sprintf("%v: more than %d bytes of files", ErrTooLarge, e.Limit)
}

func (e *TotalSizeError) Unwrap() error { return ErrTooLarge }

// FileError is an error about one file of a source tree or archive.
type FileError struct {
	Path string // slash-separated, relative to the tree root
	Line int    // 1-based; 0 when not about a line
	Err  error
}

func (e *FileError) Error() string {
	path := manifest.QuoteControl(e.Path) // a name with a line break is one line of a CI log
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", path, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }
