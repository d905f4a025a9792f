package apply

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ObjectRef names an object of the set.
type ObjectRef struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// RefOf returns the reference of an object.
func RefOf(o *unstructured.Unstructured) ObjectRef {
	gvk := o.GroupVersionKind()
	return ObjectRef{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
}

// GroupKind is the object's group and kind.
func (r ObjectRef) GroupKind() schema.GroupKind {
	return schema.GroupKind{Group: r.Group, Kind: r.Kind}
}

// key identifies the object regardless of version.
func (r ObjectRef) key() objectKey {
	return objectKey{Group: r.Group, Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

// String is "Kind.group namespace/name", or "Kind name" for core cluster-scoped objects:
// how the object is named in errors and status.
func (r ObjectRef) String() string {
	gk := r.Kind
	if r.Group != "" {
		gk += "." + r.Group
	}
	if r.Namespace == "" {
		return gk + " " + r.Name
	}
	return gk + " " + r.Namespace + "/" + r.Name
}

type objectKey struct{ Group, Kind, Namespace, Name string }

// Action is what a sync did to one object.
type Action string

// The actions, as fluxcd/pkg/ssa names them (with Pruned for its Deleted).
const (
	Created    Action = "created"
	Configured Action = "configured"
	// Recreated: an object deleted and created again, because the cluster refused the
	// change of an immutable field and the sync was allowed to force it.
	Recreated Action = "recreated"
	Unchanged Action = "unchanged"
	Pruned    Action = "pruned"
	// Skipped: an object that left the set but was kept (pruning is off, the object is a
	// Namespace or CRD and the source does not allow deleting those, or it carries a
	// prune: disabled annotation), or one of the set left as it is by Flux's apply
	// policies (ssa: IfNotPresent or Ignore, reconcile: disabled); Change.Reason says
	// which.
	Skipped Action = "skipped"
)

// Change is what happened to one object.
type Change struct {
	Object ObjectRef `json:"object"`
	Action Action    `json:"action"`
	// Forced lists fields that another field manager had taken and that the puller took
	// back with a forced apply, because the previously applied configuration set them
	// (drift correction). "field (manager)".
	Forced []string `json:"forced,omitempty"`
	// LeftAlone lists fields of the manifest that another field manager owns and the
	// puller never applied before: they were left out of the apply, keeping the other
	// manager's value. "field (manager)".
	LeftAlone []string `json:"leftAlone,omitempty"`
	// Reason says why an object was skipped, or, in a plan, why it was not dry-run.
	Reason string `json:"reason,omitempty"`
	// Diff, in a plan ([Applier.Plan]), is the unified diff of a Configured object's
	// YAML in the cluster and after the apply ([ObjectDiff]).
	Diff string `json:"diff,omitempty"`
}

// ChangeSet is the result of a sync: one Change per object of the new set plus one per
// object pruned or skipped from the old set, sorted by object.
type ChangeSet struct {
	Changes []Change `json:"changes"`
	// Phases says how long each step took: "list", "dry-run", "apply", "wait",
	// "prune" (Namespaces and CRDs included in dry-run and apply).
	Phases map[string]time.Duration `json:"phases,omitempty"`
}

func (c *ChangeSet) phase(name string, start time.Time) {
	if c.Phases == nil {
		c.Phases = map[string]time.Duration{}
	}
	c.Phases[name] += time.Since(start)
}

// Count returns the number of changes with action a.
func (c *ChangeSet) Count(a Action) int {
	if c == nil {
		return 0
	}
	n := 0
	for _, ch := range c.Changes {
		if ch.Action == a {
			n++
		}
	}
	return n
}

// Writes counts the objects written: created, configured, recreated and pruned.
func (c *ChangeSet) Writes() int {
	return c.Count(Created) + c.Count(Configured) + c.Count(Recreated) + c.Count(Pruned)
}

// Summary is a one-line account: "3 created, 1 configured, 10 unchanged, 2 pruned".
func (c *ChangeSet) Summary() string {
	var parts []string
	for _, a := range []Action{Created, Configured, Recreated, Unchanged, Pruned, Skipped} {
		if n := c.Count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	if len(parts) == 0 {
		return "no objects"
	}
	return strings.Join(parts, ", ")
}

func (c *ChangeSet) sort() {
	slices.SortFunc(c.Changes, func(a, b Change) int { return strings.Compare(a.Object.String(), b.Object.String()) })
}
