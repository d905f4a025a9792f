package manifest

import (
	"errors"
	"fmt"
)

// Sentinel errors. Match them with errors.Is; the errors returned carry the details.
var (
	// ErrInvalidObject: a document that is not a Kubernetes object (not a mapping, no
	// apiVersion, kind or metadata.name, a key twice, ...).
	ErrInvalidObject = errors.New("invalid Kubernetes object")
	// ErrNotObject: a mapping without apiVersion and kind, such as a values file or a
	// tool's configuration, where an object was expected. Such errors match
	// ErrInvalidObject too.
	ErrNotObject = errors.New("a mapping without apiVersion and kind is not a Kubernetes object")
	// ErrEmpty: a source or a tree that gives no Kubernetes object, where an empty set
	// would make a puller prune everything.
	ErrEmpty = errors.New("no Kubernetes objects")
	// ErrDuplicate: two objects with the same group, kind, namespace and name.
	ErrDuplicate = errors.New("duplicate object")
	// ErrChartInTree: a Helm chart inside a tree of plain manifests, whose templates are
	// not manifests: render it on its own, or leave it out of the tree.
	ErrChartInTree = errors.New("a Helm chart inside a YAML tree")
	// ErrSyntax: a file that does not parse as YAML.
	ErrSyntax = errors.New("invalid YAML")
	// ErrMissingResource: a kustomization's resources entry that names no file or
	// directory of the tree (kustomize would fail to build it).
	ErrMissingResource = errors.New("kustomization resource not in the tree")
	// ErrNoContent: the content of an object asked of its [Object.Head].
	ErrNoContent = errors.New("an object's head has no content")
)

// SourceError is an error about one place in a source: a file (and line and
// document), the path of a value in evaluated Jsonnet output, or an object.
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
		s += QuoteControl(e.Object)
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
