package apply

import (
	"context"
	"fmt"
	"slices"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// scopeList is one list request of the members: a resource, in one namespace or the
// whole cluster.
type scopeList struct {
	mapping   *meta.RESTMapping
	namespace string
}

// listMembers lists the objects labelled as members of the set, in every group-kind
// and namespace the parent records (and the parent's own namespace).
func (a *Applier) listMembers(ctx context.Context, st *ParentState) (map[objectKey]*unstructured.Unstructured, error) {
	var lists []scopeList
	namespaces := unionStrings(st.Namespaces, []string{st.Parent.Namespace})
	for _, gk := range st.GroupKinds {
		m, err := a.mapper.RESTMapping(gk)
		if meta.IsNoMatchError(err) {
			a.mapper.Reset()
			m, err = a.mapper.RESTMapping(gk)
		}
		if meta.IsNoMatchError(err) {
			// The kind is not served any more (its CRD was deleted): no members left.
			a.log.DebugContext(ctx, "kind recorded in the ApplySet is not served", "groupKind", gk.String())
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("listing the set's %s: %w", gk, err)
		}
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			for _, ns := range namespaces {
				lists = append(lists, scopeList{mapping: m, namespace: ns})
			}
		} else {
			lists = append(lists, scopeList{mapping: m})
		}
	}
	selector := LabelPartOf + "=" + st.Parent.ID()
	var (
		mu      sync.Mutex
		members = map[objectKey]*unstructured.Unstructured{}
		errs    = make([]error, len(lists))
	)
	a.forEach(ctx, len(lists), func(ctx context.Context, i int) {
		l := lists[i]
		var r interface {
			List(context.Context, metav1.ListOptions) (*unstructured.UnstructuredList, error)
		} = a.dyn.Resource(l.mapping.Resource)
		if l.namespace != "" {
			r = a.dyn.Resource(l.mapping.Resource).Namespace(l.namespace)
		}
		opts := metav1.ListOptions{LabelSelector: selector}
		for {
			ul, err := r.List(ctx, opts)
			if apierrors.IsForbidden(err) && l.namespace == st.Parent.Namespace && !slices.Contains(st.Namespaces, l.namespace) {
				// The parent's namespace is always in a set's scope, but an impersonated
				// service account may not even list there, and then it put nothing there.
				return
			}
			if err != nil {
				errs[i] = fmt.Errorf("listing the set's %s in %q: %w", l.mapping.GroupVersionKind.GroupKind(), l.namespace, err)
				return
			}
			mu.Lock()
			for j := range ul.Items {
				u := &ul.Items[j]
				u.SetGroupVersionKind(l.mapping.GroupVersionKind) // lists leave it out of items
				members[RefOf(u).key()] = u
			}
			mu.Unlock()
			if opts.Continue = ul.GetContinue(); opts.Continue == "" {
				return
			}
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return members, nil
}

// prune deletes the members not in desired, as opts allows, and returns what it did and
// the members it kept.
func (a *Applier) prune(ctx context.Context, st *ParentState, members map[objectKey]*unstructured.Unstructured, desired map[objectKey]bool, opts SyncOptions) ([]Change, []*object, error) {
	var (
		changes []Change
		kept    []*object
		doomed  [2][]*unstructured.Unstructured // objects first, then Namespaces and CRDs
	)
	keep := func(u *unstructured.Unstructured, reason string) {
		ref := RefOf(u)
		changes = append(changes, Change{Object: ref, Action: Skipped, Reason: reason})
		kept = append(kept, &object{u: u, ref: ref})
	}
	for k, u := range members {
		if desired[k] {
			continue
		}
		gk := u.GroupVersionKind().GroupKind()
		switch {
		case u.GetLabels()[LabelPartOf] != st.Parent.ID():
			continue // cannot happen: listed by the label
		case !opts.Prune:
			keep(u, "left the set; pruning is off")
		case u.GetAnnotations()[AnnotationPrune] == "disabled":
			keep(u, "left the set; it has "+AnnotationPrune+": disabled")
		case isDefinition(gk) && !opts.PruneNamespacesAndCRDs:
			keep(u, "left the set; the source does not allow deleting Namespaces and CRDs")
		case isDefinition(gk):
			doomed[1] = append(doomed[1], u)
		default:
			doomed[0] = append(doomed[0], u)
		}
	}
	for _, batch := range doomed {
		errs := make([]*ObjectError, len(batch))
		done := make([]bool, len(batch))
		a.forEach(ctx, len(batch), func(ctx context.Context, i int) {
			u := batch[i]
			if err := a.delete(ctx, u); err != nil {
				errs[i] = &ObjectError{Object: RefOf(u), Kind: ErrPrune, Err: err}
				return
			}
			done[i] = true
		})
		for i, u := range batch {
			if done[i] {
				changes = append(changes, Change{Object: RefOf(u), Action: Pruned})
			} else {
				kept = append(kept, &object{u: u, ref: RefOf(u)})
			}
		}
		if err := setError(errs); err != nil {
			return changes, kept, err
		}
		if err := ctx.Err(); err != nil {
			return changes, kept, err
		}
	}
	return changes, kept, nil
}

// delete deletes u if it is still the object that was listed (same UID and
// resourceVersion), so that an object relabelled or replaced since is left alone.
func (a *Applier) delete(ctx context.Context, u *unstructured.Unstructured) error {
	gvk := u.GroupVersionKind()
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	uid, rv := types.UID(u.GetUID()), u.GetResourceVersion()
	policy := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{
		Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
		PropagationPolicy: &policy,
	}
	r := a.meta.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		err = r.Namespace(u.GetNamespace()).Delete(ctx, u.GetName(), opts)
	} else {
		err = r.Delete(ctx, u.GetName(), opts)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		return fmt.Errorf("it changed since it was listed; not deleted (the next sync looks again): %w", err)
	}
	return err
}
