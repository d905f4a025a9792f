package apply

import (
	"context"
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
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		var still []ObjectRef
		for _, ref := range pending {
			u, err := a.get(ctx, ref)
			if apierrors.IsNotFound(err) && ref.GroupKind() == (schema.GroupKind{Group: "batch", Kind: "Job"}) {
				continue // completed and removed by its ttlSecondsAfterFinished, as Flux counts it
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
			if ok, why := Ready(u); !ok {
				reasons[ref] = why
				still = append(still, ref)
			}
		}
		pending = still
		return len(pending) == 0, nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var errs []*ObjectError
	for _, ref := range pending {
		errs = append(errs, &ObjectError{Object: ref, Kind: ErrNotReady, Err: fmt.Errorf("after %s: %s", timeout, reasons[ref])})
	}
	return setError(errs)
}

func (a *Applier) get(ctx context.Context, ref ObjectRef) (*unstructured.Unstructured, error) {
	m, err := a.mapper.RESTMapping(ref.GroupKind(), ref.Version)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return a.dyn.Resource(m.Resource).Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	}
	return a.dyn.Resource(m.Resource).Get(ctx, ref.Name, metav1.GetOptions{})
}

// Ready tells whether an object has reached the state its kind promises, and if not,
// why: Namespaces Active, CRDs Established, Deployments, StatefulSets and DaemonSets
// rolled out and available (a StatefulSet with OnDelete once its pods are ready, one
// with a partition once the pods above it are updated), Jobs complete or suspended,
// PersistentVolumeClaims bound; any object with status.observedGeneration behind
// metadata.generation is not ready, nor any with a Stalled or Reconciling condition
// True, and any with a Ready condition must have it True. Other objects are ready once
// they exist. These are kstatus's rules for these kinds, as Flux waits.
func Ready(u *unstructured.Unstructured) (bool, string) {
	gk := u.GroupVersionKind().GroupKind()
	gen := u.GetGeneration()
	if og, ok, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); ok && gen > 0 && og < gen {
		return false, fmt.Sprintf("status.observedGeneration %d is behind metadata.generation %d", og, gen)
	}
	num := func(path ...string) int64 {
		n, _, _ := unstructured.NestedInt64(u.Object, path...)
		return n
	}
	switch gk.String() {
	case "Namespace":
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		if phase != "Active" {
			return false, "phase is " + phase
		}
		return true, ""
	case "CustomResourceDefinition.apiextensions.k8s.io":
		return conditionTrue(u, "Established")
	case "Deployment.apps":
		want := int64(1)
		if r, ok, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); ok {
			want = r
		}
		if _, ok, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); !ok {
			return false, "not observed by its controller yet"
		}
		if up := num("status", "updatedReplicas"); up < want {
			return false, fmt.Sprintf("%d of %d replicas updated", up, want)
		}
		if av := num("status", "availableReplicas"); av < want {
			return false, fmt.Sprintf("%d of %d replicas available", av, want)
		}
		return true, ""
	case "StatefulSet.apps":
		want := int64(1)
		if r, ok, _ := unstructured.NestedInt64(u.Object, "spec", "replicas"); ok {
			want = r
		}
		if rr := num("status", "readyReplicas"); rr < want {
			return false, fmt.Sprintf("%d of %d replicas ready", rr, want)
		}
		// As kstatus: with OnDelete the controller replaces no pod by itself, and with
		// a partition only the pods above it are updated.
		strategy, _, _ := unstructured.NestedString(u.Object, "spec", "updateStrategy", "type")
		if strategy == "OnDelete" {
			return true, ""
		}
		if partition, ok, _ := unstructured.NestedInt64(u.Object, "spec", "updateStrategy", "rollingUpdate", "partition"); ok && partition > 0 {
			if up := num("status", "updatedReplicas"); up < want-partition {
				return false, fmt.Sprintf("%d of %d replicas above the partition updated", up, want-partition)
			}
			return true, ""
		}
		cur, _, _ := unstructured.NestedString(u.Object, "status", "currentRevision")
		upd, _, _ := unstructured.NestedString(u.Object, "status", "updateRevision")
		if cur != upd {
			return false, "rolling out revision " + upd
		}
		return true, ""
	case "DaemonSet.apps":
		want := num("status", "desiredNumberScheduled")
		if _, ok, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration"); !ok {
			return false, "not observed by its controller yet"
		}
		if n := num("status", "updatedNumberScheduled"); n < want {
			return false, fmt.Sprintf("%d of %d pods updated", n, want)
		}
		if n := num("status", "numberAvailable"); n < want {
			return false, fmt.Sprintf("%d of %d pods available", n, want)
		}
		return true, ""
	case "Job.batch":
		if ok, _ := conditionTrue(u, "Failed"); ok {
			return false, "failed"
		}
		if suspended, _, _ := unstructured.NestedBool(u.Object, "spec", "suspend"); suspended {
			return true, "" // as kstatus: nothing to wait for until it is resumed
		}
		return conditionTrue(u, "Complete")
	case "PersistentVolumeClaim":
		phase, _, _ := unstructured.NestedString(u.Object, "status", "phase")
		if phase != "Bound" {
			return false, "phase is " + phase
		}
		return true, ""
	}
	// As kstatus: Stalled True (it gave up) or Reconciling True (still at it) is not
	// ready, whatever else it says.
	for _, typ := range []string{"Stalled", "Reconciling"} {
		if ok, _ := conditionTrue(u, typ); ok {
			c, _ := condition(u, typ)
			msg, _ := c["message"].(string)
			return false, strings.TrimSpace(typ + " " + msg)
		}
	}
	if _, found := condition(u, "Ready"); found {
		return conditionTrue(u, "Ready")
	}
	return true, ""
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
