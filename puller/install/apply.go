package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/gitless-dev/gitless/puller/apply"
)

// Objects parses a manifest stream (Manifests' output) into objects, in order.
func Objects(manifests []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifests), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if len(u.Object) > 0 {
			out = append(out, u)
		}
	}
}

// Apply server-side applies the objects in order, with the puller's own field manager
// (apply.FieldManager), so that a source whose artifact holds the same objects takes
// them over without conflicts. It returns what it applied, "Kind namespace/name".
func Apply(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) ([]string, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	force := true
	var done []string
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		what := fmt.Sprintf("%s %s", gvk.Kind, u.GetName())
		if u.GetNamespace() != "" {
			what = fmt.Sprintf("%s %s/%s", gvk.Kind, u.GetNamespace(), u.GetName())
		}
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return done, fmt.Errorf("applying %s: %w", what, err)
		}
		var r dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			r = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		if gvk.Group == "" && gvk.Kind == "Namespace" {
			if u, err = keepStricterPodSecurity(ctx, r, u); err != nil {
				return done, fmt.Errorf("applying %s: %w", what, err)
			}
		}
		data, err := u.MarshalJSON()
		if err != nil {
			return done, err
		}
		if _, err := r.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: apply.FieldManager, Force: &force}); err != nil {
			return done, fmt.Errorf("applying %s: %w", what, err)
		}
		done = append(done, what)
	}
	return done, nil
}

// podSecurityEnforce is the label of a namespace's Pod Security level.
const podSecurityEnforce = "pod-security.kubernetes.io/enforce"

// keepStricterPodSecurity returns ns with the namespace's own Pod Security level when
// it exists with a stricter one: install never weakens a tenant's namespace (a
// restricted one stays restricted, not the baseline tenants.yaml writes). The level is
// applied, not left out: a label the same field manager (the puller's, which may have
// applied the namespace from an artifact) owned and leaves out would be deleted.
func keepStricterPodSecurity(ctx context.Context, r dynamic.ResourceInterface, ns *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	want, ok := ns.GetLabels()[podSecurityEnforce]
	if !ok {
		return ns, nil
	}
	live, err := r.Get(ctx, ns.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ns, nil
	}
	if err != nil {
		return nil, err
	}
	level := map[string]int{"privileged": 0, "baseline": 1, "restricted": 2}
	have, set := live.GetLabels()[podSecurityEnforce]
	if !set || level[have] <= level[want] {
		return ns, nil
	}
	out := ns.DeepCopy()
	labels := out.GetLabels()
	labels[podSecurityEnforce] = have
	out.SetLabels(labels)
	return out, nil
}
