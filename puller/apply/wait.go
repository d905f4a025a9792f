package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
)

// waitDefinitions waits until the CRDs of objs are established and the Namespaces
// active.
func (a *Applier) waitDefinitions(ctx context.Context, objs []*object, timeout time.Duration) error {
	refs := make([]ObjectRef, 0, len(objs))
	for _, o := range objs {
		refs = append(refs, o.ref)
	}
	return a.WaitReady(ctx, refs, timeout)
}

// WaitReady polls the objects until each is ready by [Ready], or timeout passes (or
// nearly all of what is left of ctx's deadline); the error then names the objects that
// are not, and why.
func (a *Applier) WaitReady(ctx context.Context, refs []ObjectRef, timeout time.Duration) error {
	return a.waitReady(ctx, refs, timeout, waitOptions{jobGoneIsDone: true})
}

// waitOptions says how waitReady reads the objects it waits for.
type waitOptions struct {
	// jobGoneIsDone counts a Job that is not found as done: a Job of the set removed
	// by its ttlSecondsAfterFinished, as Flux counts it. Not for health checks, which
	// name objects outside the set that may never have existed.
	jobGoneIsDone bool
	// namespace is the namespace of a namespaced object referred to without one,
	// decided at each poll (its kind may become known during the wait); "": none.
	namespace string
}

// WaitHealthy is WaitReady for health checks (Flux's spec.healthChecks): objects of the
// set or not; one not found is not ready, whatever its kind; a namespaced one given
// without a namespace is looked for in namespace.
func (a *Applier) WaitHealthy(ctx context.Context, refs []ObjectRef, namespace string, timeout time.Duration) error {
	return a.waitReady(ctx, refs, timeout, waitOptions{namespace: namespace})
}

func (a *Applier) waitReady(ctx context.Context, refs []ObjectRef, timeout time.Duration, opts waitOptions) error {
	// Within ctx's deadline, less a tenth of what is left of it (2 to 30 s): what follows
	// the wait in a sync (the prune, the status) has time, and a timeout says which
	// objects are not ready rather than that the context ended.
	if d, ok := ctx.Deadline(); ok {
		left := time.Until(d)
		if left -= min(max(left/10, 2*time.Second), 30*time.Second); left < timeout {
			timeout = max(left, 250*time.Millisecond)
		}
	}
	pending := append([]ObjectRef(nil), refs...)
	reasons := map[ObjectRef]string{}
	var failed []*ObjectError
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var still []ObjectRef
		for _, ref := range pending {
			named := a.inNamespace(ref, opts.namespace)
			u, err := a.get(ctx, named)
			if meta.IsNoMatchError(err) && a.resetMapper() {
				// A kind installed since the mapper last looked (a CRD of another
				// source): discovery was read again.
				named = a.inNamespace(ref, opts.namespace)
				u, err = a.get(ctx, named)
			}
			if apierrors.IsNotFound(err) && opts.jobGoneIsDone && ref.GroupKind() == (schema.GroupKind{Group: "batch", Kind: "Job"}) {
				continue // completed and removed by its ttlSecondsAfterFinished, as Flux counts it
			}
			if errors.Is(err, errNamespaceRequired) {
				failed = append(failed, &ObjectError{Object: ref, Kind: ErrNotReady, Err: err})
				continue
			}
			if err != nil {
				// The poll's own deadline cut this read: the reason stays the last
				// real one (what the object said), not "context deadline exceeded".
				if ctx.Err() == nil || reasons[ref] == "" {
					reasons[ref] = err.Error()
				}
				still = append(still, ref)
				continue
			}
			switch st, why := readiness(u); st {
			case failedState:
				failed = append(failed, &ObjectError{Object: named, Kind: ErrNotReady, Err: fmt.Errorf("failed: %s", why)})
			case inProgress:
				reasons[ref] = why
				still = append(still, ref)
			}
		}
		pending = still
		if len(failed) > 0 {
			// As Flux's wait (kstatus's Failed status): an object that has failed
			// for good ends the wait at once rather than at the timeout.
			return false, errFailed
		}
		return len(pending) == 0, nil
	})
	if err == nil {
		return nil
	}
	if errors.Is(err, errFailed) {
		return setError(failed)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var errs []*ObjectError
	for _, ref := range pending {
		errs = append(errs, &ObjectError{Object: a.inNamespace(ref, opts.namespace), Kind: ErrNotReady, Err: fmt.Errorf("after %s: %s", timeout, reasons[ref])})
	}
	return setError(errs)
}

// errNamespaceRequired is get's error for a namespaced object referred to without a
// namespace: waiting does not fix it.
var errNamespaceRequired = errors.New("a namespaced kind: its reference needs a namespace")

// errFailed ends WaitReady's poll when an object has failed.
var errFailed = errors.New("an object failed")

// inNamespace gives ref the namespace ns when it has none and its kind, as the mapper
// knows it now, is namespaced.
func (a *Applier) inNamespace(ref ObjectRef, ns string) ObjectRef {
	if ref.Namespace != "" || ns == "" {
		return ref
	}
	if m, err := a.mapper.RESTMapping(ref.GroupKind(), ref.Version); err == nil && m.Scope.Name() == meta.RESTScopeNameNamespace {
		ref.Namespace = ns
	}
	return ref
}

// mapperResetEvery bounds how often a wait reads discovery again for a kind the mapper
// does not know: the mapper is shared, and a reset holds its lock while discovery is
// read, so a health check naming a kind that never comes (a typo) must not keep every
// other lookup waiting.
const mapperResetEvery = 5 * time.Second

// resetMapper resets the mapper unless it was reset less than mapperResetEvery ago, and
// reports whether it did.
func (a *Applier) resetMapper() bool {
	a.resetMu.Lock()
	defer a.resetMu.Unlock()
	if !a.lastReset.IsZero() && time.Since(a.lastReset) < mapperResetEvery {
		return false
	}
	a.mapper.Reset()
	a.lastReset = time.Now()
	return true
}

func (a *Applier) get(ctx context.Context, ref ObjectRef) (*unstructured.Unstructured, error) {
	m, err := a.mapper.RESTMapping(ref.GroupKind(), ref.Version)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if ref.Namespace == "" {
			return nil, errNamespaceRequired
		}
		return a.dyn.Resource(m.Resource).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	return a.dyn.Resource(m.Resource).Get(ctx, ref.Name, metav1.GetOptions{})
}

// Ready tells whether an object has reached the state its kind promises, and if not,
// why: Namespaces Active, CRDs Established, Deployments, StatefulSets and DaemonSets
// rolled out and available (a StatefulSet with OnDelete once its pods are ready, one
// with a partition once the pods above it are updated), Jobs complete or suspended,
// Pods running and ready or succeeded, PersistentVolumeClaims bound; any object being
// deleted, or with status.observedGeneration behind metadata.generation, is not ready,
// nor any with a Stalled or Reconciling condition True, and any with a Ready condition
// must have it True. Other objects are ready once they exist. These are kstatus's rules
// for these kinds, as Flux waits.
func Ready(u *unstructured.Unstructured) (bool, string) {
	st, why := readiness(u)
	return st == ready, why
}

// Failed tells whether an object that is not ready has failed for good, so that waiting
// longer is pointless, and why: a Deployment past its progress deadline, a failed Job, a
// Pod that failed, whose containers crash-loop or that is unschedulable 15 s after its
// creation, a CRD whose names were refused, any object with a Stalled condition True.
// These are the objects kstatus calls Failed, on which Flux's wait stops at once (except
// a Pod in phase Failed, which kstatus counts as done).
func Failed(u *unstructured.Unstructured) (bool, string) {
	st, why := readiness(u)
	return st == failedState, why
}

type state int

const (
	inProgress state = iota
	ready
	failedState
)

func readiness(u *unstructured.Unstructured) (state, string) {
	notReady := func(ok bool, why string) (state, string) {
		if ok {
			return ready, ""
		}
		return inProgress, why
	}
	if u.GetDeletionTimestamp() != nil {
		return inProgress, "being deleted"
	}
	gk := u.GroupVersionKind().GroupKind()
	gen := u.GetGeneration()
	// Checked first: a failure the controller reported of an older generation says
	// nothing of the one just applied.
	if og, ok, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); ok && gen > 0 && og < gen {
		return inProgress, fmt.Sprintf("status.observedGeneration %d is behind metadata.generation %d", og, gen)
	}
	num := func(path ...string) int64 {
		n, _, _ := unstructured.NestedInt64(u.Object, path...)
		return n
	}
	switch gk.String() {
	case "Namespace":
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		if phase != "Active" {
			return inProgress, "phase is " + phase
		}
		return ready, ""
	case "CustomResourceDefinition.apiextensions.k8s.io":
		if c, ok := condition(u, "NamesAccepted"); ok && c["status"] == "False" {
			return failedState, conditionText(c)
		}
		if c, ok := condition(u, "Established"); ok && c["status"] == "False" && c["reason"] != "Installing" {
			return failedState, conditionText(c)
		}
		return notReady(conditionTrue(u, "Established"))
	case "Deployment.apps":
		if c, ok := condition(u, "Progressing"); ok && c["reason"] == "ProgressDeadlineExceeded" {
			return failedState, conditionText(c)
		}
		want := int64(1)
		if r, ok, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); ok {
			want = r
		}
		if _, ok, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); !ok {
			return inProgress, "not observed by its controller yet"
		}
		if up := num("status", "updatedReplicas"); up < want {
			return inProgress, fmt.Sprintf("%d of %d replicas updated", up, want)
		}
		if av := num("status", "availableReplicas"); av < want {
			return inProgress, fmt.Sprintf("%d of %d replicas available", av, want)
		}
		return ready, ""
	case "StatefulSet.apps":
		want := int64(1)
		if r, ok, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); ok {
			want = r
		}
		if rr := num("status", "readyReplicas"); rr < want {
			return inProgress, fmt.Sprintf("%d of %d replicas ready", rr, want)
		}
		// As kstatus: with OnDelete the controller replaces no pod by itself, and with
		// a partition only the pods above it are updated.
		strategy, _, _ := unstructured.NestedString(u.Object, "spec", "updateStrategy", "type")
		if strategy == "OnDelete" {
			return ready, ""
		}
		if partition, ok, _ := unstructured.NestedInt64(u.Object, "spec", "updateStrategy", "rollingUpdate", "partition"); ok && partition > 0 {
			if up := num("status", "updatedReplicas"); up < want-partition {
				return inProgress, fmt.Sprintf("%d of %d replicas above the partition updated", up, want-partition)
			}
			return ready, ""
		}
		cur, _, _ := unstructured.NestedString(u.Object, "status", "currentRevision")
		upd, _, _ := unstructured.NestedString(u.Object, "status", "updateRevision")
		if cur != upd {
			return inProgress, "rolling out revision " + upd
		}
		return ready, ""
	case "DaemonSet.apps":
		want := num("status", "desiredNumberScheduled")
		if _, ok, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); !ok {
			return inProgress, "not observed by its controller yet"
		}
		if n := num("status", "updatedNumberScheduled"); n < want {
			return inProgress, fmt.Sprintf("%d of %d pods updated", n, want)
		}
		if n := num("status", "numberAvailable"); n < want {
			return inProgress, fmt.Sprintf("%d of %d pods available", n, want)
		}
		return ready, ""
	case "Job.batch":
		if c, ok := condition(u, "Failed"); ok && c["status"] == "True" {
			return failedState, conditionText(c)
		}
		if suspended, _, _ := unstructured.NestedBool(u.Object, "spec", "suspend"); suspended {
			return ready, "" // as kstatus: nothing to wait for until it is resumed
		}
		return notReady(conditionTrue(u, "Complete"))
	case "Pod":
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		switch phase {
		case "Succeeded":
			return ready, ""
		case "Failed":
			msg, _, _ := unstructured.NestedString(u.Object, "status", "message")
			return failedState, strings.TrimSpace("phase is Failed " + msg)
		case "Running":
			if ok, _ := conditionTrue(u, "Ready"); ok {
				return ready, ""
			}
			if names := crashLooping(u); len(names) > 0 {
				return failedState, "containers in CrashLoopBackOff: " + strings.Join(names, ", ")
			}
			return inProgress, "running, not ready"
		case "Pending":
			// As kstatus: unschedulable 15 s after its creation, the scheduler's
			// answer is taken as final.
			if c, ok := condition(u, "PodScheduled"); ok && c["status"] == "False" && c["reason"] == "Unschedulable" &&
				time.Since(u.GetCreationTimestamp().Time) > 15*time.Second {
				return failedState, conditionText(c)
			}
		}
		return inProgress, "phase is " + phase
	case "PersistentVolumeClaim":
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		if phase != "Bound" {
			return inProgress, "phase is " + phase
		}
		return ready, ""
	}
	// As kstatus: Stalled True (it gave up: Failed) or Reconciling True (still at it)
	// is not ready, whatever else it says.
	if c, ok := condition(u, "Stalled"); ok && c["status"] == "True" {
		return failedState, conditionText(c)
	}
	if c, ok := condition(u, "Reconciling"); ok && c["status"] == "True" {
		return inProgress, conditionText(c)
	}
	if _, found := condition(u, "Ready"); found {
		return notReady(conditionTrue(u, "Ready"))
	}
	return ready, ""
}

// crashLooping names the containers of a Pod waiting in CrashLoopBackOff.
func crashLooping(u *unstructured.Unstructured) []string {
	var names []string
	statuses, _, _ := unstructured.NestedSlice(u.Object, "status", "containerStatuses")
	for _, s := range statuses {
		m, _ := s.(map[string]any)
		if reason, _, _ := unstructured.NestedString(m, "state", "waiting", "reason"); reason == "CrashLoopBackOff" {
			name, _, _ := unstructured.NestedString(m, "name")
			names = append(names, name)
		}
	}
	return names
}

// conditionText is "TYPE REASON: MESSAGE" of a condition, what is set of it.
func conditionText(c map[string]any) string {
	typ, _ := c["type"].(string)
	out := typ
	if r, _ := c["reason"].(string); r != "" {
		out += " " + r
	}
	if m, _ := c["message"].(string); strings.TrimSpace(m) != "" {
		out += ": " + strings.TrimSpace(m)
	}
	return out
}

func condition(u *unstructured.Unstructured, typ string) (map[string]any, bool) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == typ {
			return m, true
		}
	}
	return nil, false
}

func conditionTrue(u *unstructured.Unstructured, typ string) (bool, string) {
	c, ok := condition(u, typ)
	if !ok {
		return false, "no " + typ + " condition yet"
	}
	if c["status"] == "True" {
		return true, ""
	}
	msg := fmt.Sprintf("%s is %v", typ, c["status"])
	if s, _ := c["message"].(string); s != "" {
		msg += ": " + strings.TrimSpace(s)
	}
	return false, msg
}
