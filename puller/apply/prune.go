package apply

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
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

// member is what a sync keeps of a listed member: enough to tell whether a dry-run
// changes it and to delete it, not the object itself. A thousand members as maps,
// managed fields and all, take about 20 MB of heap; as members, about 0.3 MB.
type member struct {
	ref             ObjectRef
	uid             types.UID
	resourceVersion string
	partOf          string // its LabelPartOf label
	pruneDisabled   bool   // it has AnnotationPrune: disabled
	// reconcileDisabled: it has AnnotationFluxReconcile: disabled, in the cluster.
	reconcileDisabled bool
	// sum is objectSum of the object as listed.
	sum [sha256.Size]byte
}

func memberOf(u *unstructured.Unstructured) (*member, error) {
	sum, err := objectSum(u)
	if err != nil {
		return nil, err
	}
	return &member{
		ref:               RefOf(u),
		uid:               u.GetUID(),
		resourceVersion:   u.GetResourceVersion(),
		partOf:            u.GetLabels()[LabelPartOf],
		pruneDisabled:     pruneDisabled(u.GetAnnotations()),
		reconcileDisabled: reconcileDisabled(u.GetAnnotations()),
		sum:               sum,
	}, nil
}

// objectSum is the SHA-256 of u's JSON with its keys sorted (encoding/json sorts map
// keys): two objects decoded the same way have the same sum exactly when they are
// equal.
func objectSum(u *unstructured.Unstructured) ([sha256.Size]byte, error) {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(u.Object); err != nil {
		return [sha256.Size]byte{}, fmt.Errorf("hashing %s: %w", RefOf(u), err)
	}
	return [sha256.Size]byte(h.Sum(nil)), nil
}

// listPageSize is the page size of the member lists: a page is decoded into maps and
// then reduced to members, so a sync never holds more than a page of listed objects
// per list in flight (Concurrency). A page of 250 objects with their managed fields
// was most of a sync's heap peak: 100 took BenchmarkSyncLargeSet's from 22.6-23.3 MB
// to 15.9-16.0 MB (2026-12-05) for 10 list requests instead of 4 per 1,000 objects.
const listPageSize = 100

// listMembers lists the objects labelled as members of the set, in every group-kind
// and namespace the parent records (and the parent's own namespace).
func (a *Applier) listMembers(ctx context.Context, st *ParentState, listed func(map[string]any)) (map[objectKey]*member, error) {
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
		members = map[objectKey]*member{}
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
		opts := metav1.ListOptions{LabelSelector: selector, Limit: listPageSize}
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
			page := make([]*member, len(ul.Items))
			for j := range ul.Items {
				u := &ul.Items[j]
				u.SetGroupVersionKind(l.mapping.GroupVersionKind) // lists leave it out of items
				if listed != nil {
					listed(u.Object)
				}
				if page[j], err = memberOf(u); err != nil {
					errs[i] = err
					return
				}
			}
			mu.Lock()
			for _, m := range page {
				members[m.ref.key()] = m
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
func (a *Applier) prune(ctx context.Context, st *ParentState, members map[objectKey]*member, desired map[objectKey]bool, opts SyncOptions, beforeDelete func() error) ([]Change, []*object, error) {
	changes, kept, doomed := pruneCandidates(st, members, desired, opts)
	keep := func(m *member, reason string) {
		changes = append(changes, Change{Object: m.ref, Action: Skipped, Reason: reason})
		kept = append(kept, &object{ref: m.ref})
	}
	if len(doomed[0])+len(doomed[1]) > 0 {
		if err := beforeDelete(); err != nil {
			return changes, kept, fmt.Errorf("marking the sync on its parent before pruning: %w", err)
		}
	}
	for _, batch := range doomed {
		errs := make([]*ObjectError, len(batch))
		done := make([]bool, len(batch))
		left := make([]string, len(batch))
		a.forEach(ctx, len(batch), func(ctx context.Context, i int) {
			u := batch[i]
			var lf *leftAloneError
			switch err := a.delete(ctx, u); {
			case errors.As(err, &lf):
				left[i] = lf.reason
			case err != nil:
				errs[i] = &ObjectError{Object: u.ref, Kind: ErrPrune, Err: err}
			default:
				done[i] = true
			}
		})
		for i, u := range batch {
			switch {
			case done[i]:
				changes = append(changes, Change{Object: u.ref, Action: Pruned})
			case left[i] != "":
				keep(u, left[i])
			default:
				kept = append(kept, &object{ref: u.ref})
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

// pruneCandidates sorts the members not in desired into those kept, with a Skipped
// change saying why, and those to delete: objects first, then Namespaces and CRDs.
func pruneCandidates(st *ParentState, members map[objectKey]*member, desired map[objectKey]bool, opts SyncOptions) ([]Change, []*object, [2][]*member) {
	var (
		changes []Change
		kept    []*object
		doomed  [2][]*member
	)
	keep := func(m *member, reason string) {
		changes = append(changes, Change{Object: m.ref, Action: Skipped, Reason: reason})
		kept = append(kept, &object{ref: m.ref})
	}
	for k, u := range members {
		if desired[k] {
			continue
		}
		gk := u.ref.GroupKind()
		switch {
		case u.partOf != st.Parent.ID():
			continue // cannot happen: listed by the label
		case !opts.Prune:
			keep(u, "left the set; pruning is off")
		case u.pruneDisabled:
			keep(u, "left the set; it has "+AnnotationPrune+" (or "+AnnotationFluxPrune+"): disabled")
		case u.reconcileDisabled:
			keep(u, "left the set; it has "+AnnotationFluxReconcile+": disabled")
		case isDefinition(gk) && !opts.PruneNamespacesAndCRDs:
			keep(u, "left the set; the source does not allow deleting Namespaces and CRDs")
		case isDefinition(gk):
			doomed[1] = append(doomed[1], u)
		default:
			doomed[0] = append(doomed[0], u)
		}
	}
	return changes, kept, doomed
}

// delete deletes u if it is still the object that was listed: the same UID, still a
// member, not marked prune: disabled. A change of the object since it was listed (its
// status, an autoscaler's write) fails the resourceVersion precondition; it is read
// again and deleted at its new version, a few times at most, so that an object that
// changes on its own does not fail every sync that prunes it. One relabelled or marked
// since is left alone (a leftAloneError); one replaced (another UID) is an error, and
// the next sync looks again.
func (a *Applier) delete(ctx context.Context, u *member) error {
	m, err := a.mapper.RESTMapping(u.ref.GroupKind(), u.ref.Version)
	if err != nil {
		return err
	}
	r := a.meta.Resource(m.Resource)
	var ri interface {
		Delete(context.Context, string, metav1.DeleteOptions, ...string) error
		Get(context.Context, string, metav1.GetOptions, ...string) (*metav1.PartialObjectMetadata, error)
	} = r
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		ri = r.Namespace(u.ref.Namespace)
	}
	uid, rv := u.uid, u.resourceVersion
	policy := metav1.DeletePropagationBackground
	const tries = 3
	for try := 1; ; try++ {
		opts := metav1.DeleteOptions{
			Preconditions:     &metav1.Preconditions{UID: &uid, ResourceVersion: &rv},
			PropagationPolicy: &policy,
		}
		err = ri.Delete(ctx, u.ref.Name, opts)
		switch {
		case err == nil, apierrors.IsNotFound(err):
			return nil
		case !apierrors.IsConflict(err):
			return err
		case try == tries:
			// No resourceVersions in the message: it is the same at every try, and
			// the Events of the failures are folded into one.
			return fmt.Errorf("it changed each time it was to be deleted (%d tries); not deleted (the next sync tries again)", tries)
		}
		now, err := ri.Get(ctx, u.ref.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("it changed since it was listed; reading it again: %w", err)
		case now.UID != uid:
			return errors.New("it was replaced (another UID) since it was listed; not deleted (the next sync looks again)")
		case now.Labels[LabelPartOf] != u.partOf:
			return &leftAloneError{reason: "left the set; relabelled since it was listed, no longer a member"}
		case pruneDisabled(now.Annotations):
			return &leftAloneError{reason: "left the set; it has " + AnnotationPrune + " (or " + AnnotationFluxPrune + "): disabled (since it was listed)"}
		case reconcileDisabled(now.Annotations):
			return &leftAloneError{reason: "left the set; it has " + AnnotationFluxReconcile + ": disabled (since it was listed)"}
		}
		rv = now.ResourceVersion
	}
}

// leftAloneError is an object that delete leaves alone on purpose: reason says why.
type leftAloneError struct{ reason string }

func (e *leftAloneError) Error() string { return e.reason }
