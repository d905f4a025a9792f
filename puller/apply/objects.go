package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
)

var (
	gkNamespace = schema.GroupKind{Kind: "Namespace"}
	gkCRD       = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}
	gkSecret    = schema.GroupKind{Kind: "Secret"}
)

// isDefinition reports whether objects of gk go first: Namespaces and CRDs.
func isDefinition(gk schema.GroupKind) bool { return gk == gkNamespace || gk == gkCRD }

// serverFields are metadata fields the apiserver sets; manifests that carry them (an
// object copied from `kubectl get -o yaml`) have them removed before applying.
var serverFields = []string{"resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"}

// crdKinds returns the kinds the CRDs among objs define, with whether each is
// namespaced.
func crdKinds(objs []*unstructured.Unstructured) map[schema.GroupKind]bool {
	out := map[schema.GroupKind]bool{}
	for _, u := range objs {
		if u.GroupVersionKind().GroupKind() != gkCRD {
			continue
		}
		group, _, _ := unstructured.NestedString(u.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(u.Object, "spec", "scope")
		if group != "" && kind != "" {
			out[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
		}
	}
	return out
}

// prepare checks every object and makes what is sent for it. It reports every invalid
// object, not only the first.
func (a *Applier) prepare(ctx context.Context, parent Parent, objs []*unstructured.Unstructured, opts SyncOptions) ([]*object, error) {
	defined := crdKinds(objs)
	var (
		out      []*object
		errs     []*ObjectError
		seen     = map[objectKey]bool{}
		reset    bool
		mappings = newMappingMemo(a.mapper)
	)
	for _, in := range objs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		u := shallowCopy(in)
		ref := RefOf(u)
		fail := func(format string, args ...any) {
			errs = append(errs, &ObjectError{Object: ref, Kind: ErrInvalidObject, Err: fmt.Errorf(format, args...)})
		}
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			fail("no apiVersion or kind")
			continue
		}
		if u.GetName() == "" {
			fail("no metadata.name (generateName is not supported: the object could not be found again)")
			continue
		}
		// Not GetLabels, which reads a label that is no string as no labels at all:
		// the set's label would then replace every label of the object.
		labels, err := stringLabels(u)
		if err != nil {
			fail("%v", err)
			continue
		}
		if v, ok := labels[LabelPartOf]; ok {
			fail("the manifest sets the %s label (%q): membership is the puller's to set", LabelPartOf, v)
			continue
		}
		if v, ok := labels[LabelID]; ok {
			fail("the manifest sets the %s label (%q): an artifact may not make ApplySet parents", LabelID, v)
			continue
		}
		gvk := u.GroupVersionKind()
		gk := gvk.GroupKind()
		mapping, err := mappings.get(gvk)
		if meta.IsNoMatchError(err) && !reset {
			// A CRD installed since the mapper last looked.
			mappings.reset()
			reset = true
			mapping, err = mappings.get(gvk)
		}
		var namespaced bool
		switch {
		case err == nil:
			namespaced = mapping.Scope.Name() == meta.RESTScopeNameNamespace
		case meta.IsNoMatchError(err):
			nsd, ok := defined[gk]
			if !ok {
				fail("the cluster does not serve %s, and no CustomResourceDefinition of the set defines it", gvk.GroupVersion().String()+", Kind="+gvk.Kind)
				continue
			}
			namespaced, mapping = nsd, nil
		default:
			return nil, fmt.Errorf("looking up %s: %w", gvk, err)
		}
		switch {
		case !namespaced:
			u.SetNamespace("")
		case opts.TargetNamespace != "":
			u.SetNamespace(opts.TargetNamespace)
		case u.GetNamespace() == "":
			ref = RefOf(u)
			fail("namespaced and has no metadata.namespace, and the source sets no target namespace")
			continue
		}
		ref = RefOf(u)
		if gk.Group == "" && gk.Kind == string(parent.Kind) && ref.Namespace == parent.Namespace && ref.Name == parent.Name {
			fail("is the ApplySet parent of the set itself")
			continue
		}
		if seen[ref.key()] {
			fail("appears twice in the set")
			continue
		}
		seen[ref.key()] = true
		for _, f := range serverFields {
			unstructured.RemoveNestedField(u.Object, "metadata", f)
		}
		if labels == nil {
			labels = map[string]string{}
		}
		labels[LabelPartOf] = parent.ID()
		u.SetLabels(labels)
		data, err := json.Marshal(u.Object)
		if err != nil {
			fail("encoding: %v", err)
			continue
		}
		policy, err := applyPolicy(u.GetAnnotations())
		if err != nil {
			fail("%v", err)
			continue
		}
		o := &object{ref: ref, mapping: mapping, data: data, stage: 1, force: opts.Force || forceAnnotated(u), policy: policy}
		if isDefinition(gk) {
			o.stage = 0
		}
		out = append(out, o)
	}
	if err := setError(errs); err != nil {
		return nil, err
	}
	return out, nil
}

// applyPolicy reads Flux's apply policy from an object's annotations.
func applyPolicy(a map[string]string) (string, error) {
	if reconcileDisabled(a) {
		return policyIgnore, nil
	}
	switch v := strings.ToLower(a[AnnotationFluxSSA]); v {
	case "", "override", "merge":
		return "", nil
	case policyIfNotPresent, policyIgnore:
		return v, nil
	default:
		return "", fmt.Errorf("annotation %s: %q is not Override, Merge, IfNotPresent or Ignore", AnnotationFluxSSA, a[AnnotationFluxSSA])
	}
}

// forceAnnotated reports whether u asks to be recreated when an immutable field changed.
func forceAnnotated(u *unstructured.Unstructured) bool {
	a := u.GetAnnotations()
	return strings.EqualFold(a[AnnotationForce], "enabled") || strings.EqualFold(a[AnnotationFluxForce], "enabled")
}

// shallowCopy returns a copy of u that prepare may change: its top level and its
// metadata are copied, everything below them is shared with u, which stays as it was.
// (A deep copy of every object was a tenth of what a sync of a thousand allocated.)
func shallowCopy(u *unstructured.Unstructured) *unstructured.Unstructured {
	obj := maps.Clone(u.Object)
	if md, ok := obj["metadata"].(map[string]any); ok {
		obj["metadata"] = maps.Clone(md)
	}
	return &unstructured.Unstructured{Object: obj}
}

// mappingMemo remembers the mapper's answers for one pass over a set. client-go's
// deferred discovery mapper builds and matches several errors at every lookup that
// misses a preferred group, which for a thousand objects of three kinds was about
// 8 MB a sync; a set has a handful of kinds.
type mappingMemo struct {
	mapper meta.ResettableRESTMapper
	got    map[schema.GroupVersionKind]mappingAnswer
}

type mappingAnswer struct {
	mapping *meta.RESTMapping
	err     error
}

func newMappingMemo(m meta.ResettableRESTMapper) *mappingMemo {
	return &mappingMemo{mapper: m, got: map[schema.GroupVersionKind]mappingAnswer{}}
}

// get returns the mapping of gvk's kind at its version.
func (c *mappingMemo) get(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	if a, ok := c.got[gvk]; ok {
		return a.mapping, a.err
	}
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	c.got[gvk] = mappingAnswer{m, err}
	return m, err
}

// reset forgets what the mapper and the memo know.
func (c *mappingMemo) reset() {
	c.mapper.Reset()
	clear(c.got)
}

// normalizeNamespace gives u the namespace prepare would.
func (a *Applier) normalizeNamespace(u *unstructured.Unstructured, set []*object, target string) {
	gk := u.GroupVersionKind().GroupKind()
	namespaced := true
	if m, err := a.mapper.RESTMapping(gk); err == nil {
		namespaced = m.Scope.Name() == meta.RESTScopeNameNamespace
	} else {
		for _, o := range set {
			if o.ref.GroupKind() == gk {
				namespaced = o.ref.Namespace != ""
				break
			}
		}
	}
	switch {
	case !namespaced:
		u.SetNamespace("")
	case target != "":
		u.SetNamespace(target)
	}
}

// mapDeferred maps the objects whose kinds the CRDs of the set just defined, waiting
// for discovery to serve them.
func (a *Applier) mapDeferred(ctx context.Context, objs []*object, timeout time.Duration) error {
	var pending []*object
	for _, o := range objs {
		if o.mapping == nil {
			pending = append(pending, o)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		a.mapper.Reset()
		for _, o := range pending {
			if o.mapping != nil {
				continue
			}
			m, err := a.mapper.RESTMapping(o.ref.GroupKind(), o.ref.Version)
			if err != nil {
				last = err
				return false, nil
			}
			o.mapping = m
		}
		return true, nil
	})
	if err != nil {
		var errs []*ObjectError
		for _, o := range pending {
			if o.mapping == nil {
				errs = append(errs, &ObjectError{Object: o.ref, Kind: ErrDryRun, Err: fmt.Errorf("its kind is still not served after its CRD was established: %v", last)})
			}
		}
		return setError(errs)
	}
	return nil
}

// stringLabels returns u's labels, or an error naming the first label (in key order)
// whose value is not a string.
func stringLabels(u *unstructured.Unstructured) (map[string]string, error) {
	raw, found, err := unstructured.NestedFieldNoCopy(u.Object, "metadata", "labels")
	if err != nil || !found || raw == nil {
		return nil, err
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("metadata.labels is %T, not a map", raw)
	}
	out := make(map[string]string, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v, ok := m[k].(string)
		if !ok {
			return nil, fmt.Errorf("label %s: %v is not a string (quote it)", k, m[k])
		}
		out[k] = v
	}
	return out, nil
}
