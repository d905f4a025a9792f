package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// Options configures an [Applier].
type Options struct {
	// Tooling is the value of the applyset.kubernetes.io/tooling annotation,
	// "gitless-puller/VERSION". Parents of other tools are refused.
	Tooling string
	// Concurrency bounds the requests in flight while dry-running, applying, listing
	// and pruning; 0 means DefaultConcurrency.
	Concurrency int
	// ServiceAccount, when set ("namespace/name"), is impersonated for every request
	// about the set's objects, so that a source can do only what that account's RBAC
	// allows. The parent is always written with the Applier's own identity.
	ServiceAccount string
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
}

// DefaultConcurrency is the number of requests in flight when Options leaves it unset.
const DefaultConcurrency = 4

// DefaultOptions returns Options with the tooling of this package and the default
// concurrency.
func DefaultOptions() Options {
	return Options{Tooling: ToolName + "/v0", Concurrency: DefaultConcurrency}
}

// Applier applies sets of objects to one cluster with server-side apply and keeps them
// as ApplySets. It is safe for concurrent use on different parents.
type Applier struct {
	opts   Options
	dyn    dynamic.Interface
	meta   metadata.Interface
	parent metadata.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
	// resetMu guards lastReset, when a wait last reset the mapper (resetMapper).
	resetMu   sync.Mutex
	lastReset time.Time
	log       *slog.Logger
}

// New returns an Applier for the cluster cfg points at. cfg's rate limits are used as
// they are: set cfg.QPS and cfg.Burst (or QPS < 0 for none) for large sets.
func New(cfg *rest.Config, opts Options) (*Applier, error) {
	if opts.Tooling == "" {
		opts.Tooling = DefaultOptions().Tooling
	}
	if toolingName(opts.Tooling) == opts.Tooling {
		return nil, fmt.Errorf("tooling %q: want NAME/VERSION", opts.Tooling)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	objCfg := rest.CopyConfig(cfg)
	if opts.ServiceAccount != "" {
		ns, name, ok := splitNamespaced(opts.ServiceAccount)
		if !ok {
			return nil, fmt.Errorf("service account %q: want NAMESPACE/NAME", opts.ServiceAccount)
		}
		objCfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + name}
	}
	dyn, err := dynamic.NewForConfig(objCfg)
	if err != nil {
		return nil, err
	}
	md, err := metadata.NewForConfig(objCfg)
	if err != nil {
		return nil, err
	}
	parent, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Applier{
		opts:   opts,
		dyn:    dyn,
		meta:   md,
		parent: parent,
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)),
		log:    log,
	}, nil
}

func splitNamespaced(s string) (ns, name string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], i > 0 && i < len(s)-1
		}
	}
	return "", "", false
}

// SyncOptions configures one [Applier.Apply].
type SyncOptions struct {
	// TargetNamespace, when set, is the namespace of every namespaced object, replacing
	// what the manifests say (as Flux's spec.targetNamespace does). Without it a
	// namespaced object must name its namespace.
	TargetNamespace string
	// Prune deletes the members of the set that are not in the new set of objects.
	Prune bool
	// PruneNamespacesAndCRDs lets pruning delete Namespaces and
	// CustomResourceDefinitions (and with them everything inside).
	PruneNamespacesAndCRDs bool
	// AllowEmpty accepts an empty set of objects, which prunes every member.
	AllowEmpty bool
	// Force recreates an object (deletes it, then creates it) when the cluster refuses
	// its change because an immutable field changed (ErrImmutable), as Flux's
	// spec.force does; the object's annotation AnnotationForce does the same for it
	// alone. The new object is dry-run as a creation first; only members of this set,
	// or objects that could be adopted, are recreated.
	Force bool
	// Wait waits for the applied objects to become ready (see [Ready]) before pruning.
	Wait bool
	// HealthChecks are objects, of the set or not (a HelmRelease another controller
	// makes ready, say), waited for as Wait waits for the set, when Wait is false, as
	// Flux's spec.healthChecks. A namespaced one without a namespace is looked for in
	// TargetNamespace.
	HealthChecks []ObjectRef
	// WaitTimeout bounds each wait (CRDs established, and Wait); 0 means one minute.
	WaitTimeout time.Duration
	// Previous returns the objects of the configuration applied last time. The fields
	// they set are the fields the puller owns: when another field manager has taken one
	// of them, the apply takes it back (forced); a conflicting field that the previous
	// configuration did not set is left to its manager. Nil, or an error, means no
	// field is taken back.
	Previous func(ctx context.Context) ([]*unstructured.Unstructured, error)
	// Status annotations (keys under gitless.dev/) written on the parent with the new
	// scope when the sync succeeds; "" removes a key.
	Status map[string]string
	// Writing, when set, are status annotations written on the parent (with the
	// widened scope) before the first object is created, changed or deleted, so that a
	// sync cut short after that point (a refused write, a kill) is seen as one when the
	// parent is read again. Status should remove them ("") or replace them: the success
	// write ends the sync. A sync that writes no object writes none of them.
	Writing map[string]string
	// Scrub, when set, masks what it knows to be secret in a string: a plan's diffs
	// ([Applier.Plan]) pass every string value of both sides through it.
	Scrub func(string) string
	// Sensitive, when set, says which objects of a plan took values from secrets
	// (variables substituted from a Secret): every value of theirs that the plan
	// changes is masked in the diff, since the value in the cluster may be a secret
	// that nothing here knows any more (rotated since).
	Sensitive func(ObjectRef) bool
	// MemberListed, when set, is called with every member of the set as it is listed
	// from the cluster, before anything is applied or pruned; calls may come from
	// several goroutines at once. The caller learns there, say, the values of the
	// Secrets whose refusal an error may quote.
	MemberListed func(obj map[string]any)
}

// object is one object of the set, prepared for applying.
type object struct {
	ref     ObjectRef
	mapping *meta.RESTMapping // nil until its CRD is established
	data    []byte            // the JSON sent
	stage   int               // 0: Namespaces and CRDs, 1: the rest
	force   bool              // recreate it when an immutable field changed
	// policy is Flux's apply policy: "" (apply), policyIfNotPresent or policyIgnore.
	policy string
}

// reasonReconcileDisabled is why an object marked so in the cluster is left alone.
const reasonReconcileDisabled = "it has " + AnnotationFluxReconcile + ": disabled in the cluster"

// The apply policies of an object of the set other than applying it (AnnotationFluxSSA).
const (
	policyIfNotPresent = "ifnotpresent"
	policyIgnore       = "ignore"
)

// Apply makes the set of objects under parent what objs says, in this order:
//
//  1. check and prepare every object (kind known to the cluster or defined by a CRD
//     of the set, namespace, no ApplySet labels of its own, no duplicates), label it
//     applyset.kubernetes.io/part-of; any invalid object fails the sync, all named;
//  2. list the current members, in the group-kinds and namespaces the parent records;
//  3. Namespaces and CRDs: server-side dry-run, then (4), apply, and wait until
//     Active/Established;
//  4. before anything is applied, record on the parent the union of the old and the
//     new group-kinds and namespaces, so that an interrupted sync leaves nothing
//     untracked;
//  5. server-side dry-run of every other object, all of them before any is applied;
//     an object that belongs to another ApplySet, fails validation or admission, or
//     has an unresolvable conflict fails the sync here;
//  6. server-side apply of the objects the dry-run shows would change, with the one
//     field manager; conflicts forced only on fields the previous configuration set;
//  7. optionally wait for readiness;
//  8. prune members that left the set (see SyncOptions), deleting only objects that
//     carry this set's part-of label, with their UID and resourceVersion as
//     preconditions;
//  9. record the new scope and opts.Status on the parent.
//
// Nothing is written when nothing changes. st is the parent's state from
// [Applier.ReadParent]; Apply updates it. On error the ChangeSet says what was done
// before the error, and the parent keeps the wider scope.
func (a *Applier) Apply(ctx context.Context, st *ParentState, objs []*unstructured.Unstructured, opts SyncOptions) (*ChangeSet, error) {
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = time.Minute
	}
	cs := &ChangeSet{}
	b, err := a.begin(ctx, st, objs, opts, cs)
	if err != nil {
		return cs, err
	}
	set, ignored, members, prev, defs, rest := b.set, b.ignored, b.members, b.prev, b.defs, b.rest
	// Members can only be where the parent says: the scope is widened on the parent
	// before anything is applied.
	newGKs, newNSs := scopeOf(slices.Concat(set, ignored)) // ignored members stay listed
	widen := func() error {
		st.GroupKinds = unionGK(st.GroupKinds, newGKs)
		st.Namespaces = unionStrings(st.Namespaces, newNSs)
		return a.writeParent(ctx, st)
	}
	fail := func(err error) (*ChangeSet, error) {
		cs.sort()
		return cs, err
	}
	marked := len(opts.Writing) == 0
	mark := func() { // into st, for the next parent write
		if !marked {
			for k, v := range opts.Writing {
				st.Status[k] = v
			}
			marked = true
		}
	}

	// stage dry-runs objs as a whole, widens the parent's scope, then applies them.
	stage := func(objs []*object) error {
		t := time.Now()
		plans, err := a.dryRunAll(ctx, st, objs, members, prev, false)
		cs.phase("dry-run", t)
		if err != nil {
			return err
		}
		changing := slices.ContainsFunc(plans, func(p *plan) bool { return p.action != Unchanged })
		if changing && len(objs) > 0 && objs[0].stage == 0 {
			// The set's Namespaces and CRDs change the cluster before the rest can
			// all be dry-run: first the rest that can be already, so that a refusal
			// there leaves nothing applied.
			if early := dryRunnableBefore(rest, objs, plans); len(early) > 0 {
				t = time.Now()
				_, err := a.dryRunAll(ctx, st, early, members, prev, false)
				cs.phase("dry-run", t)
				if err != nil {
					return err
				}
			}
		}
		if changing {
			mark()
		}
		if err := widen(); err != nil {
			return err
		}
		t = time.Now()
		changes, err := a.applyAll(ctx, objs, plans)
		cs.phase("apply", t)
		cs.Changes = append(cs.Changes, changes...)
		return err
	}
	var t time.Time
	if len(defs) > 0 {
		if err := stage(defs); err != nil {
			return fail(err)
		}
		t = time.Now()
		err = a.waitDefinitions(ctx, defs, opts.WaitTimeout)
		if err == nil {
			err = a.mapDeferred(ctx, rest, opts.WaitTimeout)
		}
		cs.phase("wait", t)
		if err != nil {
			return fail(err)
		}
	}
	if err := stage(rest); err != nil {
		return fail(err)
	}
	if opts.Wait {
		t = time.Now()
		err := a.WaitReady(ctx, refsOf(set), opts.WaitTimeout)
		cs.phase("wait", t)
		if err != nil {
			return fail(err)
		}
	} else if len(opts.HealthChecks) > 0 {
		t = time.Now()
		err := a.WaitHealthy(ctx, opts.HealthChecks, opts.TargetNamespace, opts.WaitTimeout)
		cs.phase("wait", t)
		if err != nil {
			return fail(err)
		}
	}

	desired := map[objectKey]bool{}
	for _, o := range slices.Concat(set, ignored) {
		desired[o.ref.key()] = true
	}
	// A prune, once started, is not cut short by ctx (a shutdown): it runs to the end,
	// bounded by its own timeout, so that the set is never left half-pruned. A ctx
	// already done stops the sync before it, with nothing pruned.
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pruneTimeout)
	defer cancel()
	t = time.Now()
	beforeDelete := func() error {
		if marked {
			return nil
		}
		mark()
		return a.writeParent(pctx, st)
	}
	pruned, kept, perr := a.prune(pctx, st, members, desired, opts, beforeDelete)
	cs.phase("prune", t)
	cs.Changes = append(cs.Changes, pruned...)
	cs.sort()
	if perr != nil {
		return cs, perr
	}
	// The new scope and status are st only once written: a refused write leaves st the
	// parent as it is (the wider scope, the last good status), for the caller to record
	// the failure on.
	next := st.Clone()
	keptGKs, keptNSs := scopeOf(kept)
	next.GroupKinds = unionGK(newGKs, keptGKs)
	next.Namespaces = unionStrings(newNSs, keptNSs)
	for k, v := range opts.Status {
		if v == "" {
			delete(next.Status, k)
		} else {
			next.Status[k] = v
		}
	}
	if err := a.writeParent(pctx, next); err != nil {
		return cs, err
	}
	*st = *next
	return cs, nil
}

// pruneTimeout bounds a prune and the parent write after it, which run to the end even
// when the sync's context is cancelled.
const pruneTimeout = 2 * time.Minute

func refsOf(set []*object) []ObjectRef {
	out := make([]ObjectRef, len(set))
	for i, o := range set {
		out[i] = o.ref
	}
	return out
}

// dryRunnableBefore returns the objects of rest that can be dry-run before defs (the
// set's Namespaces and CRDs, with their plans) are applied: of a kind the cluster
// serves and no CRD of the set creates or changes (its schema may be what makes them
// valid), outside the Namespaces the set creates or changes.
func dryRunnableBefore(rest, defs []*object, plans []*plan) []*object {
	newNS, changedGroups := map[string]bool{}, map[string]bool{}
	for i, d := range defs {
		switch d.ref.GroupKind() {
		case gkNamespace:
			// Created, or changed: its new labels may be what admits the objects in
			// it (a Pod Security level, a policy's namespaceSelector).
			if plans[i].action != Unchanged {
				newNS[d.ref.Name] = true
			}
		case gkCRD:
			if plans[i].action != Unchanged {
				// A CRD's name is PLURAL.GROUP.
				if _, group, ok := strings.Cut(d.ref.Name, "."); ok {
					changedGroups[group] = true
				}
			}
		}
	}
	var out []*object
	for _, o := range rest {
		if o.mapping != nil && !changedGroups[o.ref.Group] && !newNS[o.ref.Namespace] {
			out = append(out, o)
		}
	}
	return out
}

// scopeOf returns the group-kinds and namespaces of objects.
func scopeOf(set []*object) ([]schema.GroupKind, []string) {
	var gks []schema.GroupKind
	var nss []string
	for _, o := range set {
		gks = append(gks, o.ref.GroupKind())
		if o.ref.Namespace != "" {
			nss = append(nss, o.ref.Namespace)
		}
	}
	return unionGK(nil, gks), unionStrings(nil, nss)
}

func unionGK(a, b []schema.GroupKind) []schema.GroupKind {
	out := slices.Concat(a, b)
	slices.SortFunc(out, func(x, y schema.GroupKind) int {
		if x.Group != y.Group {
			if x.Group < y.Group {
				return -1
			}
			return 1
		}
		if x.Kind < y.Kind {
			return -1
		} else if x.Kind > y.Kind {
			return 1
		}
		return 0
	})
	return slices.Compact(out)
}

func unionStrings(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// plan is the outcome of an object's dry-run.
type plan struct {
	action    Action
	data      []byte
	recreate  types.UID // the object to delete before applying (Recreated)
	leave     string    // why the object is left as it is in the cluster (Skipped)
	force     bool
	forced    []string
	leftAlone []string
	result    *unstructured.Unstructured // the dry-run's object, when kept
}

// dryRunAll dry-runs every object and returns what to do with each; it fails if any
// object fails, naming them all. keep keeps each dry-run's result in its plan.
func (a *Applier) dryRunAll(ctx context.Context, st *ParentState, objs []*object, members map[objectKey]*member, prev *previous, keep bool) ([]*plan, error) {
	plans := make([]*plan, len(objs))
	errs := make([]*ObjectError, len(objs))
	a.forEach(ctx, len(objs), func(ctx context.Context, i int) {
		p, err := a.dryRun(ctx, st, objs[i], members[objs[i].ref.key()], prev, keep)
		if err != nil {
			errs[i] = asObjectError(objs[i].ref, ErrDryRun, err)
			return
		}
		plans[i] = p
	})
	if err := setError(errs); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return plans, nil
}

// applyAll applies the objects whose plan says they change, and returns a change for
// every object done.
func (a *Applier) applyAll(ctx context.Context, objs []*object, plans []*plan) ([]Change, error) {
	changes := make([]Change, len(objs))
	errs := make([]*ObjectError, len(objs))
	a.forEach(ctx, len(objs), func(ctx context.Context, i int) {
		o, p := objs[i], plans[i]
		if p.leave != "" {
			changes[i] = Change{Object: o.ref, Action: Skipped, Reason: p.leave}
			return
		}
		if p.action == Recreated {
			if err := a.recreate(ctx, o, p); err != nil {
				errs[i] = &ObjectError{Object: o.ref, Kind: ErrApply, Err: err}
				return
			}
		} else if p.action != Unchanged {
			if _, _, err := a.patch(ctx, o, p.data, p.force, false, false); err != nil {
				errs[i] = &ObjectError{Object: o.ref, Kind: ErrApply, Err: err}
				return
			}
		}
		changes[i] = Change{Object: o.ref, Action: p.action, Forced: p.forced, LeftAlone: p.leftAlone}
	})
	var done []Change
	for _, ch := range changes {
		if ch.Action != "" {
			done = append(done, ch)
		}
	}
	if err := setError(errs); err != nil {
		return done, err
	}
	if err := ctx.Err(); err != nil {
		return done, err
	}
	return done, nil
}

func asObjectError(ref ObjectRef, kind error, err error) *ObjectError {
	var oe *ObjectError
	if errors.As(err, &oe) {
		return oe
	}
	return &ObjectError{Object: ref, Kind: kind, Err: err}
}

// dryRun runs the server-side dry-run of o and decides what to do with it; keep keeps
// the object the dry-run returned in the plan.
func (a *Applier) dryRun(ctx context.Context, st *ParentState, o *object, live *member, prev *previous, keep bool) (*plan, error) {
	p := &plan{data: o.data}
	leave := func(why string) (*plan, error) {
		p.action, p.leave = Unchanged, why
		return p, nil
	}
	switch {
	case live != nil && live.reconcileDisabled:
		return leave(reasonReconcileDisabled)
	case o.policy == policyIfNotPresent:
		if live == nil { // not a member: there, but adoptable?
			m, err := a.metaFor(o).Get(ctx, o.ref.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				break // created as usual
			}
			if err != nil {
				return nil, fmt.Errorf("reading the existing object: %w", err)
			}
			if err := adoptable(st, o, m); err != nil {
				return nil, err
			}
		}
		return leave("it exists, and it has " + AnnotationFluxSSA + ": IfNotPresent")
	}
	full := live != nil || keep // a member: compare the dry-run result with it
	res, rv, err := a.patch(ctx, o, o.data, false, true, full)
	if apierrors.IsConflict(err) {
		conflicts := conflictsOf(err)
		if len(conflicts) == 0 {
			return nil, err
		}
		for _, c := range conflicts {
			if c.Field == ".metadata.labels."+LabelPartOf {
				return nil, &ObjectError{Object: o.ref, Kind: ErrForeignObject,
					Err: fmt.Errorf("its %s label is managed by %s; left untouched", LabelPartOf, c.Manager)}
			}
		}
		prevObj, perr := prev.get(ctx, o.ref.key())
		if perr != nil {
			a.log.DebugContext(ctx, "previous configuration unavailable; no field is taken back", "object", o.ref.String(), "error", perr)
		}
		stripped := &unstructured.Unstructured{}
		if err := stripped.UnmarshalJSON(o.data); err != nil {
			return nil, fmt.Errorf("decoding the object again: %w", err)
		}
		for _, c := range conflicts {
			desc := c.Field + " (" + c.Manager + ")"
			if prevObj != nil && hasPath(prevObj.Object, c.Field) {
				p.forced = append(p.forced, desc)
				p.force = true
				continue
			}
			if !removePath(stripped.Object, c.Field) {
				return nil, fmt.Errorf("conflict on %s with field manager %s, which the previous configuration did not set, and the field cannot be left out of the apply", c.Field, c.Manager)
			}
			p.leftAlone = append(p.leftAlone, desc)
		}
		if len(p.leftAlone) > 0 {
			if p.data, err = json.Marshal(stripped.Object); err != nil {
				return nil, err
			}
		}
		res, rv, err = a.patch(ctx, o, p.data, p.force, true, full)
	}
	if apierrors.IsInvalid(err) {
		return a.planRecreate(ctx, st, o, p, err)
	}
	if err != nil {
		return nil, err
	}
	if keep {
		p.result = res
	}
	switch {
	case rv == "":
		p.action = Created
	case live != nil:
		p.action = Configured
		sum, err := objectSum(res)
		if err != nil {
			return nil, err
		}
		if sum == live.sum {
			p.action = Unchanged
		}
	default:
		// It exists but is not a member: adopt it, unless it belongs to another set.
		m, err := a.metaFor(o).Get(ctx, o.ref.Name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading the existing object: %w", err)
		}
		if reconcileDisabled(m.Annotations) {
			return leave(reasonReconcileDisabled)
		}
		if err := adoptable(st, o, m); err != nil {
			return nil, err
		}
		p.action = Configured
	}
	return p, nil
}

// adoptable refuses an existing object that is not a member of the set and may not
// become one: a member of another set, the parent of a set (another source's, or
// another tool's), or what the puller keeps for itself. Taken over by the same field
// manager, the last two would lose what the puller wrote to them.
func adoptable(st *ParentState, o *object, m *metav1.PartialObjectMetadata) error {
	if other := m.Labels[LabelPartOf]; other != "" && other != st.Parent.ID() {
		return &ObjectError{Object: o.ref, Kind: ErrForeignObject,
			Err: fmt.Errorf("it is a member of ApplySet %s; left untouched", other)}
	}
	if id := m.Labels[LabelID]; id != "" {
		return &ObjectError{Object: o.ref, Kind: ErrForeignObject,
			Err: fmt.Errorf("it is the parent of ApplySet %s; left untouched", id)}
	}
	if m.Labels[LabelManagedBy] == ToolName {
		return &ObjectError{Object: o.ref, Kind: ErrForeignObject,
			Err: fmt.Errorf("the puller keeps it for itself (label %s=%s); left untouched", LabelManagedBy, ToolName)}
	}
	return nil
}

// patch server-side applies data for o. full asks for the whole object back; otherwise
// only its metadata comes back (cheaper to send and decode), and the first result is
// nil. The second result is the resourceVersion ("" for an object a dry-run would
// create).
func (a *Applier) patch(ctx context.Context, o *object, data []byte, force, dryRun, full bool) (*unstructured.Unstructured, string, error) {
	po := metav1.PatchOptions{FieldManager: FieldManager, Force: &force}
	if dryRun {
		po.DryRun = []string{metav1.DryRunAll}
		po.FieldValidation = metav1.FieldValidationStrict
	} else {
		// The same bytes passed a strict dry-run.
		po.FieldValidation = metav1.FieldValidationIgnore
	}
	if full {
		u, err := a.dynFor(o).Patch(ctx, o.ref.Name, types.ApplyPatchType, data, po)
		if err != nil {
			return nil, "", err
		}
		return u, u.GetResourceVersion(), nil
	}
	m, err := a.metaFor(o).Patch(ctx, o.ref.Name, types.ApplyPatchType, data, po)
	if err != nil {
		return nil, "", err
	}
	return nil, m.ResourceVersion, nil
}

func (a *Applier) dynFor(o *object) dynamic.ResourceInterface {
	r := a.dyn.Resource(o.mapping.Resource)
	if o.mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.Namespace(o.ref.Namespace)
	}
	return r
}

func (a *Applier) metaFor(o *object) metadata.ResourceInterface {
	r := a.meta.Resource(o.mapping.Resource)
	if o.mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return r.Namespace(o.ref.Namespace)
	}
	return r
}

// forEach calls f for 0..n-1 with at most Concurrency calls at a time. It stops
// starting calls when ctx is done.
func (a *Applier) forEach(ctx context.Context, n int, f func(ctx context.Context, i int)) {
	var g errgroup.Group
	g.SetLimit(max(a.opts.Concurrency, 1))
	for i := 0; i < n && ctx.Err() == nil; i++ {
		g.Go(func() error { f(ctx, i); return nil })
	}
	_ = g.Wait()
}

// previous loads the previous configuration once, when a conflict first needs it.
type previous struct {
	load      func(ctx context.Context) ([]*unstructured.Unstructured, error)
	normalize func(*unstructured.Unstructured)
	once      sync.Once
	objs      map[objectKey]*unstructured.Unstructured
	err       error
}

func (p *previous) get(ctx context.Context, k objectKey) (*unstructured.Unstructured, error) {
	if p.load == nil {
		return nil, nil
	}
	p.once.Do(func() {
		objs, err := p.load(ctx)
		if err != nil {
			p.err = err
			return
		}
		p.objs = map[objectKey]*unstructured.Unstructured{}
		for _, o := range objs {
			o = o.DeepCopy()
			p.normalize(o)
			p.objs[RefOf(o).key()] = o
		}
	})
	return p.objs[k], p.err
}
