package apply

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// recreateTimeout bounds a recreation once its delete is sent: the delete, the wait for
// the object to be gone (finalizers) and the creation.
const recreateTimeout = 2 * time.Minute

// planRecreate decides about an object whose dry-run the cluster refused as invalid
// (refused). When the object exists and the cluster would create it as it is now, what
// it refuses is the change, not the object: an immutable field changed. With force
// (SyncOptions.Force or AnnotationForce) the plan is then to recreate it; without, the
// error says so (ErrImmutable). Otherwise the refusal stands as it is.
func (a *Applier) planRecreate(ctx context.Context, st *ParentState, o *object, p *plan, refused error) (*plan, error) {
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
	p.action = Recreated
	p.recreate = m.UID
	return p, nil
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
