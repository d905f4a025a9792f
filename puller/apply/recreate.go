package apply

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// recreateTimeout bounds a recreation once its delete is sent: the delete, the wait for
// the object to be gone (finalizers) and the creation.
const recreateTimeout = 30 * time.Second

// planRecreate decides about an object whose dry-run the cluster refused as invalid
// (refused). When the object exists and the cluster would create it as it is now, what
// it refuses is the change, not the object: an immutable field changed. With force
// (SyncOptions.Force or AnnotationForce) the plan is then to recreate it; without, the
// error says so (ErrImmutable). Otherwise the refusal stands as it is.
func (a *Applier) planRecreate(ctx context.Context, st *ParentState, o *object, p *plan, refused error) (*plan, error) {
	if !immutableField(refused) {
		return nil, refused // invalid for another reason: an admission denial, a PVC shrunk
	}
	m, err := a.metaFor(o).Get(ctx, o.ref.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, refused // a creation refused: the object is invalid
	}
	if err != nil {
		return nil, fmt.Errorf("%w (reading the existing object: %v)", refused, err)
	}
	if err := a.dryRunCreate(ctx, o, p.data); err != nil {
		return nil, refused // invalid as a new object too
	}
	if err := adoptable(st, o, m); err != nil {
		return nil, err
	}
	if !o.force {
		return nil, fmt.Errorf("%w: the cluster refuses the change but would create the object as it is now; force, or the annotation %s: enabled, recreates it: %w", ErrImmutable, AnnotationForce, refused)
	}
	// The delete too is asked first (RBAC, an admission policy that protects the kind):
	// refused there, nothing of the set is applied.
	uid := m.UID
	if err := a.metaFor(o).Delete(ctx, o.ref.Name, metav1.DeleteOptions{
		DryRun: []string{metav1.DryRunAll}, Preconditions: &metav1.Preconditions{UID: &uid},
	}); err != nil {
		return nil, fmt.Errorf("%w; recreating it needs deleting it, which the cluster refuses: %w", ErrImmutable, err)
	}
	p.action = Recreated
	p.recreate = m.UID
	return p, nil
}

// immutableMessages are what the apiserver, its built-in validation and CEL rules
// (self == oldSelf) say of a field that may not change after creation.
var immutableMessages = []string{"field is immutable", "is immutable", "may not change once set", "cannot change", "cannot be changed", "updates to", "are forbidden"}

// immutableField reports whether err is a 422 whose every cause names a field and says
// that it may not change: not an admission denial (no field), not a rule that would
// refuse the object new as well (the dry-run of the creation tells those), not a value
// that may change but not this way (a PVC shrunk: "can not be less than").
func immutableField(err error) bool {
	var se apierrors.APIStatus
	if !errors.As(err, &se) || se.Status().Details == nil || len(se.Status().Details.Causes) == 0 {
		return false
	}
	for _, c := range se.Status().Details.Causes {
		msg := strings.ToLower(c.Message)
		if c.Field == "" || !slices.ContainsFunc(immutableMessages, func(m string) bool { return strings.Contains(msg, m) }) {
			return false
		}
	}
	return true
}

// dryRunCreate asks the cluster whether it would create the object data holds, under a
// name of its own making (generateName from the object's name: the name itself is
// taken by the object that exists).
func (a *Applier) dryRunCreate(ctx context.Context, o *object, data []byte) error {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(data); err != nil {
		return fmt.Errorf("decoding the object again: %w", err)
	}
	u.SetName("")
	u.SetGenerateName(o.ref.Name)
	_, err := a.dynFor(o).Create(ctx, u, metav1.CreateOptions{
		DryRun: []string{metav1.DryRunAll}, FieldManager: FieldManager, FieldValidation: metav1.FieldValidationStrict,
	})
	return err
}

// recreate deletes the object p names (by UID, dependents in the background), waits
// until it is gone and applies o. Once the delete is sent it runs to its end whatever
// ctx says (bounded by recreateTimeout): a shutdown must not leave the object deleted
// and not created again.
func (a *Applier) recreate(ctx context.Context, o *object, p *plan) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recreateTimeout)
	defer cancel()
	uid := p.recreate
	background := metav1.DeletePropagationBackground
	err := a.metaFor(o).Delete(rctx, o.ref.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &uid}, PropagationPolicy: &background,
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting it to recreate it (an immutable field changed): %w", err)
	}
	for {
		m, err := a.metaFor(o).Get(rctx, o.ref.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && m.UID != uid) {
			break
		}
		if err != nil {
			return fmt.Errorf("deleted it to recreate it, then reading it: %w", err)
		}
		select {
		case <-rctx.Done():
			return fmt.Errorf("deleted it to recreate it, but it is still there after %s (finalizers %q)", recreateTimeout, m.Finalizers)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if _, _, err := a.patch(rctx, o, p.data, p.force, false, false); err != nil {
		return fmt.Errorf("creating it again after deleting it (an immutable field changed): %w", err)
	}
	return nil
}
