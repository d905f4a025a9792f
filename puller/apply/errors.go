package apply

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors; match with errors.Is.
var (
	// ErrInvalidObject: an object of the set that cannot be applied as it is (no name,
	// unknown kind, no namespace for a namespaced kind, a duplicate, ApplySet labels in
	// the manifest, ...). Nothing was applied.
	ErrInvalidObject = errors.New("invalid object")
	// ErrEmptySet: the set has no objects and empty sets are not allowed: applying it
	// would prune everything the set held.
	ErrEmptySet = errors.New("the set has no objects")
	// ErrForeignObject: an object of the set exists in the cluster as a member of another
	// ApplySet. It is left untouched.
	ErrForeignObject = errors.New("object belongs to another ApplySet")
	// ErrParentConflict: the ApplySet parent exists but belongs to another tool, or is
	// not an ApplySet parent at all.
	ErrParentConflict = errors.New("ApplySet parent conflict")
	// ErrDryRun: the server-side dry-run refused an object (validation, admission,
	// conflict). Nothing of the set was applied, with one exception: an object that
	// needs a Namespace the set creates, or a CRD the set creates or changes, is
	// dry-run once they are applied, and its refusal leaves them applied.
	ErrDryRun = errors.New("server-side dry-run failed")
	// ErrImmutable: the cluster refuses the change of an existing object, but would
	// create it as it is now: an immutable field changed (a Job's template, a
	// Service's clusterIP, a Deployment's selector). SyncOptions.Force, or the object's
	// annotation AnnotationForce, lets the sync recreate it. Matched with ErrDryRun.
	ErrImmutable = errors.New("an immutable field changed")
	// ErrApply: the real apply of an object failed after the dry-run passed. Objects
	// before it may have been applied; nothing was pruned.
	ErrApply = errors.New("apply failed")
	// ErrPrune: deleting an object that left the set failed.
	ErrPrune = errors.New("prune failed")
	// ErrNotReady: an object did not become ready before the wait timed out.
	ErrNotReady = errors.New("not ready")
)

// ObjectError is an error about one object of the set.
type ObjectError struct {
	Object ObjectRef
	// Kind is the sentinel the error matches: ErrInvalidObject, ErrDryRun, ErrApply, ...
	Kind error
	Err  error
}

func (e *ObjectError) Error() string {
	return fmt.Sprintf("%s: %v: %v", e.Object, e.Kind, e.Err)
}

func (e *ObjectError) Unwrap() []error { return []error{e.Kind, e.Err} }

// SetError gathers the errors of several objects. It matches every sentinel that one of
// them matches.
type SetError struct {
	Errors []*ObjectError
}

// maxListed bounds the objects an error message names; SetError.Errors has them all.
const maxListed = 10

func (e *SetError) Error() string {
	if len(e.Errors) == 1 {
		return e.Errors[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d objects failed:", len(e.Errors))
	for i, oe := range e.Errors {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  - and %d more", len(e.Errors)-maxListed)
			break
		}
		b.WriteString("\n  - ")
		b.WriteString(oe.Error())
	}
	return b.String()
}

func (e *SetError) Unwrap() []error {
	out := make([]error, len(e.Errors))
	for i, oe := range e.Errors {
		out[i] = oe
	}
	return out
}

// Objects lists the objects the errors are about.
func (e *SetError) Objects() []ObjectRef {
	out := make([]ObjectRef, len(e.Errors))
	for i, oe := range e.Errors {
		out[i] = oe.Object
	}
	return out
}

func setError(errs []*ObjectError) error {
	var kept []*ObjectError
	for _, e := range errs {
		if e != nil {
			kept = append(kept, e)
		}
	}
	if len(kept) == 0 {
		return nil
	}
	return &SetError{Errors: kept}
}
