package render

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is; the errors returned carry the details.
var (
	// ErrNotFound: a source, an environment or a cdk8s output that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrEmpty: a source that gives no Kubernetes object.
	ErrEmpty = errors.New("no Kubernetes objects")
	// ErrInvalidObject: a document that is not a Kubernetes object (not a mapping, no
	// apiVersion, kind or metadata.name, ...).
	ErrInvalidObject = errors.New("invalid Kubernetes object")
	// ErrDuplicate: two objects with the same group, kind, namespace and name.
	ErrDuplicate = errors.New("duplicate object")
	// ErrUnsafePath: a file name that would be written outside the output directory,
	// or that two objects would share.
	ErrUnsafePath = errors.New("unsafe output path")
	// ErrUnsupported: a source kind with no loader, or a feature that is refused
	// (kustomize remote bases, plugins, ...).
	ErrUnsupported = errors.New("not supported")
	// ErrOutputInUse: the output directory exists and is not one that render wrote.
	ErrOutputInUse = errors.New("output directory is in use")
)

// SourceError is an error about one place in a source: a file (and line), the
// path of a value in evaluated Jsonnet output, or an object.
type SourceError struct {
	Origin Origin
	// Object names the object concerned ("apps/v1 Deployment default/web"), if any.
	Object string
	Err    error
}

func (e *SourceError) Error() string {
	s := e.Origin.String()
	if e.Object != "" {
		if s != "" {
			s += ": "
		}
		s += e.Object
	}
	if s == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("%s: %v", s, e.Err)
}

func (e *SourceError) Unwrap() error { return e.Err }

// DuplicateError reports two objects with the same identity.
type DuplicateError struct {
	ID            ObjectID
	First, Second Origin
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("%v %s: defined in %s and again in %s", ErrDuplicate, e.ID, e.First, e.Second)
}

func (e *DuplicateError) Unwrap() error { return ErrDuplicate }
