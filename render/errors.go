package render

import (
	"errors"
	"fmt"

	"github.com/gitless-dev/gitless/manifest"
)

// Sentinel errors. Match them with errors.Is; the errors returned carry the details.
var (
	// ErrNotFound: a source, an environment or a cdk8s output that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrEmpty: a source that gives no Kubernetes object; manifest.ErrEmpty.
	ErrEmpty = manifest.ErrEmpty
	// ErrInvalidObject: a document that is not a Kubernetes object (not a mapping, no
	// apiVersion, kind or metadata.name, ...); manifest.ErrInvalidObject.
	ErrInvalidObject = manifest.ErrInvalidObject
	// ErrDuplicate: two objects with the same group, kind, namespace and name;
	// manifest.ErrDuplicate.
	ErrDuplicate = manifest.ErrDuplicate
	// ErrUnsafePath: a file name that would be written outside the output directory,
	// or that two objects would share.
	ErrUnsafePath = errors.New("unsafe output path")
	// ErrUnsupported: a source kind with no loader, or a feature that is refused
	// (kustomize remote bases, plugins, ...).
	ErrUnsupported = errors.New("not supported")
	// ErrNoSynthOutput: a cdk8s app without its output directory, which synthesizing
	// (Options.Synth) would make. It comes with ErrNotFound.
	ErrNoSynthOutput = errors.New("no cdk8s output directory")
	// ErrOutputInUse: the output directory exists and is not one that render wrote.
	ErrOutputInUse = errors.New("output directory is in use")
)

// The types of objects and of errors about them are package manifest's, under the
// names render has always given them.
type (
	// Object is a Kubernetes object of a rendered tree (manifest.Object).
	Object = manifest.Object
	// Origin is where an object or an error comes from (manifest.Origin).
	Origin = manifest.Origin
	// ObjectID is an object's identity in a cluster (manifest.ObjectID).
	ObjectID = manifest.ObjectID
	// SourceError is an error about one place in a source (manifest.SourceError).
	SourceError = manifest.SourceError
	// DuplicateError reports two objects with the same identity
	// (manifest.DuplicateError).
	DuplicateError = manifest.DuplicateError
)

// FormatError is a file-name format (Options.Format) that does not work: it does not
// parse, or fails on an object.
type FormatError struct {
	Format string
	Err    error
}

func (e *FormatError) Error() string { return fmt.Sprintf("file name format %q: %v", e.Format, e.Err) }

func (e *FormatError) Unwrap() error { return e.Err }

// PathConflictError reports two objects that the file-name format gives one path.
type PathConflictError struct {
	Path          string
	First, Second *Object
	// Format is the format in use.
	Format string
}

func (e *PathConflictError) Error() string {
	return fmt.Sprintf("%v: %s (%s) and %s (%s) would both be written to %s", ErrUnsafePath, e.First, e.First.Origin, e.Second, e.Second.Origin, e.Path)
}

func (e *PathConflictError) Unwrap() error { return ErrUnsafePath }
