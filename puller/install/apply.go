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
	"k8s.io/apimachinery/pkg/runtime/schema"
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
// them over without conflicts. It returns what it applied, "Kind namespace/name", and
// what it skipped and why: an object of a namespace that does not exist yet (a Role to
// impersonate an account the platform has yet to make there).
func Apply(ctx context.Context, cfg *rest.Config, objs []*unstructured.Unstructured) (done, skipped []string, err error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	force := true
	for _, u := range objs {
		gvk := u.GroupVersionKind()
		what := fmt.Sprintf("%s %s", gvk.Kind, u.GetName())
		if u.GetNamespace() != "" {
			what = fmt.Sprintf("%s %s/%s", gvk.Kind, u.GetNamespace(), u.GetName())
		}
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return done, skipped, fmt.Errorf("applying %s: %w", what, err)
		}
		var r dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			r = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		if gvk.Group == "" && gvk.Kind == "Namespace" {
			if u, err = keepStricterPodSecurity(ctx, r, u); err != nil {
				return done, skipped, fmt.Errorf("applying %s: %w", what, err)
			}
		}
		data, err := u.MarshalJSON()
		if err != nil {
			return done, skipped, err
		}
		if _, err := r.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: apply.FieldManager, Force: &force}); err != nil {
			if ns := u.GetNamespace(); apierrors.IsNotFound(err) && ns != "" && !namespaceExists(ctx, dyn, ns) {
				// A Role to impersonate an account of a namespace that the platform, or
				// an artifact of the puller's, has yet to make: the rest is installed.
				skipped = append(skipped, fmt.Sprintf("%s: the namespace %s does not exist yet (apply again once it does)", what, ns))
				continue
			}
			return done, skipped, fmt.Errorf("applying %s: %w", what, err)
		}
		done = append(done, what)
	}
	return done, skipped, nil
}

// namespaceExists reports whether the namespace ns exists (true when that cannot be
// read: the apply's own error then stands).
func namespaceExists(ctx context.Context, dyn dynamic.Interface, ns string) bool {
	_, err := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Get(ctx, ns, metav1.GetOptions{})
	return !apierrors.IsNotFound(err)
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
