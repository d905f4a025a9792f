package apply

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Label and annotation keys of the ApplySet specification (KEP-3659), as kubectl uses
// them.
const (
	// LabelID marks the parent object; its value is the set's ID.
	LabelID = "applyset.kubernetes.io/id"
	// LabelPartOf marks each member object with the set's ID.
	LabelPartOf = "applyset.kubernetes.io/part-of"
	// AnnotationTooling names the tool that manages the set: "gitless-puller/v0.1.0".
	// Tools must refuse to change sets of other tools.
	AnnotationTooling = "applyset.kubernetes.io/tooling"
	// AnnotationGroupKinds lists the group-kinds of the members, "Kind.group" sorted and
	// comma-separated ("ConfigMap,Deployment.apps").
	AnnotationGroupKinds = "applyset.kubernetes.io/contains-group-kinds"
	// AnnotationNamespaces lists the namespaces of members other than the parent's own.
	AnnotationNamespaces = "applyset.kubernetes.io/additional-namespaces"
)

// ToolName is the tool name of the tooling annotation.
const ToolName = "gitless-puller"

// LabelManagedBy, with the value ToolName, marks an object the puller keeps for itself
// (not a parent, not a member), which no set may take over.
const LabelManagedBy = "app.kubernetes.io/managed-by"

// FieldManager is the field manager of every object and parent the puller applies.
const FieldManager = "gitless-puller"

// AnnotationPrune, set to "disabled" on an object in the cluster, keeps it from being
// pruned when it leaves the set. Flux's kustomize.toolkit.fluxcd.io/prune
// (AnnotationFluxPrune) is read the same way, so that manifests written for Flux keep
// their meaning.
const (
	AnnotationPrune     = "gitless.dev/prune"
	AnnotationFluxPrune = "kustomize.toolkit.fluxcd.io/prune"
)

// Flux's apply policies, read from an object of the set (AnnotationFluxSSA: Override,
// Merge, IfNotPresent or Ignore) or, for AnnotationFluxReconcile: disabled, from the
// object of the set or the one in the cluster: a fleet ported from Flux keeps them.
// IfNotPresent creates the object when it is not in the cluster and then leaves it
// alone; Ignore, and reconcile: disabled, leave it alone altogether (never applied,
// never pruned). Override and Merge apply it as usual: server-side apply leaves the
// fields other managers own, as Flux's Merge does.
const (
	AnnotationFluxSSA       = "kustomize.toolkit.fluxcd.io/ssa"
	AnnotationFluxReconcile = "kustomize.toolkit.fluxcd.io/reconcile"
)

// reconcileDisabled reports whether annotations take an object out of every sync.
func reconcileDisabled(annotations map[string]string) bool {
	return strings.EqualFold(annotations[AnnotationFluxReconcile], "disabled")
}

// pruneDisabled reports whether annotations keep an object from being pruned.
func pruneDisabled(annotations map[string]string) bool {
	return strings.EqualFold(annotations[AnnotationPrune], "disabled") || strings.EqualFold(annotations[AnnotationFluxPrune], "disabled")
}

// AnnotationForce, set to "enabled" on an object of the set, lets a sync recreate the
// object (delete it, then create it) when the cluster refuses the change because an
// immutable field changed, as SyncOptions.Force does for every object. Flux's
// kustomize.toolkit.fluxcd.io/force (AnnotationFluxForce) is read the same way, so that
// manifests written for Flux keep their meaning.
const (
	AnnotationForce     = "gitless.dev/force"
	AnnotationFluxForce = "kustomize.toolkit.fluxcd.io/force"
)

// ParentKind is the kind of an ApplySet parent: ConfigMap or Secret, as kubectl allows
// without extra configuration.
type ParentKind string

// The parent kinds.
const (
	ParentConfigMap ParentKind = "ConfigMap"
	ParentSecret    ParentKind = "Secret"
)

// Parent names an ApplySet parent object. It lives in the puller's own namespace, so it
// exists before any namespace of the set does.
type Parent struct {
	Kind      ParentKind `json:"kind"`
	Namespace string     `json:"namespace"`
	Name      string     `json:"name"`
}

func (p Parent) String() string { return fmt.Sprintf("%s %s/%s", p.Kind, p.Namespace, p.Name) }

// Validate checks the parent reference.
func (p Parent) Validate() error {
	if p.Kind != ParentConfigMap && p.Kind != ParentSecret {
		return fmt.Errorf("ApplySet parent kind %q: want ConfigMap or Secret", p.Kind)
	}
	if errs := validation.IsDNS1123Label(p.Namespace); len(errs) > 0 {
		return fmt.Errorf("ApplySet parent namespace %q: %s", p.Namespace, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Subdomain(p.Name); len(errs) > 0 {
		return fmt.Errorf("ApplySet parent name %q: %s", p.Name, strings.Join(errs, "; "))
	}
	return nil
}

func (p Parent) resource() schema.GroupVersionResource {
	if p.Kind == ParentSecret {
		return schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	}
	return schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
}

// ID is the set's ID as KEP-3659 defines it and kubectl computes it:
// "applyset-" + base64url(sha256("<name>.<namespace>.<kind>.<group>")) + "-v1", with no
// padding. ConfigMaps and Secrets are in the core group, "".
func (p Parent) ID() string {
	sum := sha256.Sum256([]byte(strings.Join([]string{p.Name, p.Namespace, string(p.Kind), ""}, ".")))
	return "applyset-" + base64.RawURLEncoding.EncodeToString(sum[:]) + "-v1"
}

// ParentState is what a parent records: the set's scope (group-kinds and namespaces of
// its members) and the status annotations the caller keeps there.
type ParentState struct {
	Parent Parent
	// Exists is false when the parent object is not there yet.
	Exists bool
	// GroupKinds and Namespaces are the recorded scope of the set: where its members may
	// be. Namespaces includes the parent's own namespace only when members are there.
	GroupKinds []schema.GroupKind
	Namespaces []string
	// Status holds the parent's annotations outside applyset.kubernetes.io/, which the
	// puller uses for status. Keys the caller sets are kept on every write.
	Status map[string]string
	// Annotations are all the parent's annotations as read, including those other
	// clients set (an operator's requests); read-only, never written back.
	Annotations map[string]string
	// tooling is the recorded tooling annotation.
	tooling string
	// written is what the puller last wrote or read, to skip writes that change nothing.
	written map[string]string
}

// Clone returns a deep copy of s.
func (s *ParentState) Clone() *ParentState {
	c := *s
	c.GroupKinds = slices.Clone(s.GroupKinds)
	c.Namespaces = slices.Clone(s.Namespaces)
	c.Status = maps.Clone(s.Status)
	c.Annotations = maps.Clone(s.Annotations)
	c.written = maps.Clone(s.written)
	return &c
}

// ReadParent reads the parent object. A parent that does not exist gives a state with
// Exists false and nothing recorded. A parent that exists but is not a set of this tool
// gives ErrParentConflict.
func (a *Applier) ReadParent(ctx context.Context, p Parent) (*ParentState, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	st := &ParentState{Parent: p, Status: map[string]string{}}
	m, err := a.parent.Resource(p.resource()).Namespace(p.Namespace).Get(ctx, p.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading ApplySet parent %s: %w", p, err)
	}
	st.Exists = true
	if err := a.checkParent(p, m.Labels, m.Annotations); err != nil {
		return nil, err
	}
	ann := m.Annotations
	st.Annotations = maps.Clone(ann)
	st.tooling = ann[AnnotationTooling]
	st.GroupKinds = parseGroupKinds(ann[AnnotationGroupKinds])
	if v := ann[AnnotationNamespaces]; v != "" {
		st.Namespaces = strings.Split(v, ",")
	}
	for k, v := range ann {
		if !strings.HasPrefix(k, "applyset.kubernetes.io/") && ownedStatusKey(k) {
			st.Status[k] = v
		}
	}
	st.written = a.parentAnnotations(st)
	return st, nil
}

// ownedStatusKey reports whether the puller writes this annotation key: status keys are
// under gitless.dev/.
func ownedStatusKey(k string) bool { return strings.HasPrefix(k, "gitless.dev/") }

func (a *Applier) checkParent(p Parent, labels, ann map[string]string) error {
	tooling, ok := ann[AnnotationTooling]
	if !ok {
		return fmt.Errorf("%w: %s exists and is not an ApplySet parent (no %s annotation); rename the source or delete the object", ErrParentConflict, p, AnnotationTooling)
	}
	if name := toolingName(tooling); name != toolingName(a.opts.Tooling) {
		return fmt.Errorf("%w: %s is the parent of an ApplySet managed by %q, not %q", ErrParentConflict, p, tooling, a.opts.Tooling)
	}
	if id := labels[LabelID]; id != p.ID() {
		return fmt.Errorf("%w: %s has %s=%q, want %q", ErrParentConflict, p, LabelID, id, p.ID())
	}
	return nil
}

// toolingName is the tool name of a tooling annotation value "name/version".
func toolingName(v string) string {
	if i := strings.LastIndex(v, "/"); i >= 0 {
		return v[:i]
	}
	return v
}

// parentAnnotations is the full set of annotations the puller owns on the parent.
func (a *Applier) parentAnnotations(st *ParentState) map[string]string {
	ann := map[string]string{
		AnnotationTooling:    a.opts.Tooling,
		AnnotationGroupKinds: formatGroupKinds(st.GroupKinds),
		AnnotationNamespaces: formatNamespaces(st.Namespaces, st.Parent.Namespace),
	}
	for k, v := range st.Status {
		if ownedStatusKey(k) {
			ann[k] = v
		}
	}
	return ann
}

// writeParent applies the parent with every annotation the puller owns (server-side
// apply drops owned annotations that a request leaves out), unless nothing changed.
func (a *Applier) writeParent(ctx context.Context, st *ParentState) error {
	ann := a.parentAnnotations(st)
	if st.Exists && maps.Equal(ann, st.written) {
		return nil
	}
	p := st.Parent
	obj := metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: string(p.Kind)},
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: map[string]string{LabelID: p.ID()}, Annotations: ann},
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	force := true // the puller owns these fields; another tool's parent was refused on read
	_, err = a.parent.Resource(p.resource()).Namespace(p.Namespace).Patch(ctx, p.Name, types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
	if err != nil {
		return fmt.Errorf("writing ApplySet parent %s: %w", p, err)
	}
	st.Exists = true
	st.tooling = a.opts.Tooling
	st.written = ann
	return nil
}

// WriteStatus records status annotations (keys under gitless.dev/) on the parent,
// keeping the set's recorded scope. Keys set to "" are removed. It writes nothing when
// the annotations already hold these values.
func (a *Applier) WriteStatus(ctx context.Context, st *ParentState, status map[string]string) error {
	for k, v := range status {
		if !ownedStatusKey(k) {
			return fmt.Errorf("status annotation %q: keys must start with gitless.dev/", k)
		}
		if v == "" {
			delete(st.Status, k)
		} else {
			st.Status[k] = v
		}
	}
	return a.writeParent(ctx, st)
}

func formatGroupKinds(gks []schema.GroupKind) string {
	s := make([]string, 0, len(gks))
	for _, gk := range gks {
		s = append(s, gk.String()) // "Kind.group", or "Kind" for the core group
	}
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

func parseGroupKinds(v string) []schema.GroupKind {
	if v == "" {
		return nil
	}
	var out []schema.GroupKind
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, schema.ParseGroupKind(s))
		}
	}
	return out
}

// formatNamespaces lists the namespaces other than the parent's own, sorted.
func formatNamespaces(nss []string, parentNS string) string {
	var s []string
	for _, ns := range nss {
		if ns != "" && ns != parentNS {
			s = append(s, ns)
		}
	}
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}
