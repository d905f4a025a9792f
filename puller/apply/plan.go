package apply

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pmezard/go-difflib/difflib"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Plan says what [Applier.Apply] would do with objs, and writes nothing: the objects are
// checked and prepared as Apply prepares them, the members listed, every object
// dry-run server-side (admission and validation included, as the source's service
// account when it has one) and the members that left the set sorted into pruned and
// kept as Apply's prune would sort them. A Configured object's Change carries a
// unified diff of its YAML in the cluster and after the apply (Diff).
//
// An object that cannot be dry-run before the set's new or changed Namespaces and
// CRDs exist is reported Created (Configured if it is a member) with a Reason saying it
// was not dry-run. Waits and health checks are not run. Errors are Apply's: an object
// the dry-run refuses fails the plan, naming it.
func (a *Applier) Plan(ctx context.Context, st *ParentState, objs []*unstructured.Unstructured, opts SyncOptions) (*ChangeSet, error) {
	cs := &ChangeSet{}
	b, err := a.begin(ctx, st, objs, opts, cs)
	if err != nil {
		return cs, err
	}
	set, ignored, members, prev, defs, rest := b.set, b.ignored, b.members, b.prev, b.defs, b.rest
	t := time.Now()
	defPlans, err := a.dryRunAll(ctx, st, defs, members, prev, true)
	if err != nil {
		cs.phase("dry-run", t)
		return cs, err
	}
	runnable := dryRunnableBefore(rest, defs, defPlans)
	restPlans, err := a.dryRunAll(ctx, st, runnable, members, prev, true)
	cs.phase("dry-run", t)
	if err != nil {
		return cs, err
	}
	t = time.Now()
	planned, err := a.planChanges(ctx, slices.Concat(defs, runnable), slices.Concat(defPlans, restPlans), opts)
	cs.phase("diff", t)
	if err != nil {
		return cs, err
	}
	cs.Changes = append(cs.Changes, planned...)
	for _, o := range rest {
		if slices.Contains(runnable, o) {
			continue
		}
		ch := Change{Object: o.ref, Action: Created,
			Reason: "not dry-run: its Namespace or CustomResourceDefinition is created or changed by this set first"}
		if members[o.ref.key()] != nil {
			ch.Action = Configured
		}
		cs.Changes = append(cs.Changes, ch)
	}

	desired := map[objectKey]bool{}
	for _, o := range slices.Concat(set, ignored) {
		desired[o.ref.key()] = true
	}
	kept, _, doomed := pruneCandidates(st, members, desired, opts)
	cs.Changes = append(cs.Changes, kept...)
	for _, m := range slices.Concat(doomed[0], doomed[1]) {
		cs.Changes = append(cs.Changes, Change{Object: m.ref, Action: Pruned})
	}
	cs.sort()
	return cs, nil
}

// begun is what Apply and Plan begin with.
type begun struct {
	set, ignored []*object // the set to apply; what it says to leave alone
	defs, rest   []*object // set: its Namespaces and CRDs; the others
	members      map[objectKey]*member
	prev         *previous
}

// begin prepares objs (every object checked, all problems named), takes out what the
// set leaves alone (recorded in cs as skipped), and lists the members where the parent
// says they can be.
func (a *Applier) begin(ctx context.Context, st *ParentState, objs []*unstructured.Unstructured, opts SyncOptions, cs *ChangeSet) (*begun, error) {
	set, err := a.prepare(ctx, st.Parent, objs, opts)
	if err != nil {
		return nil, err
	}
	if len(set) == 0 && !opts.AllowEmpty {
		return nil, ErrEmptySet
	}
	b := &begun{}
	b.set, b.ignored = splitIgnored(set)
	cs.Changes = append(cs.Changes, ignoredChanges(b.ignored)...)
	t := time.Now()
	b.members, err = a.listMembers(ctx, st, opts.MemberListed)
	cs.phase("list", t)
	if err != nil {
		return nil, err
	}
	b.prev = &previous{load: opts.Previous, normalize: func(u *unstructured.Unstructured) {
		a.normalizeNamespace(u, b.set, opts.TargetNamespace)
	}}
	for _, o := range b.set {
		if o.stage == 0 {
			b.defs = append(b.defs, o)
		} else {
			b.rest = append(b.rest, o)
		}
	}
	return b, nil
}

// splitIgnored takes out of set the objects the set says to leave alone (Flux's
// ssa: Ignore, reconcile: disabled): neither applied nor pruned.
func splitIgnored(set []*object) (rest, ignored []*object) {
	rest = slices.DeleteFunc(set, func(o *object) bool {
		if o.policy == policyIgnore {
			ignored = append(ignored, o)
			return true
		}
		return false
	})
	return rest, ignored
}

func ignoredChanges(ignored []*object) []Change {
	var out []Change
	for _, o := range ignored {
		out = append(out, Change{Object: o.ref, Action: Skipped,
			Reason: "it has " + AnnotationFluxSSA + ": Ignore or " + AnnotationFluxReconcile + ": disabled"})
	}
	return out
}

// planChanges turns dry-run plans into Changes, with the diff of every object the
// apply would change in place.
func (a *Applier) planChanges(ctx context.Context, objs []*object, plans []*plan, opts SyncOptions) ([]Change, error) {
	changes := make([]Change, len(objs))
	errs := make([]*ObjectError, len(objs))
	a.forEach(ctx, len(objs), func(ctx context.Context, i int) {
		o, p := objs[i], plans[i]
		if p.leave != "" {
			changes[i] = Change{Object: o.ref, Action: Skipped, Reason: p.leave}
			return
		}
		changes[i] = Change{Object: o.ref, Action: p.action, Forced: p.forced, LeftAlone: p.leftAlone}
		if p.action != Configured || p.result == nil {
			return
		}
		live, err := a.dynFor(o).Get(ctx, o.ref.Name, metav1.GetOptions{})
		if err != nil {
			errs[i] = &ObjectError{Object: o.ref, Kind: ErrDryRun, Err: fmt.Errorf("reading it to compare: %w", err)}
			return
		}
		d, err := objectDiff(live, p.result, opts.Scrub, opts.Sensitive != nil && opts.Sensitive(o.ref))
		if err != nil {
			errs[i] = &ObjectError{Object: o.ref, Kind: ErrDryRun, Err: err}
			return
		}
		changes[i].Diff = d
	})
	if err := setError(errs); err != nil {
		return nil, err
	}
	return changes, ctx.Err()
}

// diffDropped are the metadata fields left out of a diff: the apiserver's bookkeeping,
// which a change moves on its own.
var diffDropped = []string{"managedFields", "resourceVersion", "generation"}

// lastApplied is kubectl's copy of what it applied, which holds a Secret's values.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// ObjectDiff is a unified diff of the YAML of live (the object in the cluster) and
// planned (as an apply would leave it), without the managed fields, resourceVersion and
// generation; "" when they are the same. A Secret's values, and kubectl's
// last-applied-configuration annotation of a Secret, are masked: "***" where both sides
// have the same value, "*** (before)" and "*** (after)" where it changes.
func ObjectDiff(live, planned *unstructured.Unstructured) (string, error) {
	return objectDiff(live, planned, nil, false)
}

// objectDiff is ObjectDiff with every string value of both sides passed through scrub
// (when set), and with maskChanged every value that differs masked.
func objectDiff(live, planned *unstructured.Unstructured, scrub func(string) string, maskChanged bool) (string, error) {
	l, p := live.DeepCopy(), planned.DeepCopy()
	for _, u := range []*unstructured.Unstructured{l, p} {
		for _, f := range diffDropped {
			unstructured.RemoveNestedField(u.Object, "metadata", f)
		}
	}
	if l.GroupVersionKind().GroupKind() == gkSecret {
		for _, f := range [][]string{{"data"}, {"stringData"}, {"metadata", "annotations"}} {
			maskValues(l.Object, p.Object, f, f[0] == "metadata")
		}
	}
	// A value that changes is masked on both sides when the object is sensitive, or
	// when either side holds something scrub knows: masked after the comparison, the
	// change would not show at all.
	secret := func(v any) bool {
		s, ok := v.(string)
		return ok && scrub != nil && scrub(s) != s
	}
	if maskChanged || scrub != nil {
		maskChangedValues(l.Object, p.Object, func(a, b any) bool { return maskChanged || secret(a) || secret(b) })
	}
	if scrub != nil {
		l.Object, p.Object = scrubValues(l.Object, scrub).(map[string]any), scrubValues(p.Object, scrub).(map[string]any)
	}
	ly, err := yaml.Marshal(l.Object)
	if err != nil {
		return "", fmt.Errorf("encoding the object in the cluster: %w", err)
	}
	py, err := yaml.Marshal(p.Object)
	if err != nil {
		return "", fmt.Errorf("encoding the object as planned: %w", err)
	}
	if string(ly) == string(py) {
		return "", nil
	}
	ref := RefOf(planned).String()
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(string(ly)), B: difflib.SplitLines(string(py)),
		FromFile: "cluster: " + ref, ToFile: "planned: " + ref, Context: 3,
	})
}

// scrubValues returns v with scrub applied to every string in it.
func scrubValues(v any, scrub func(string) string) any {
	switch x := v.(type) {
	case string:
		return scrub(x)
	case map[string]any:
		for k, e := range x {
			x[k] = scrubValues(e, scrub)
		}
	case []any:
		for i, e := range x {
			x[i] = scrubValues(e, scrub)
		}
	}
	return v
}

// maskChangedValues masks, in a and b, the values where the two differ and mask says
// so (a leaf, or a whole list or map that only one side has, or two lists of other
// lengths), leaving the keys.
func maskChangedValues(a, b map[string]any, mask func(a, b any) bool) {
	for k, av := range a {
		bv, ok := b[k]
		if !ok {
			if mask(av, nil) {
				a[k] = "***"
			}
			continue
		}
		am, aok := av.(map[string]any)
		bm, bok := bv.(map[string]any)
		if aok && bok {
			maskChangedValues(am, bm, mask)
			continue
		}
		al, alok := av.([]any)
		bl, blok := bv.([]any)
		if alok && blok && len(al) == len(bl) {
			for i := range al {
				x, y := map[string]any{"v": al[i]}, map[string]any{"v": bl[i]}
				maskChangedValues(x, y, mask)
				al[i], bl[i] = x["v"], y["v"]
			}
			continue
		}
		if fmt.Sprint(av) != fmt.Sprint(bv) && mask(av, bv) {
			a[k], b[k] = "*** (before)", "*** (after)"
		}
	}
	for k, bv := range b {
		if _, ok := a[k]; !ok && mask(nil, bv) {
			b[k] = "***"
		}
	}
}

// maskValues replaces the values of the map at path in both objects. With onlyLastApplied
// only kubectl's last-applied-configuration key is masked (an annotations map).
func maskValues(a, b map[string]any, path []string, onlyLastApplied bool) {
	am, _, _ := unstructured.NestedMap(a, path...)
	bm, _, _ := unstructured.NestedMap(b, path...)
	for k, av := range am {
		if onlyLastApplied && k != lastApplied {
			continue
		}
		bv, ok := bm[k]
		switch {
		case !ok:
			am[k] = "***"
		case fmt.Sprint(av) == fmt.Sprint(bv):
			am[k], bm[k] = "***", "***"
		default:
			am[k], bm[k] = "*** (before)", "*** (after)"
		}
	}
	for k := range bm {
		if _, ok := am[k]; !ok && (!onlyLastApplied || k == lastApplied) {
			bm[k] = "***"
		}
	}
	for _, x := range []struct {
		obj map[string]any
		m   map[string]any
	}{{a, am}, {b, bm}} {
		if x.m != nil {
			_ = unstructured.SetNestedMap(x.obj, x.m, path...)
		}
	}
}
