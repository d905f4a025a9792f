package puller

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/internal/redact"
	"github.com/gitless-dev/gitless/puller/apply"
)

// CommonMetadata holds labels and annotations set on every object of the set, as Flux's
// Kustomization spec.commonMetadata: on the objects' own metadata (not on pod templates
// or selectors), after substitution, replacing a value the object has for the same key.
type CommonMetadata struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// HealthCheck names an object whose readiness (apply.Ready) a sync waits for when the
// source does not wait for its whole set, as Flux's Kustomization spec.healthChecks: an
// object of the set, or one made from it by another controller (a HelmRelease, a
// custom resource). A namespaced object without a namespace is looked for in the
// source's targetNamespace.
type HealthCheck struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace,omitempty"`
}

// reservedPrefixes are label and annotation prefixes commonMetadata may not set: the
// ApplySet's own, which say what set an object belongs to.
var reservedPrefixes = []string{"applyset.kubernetes.io/"}

// validate checks the keys and values of the labels and annotations.
func (c *CommonMetadata) validate() error {
	check := func(field string, m map[string]string, label bool) error {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			f := fmt.Sprintf("commonMetadata.%s[%q]", field, k)
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				return fieldErr(f, "%s", strings.Join(errs, "; "))
			}
			for _, p := range reservedPrefixes {
				if strings.HasPrefix(k, p) {
					return fieldErr(f, "keys under %s are the ApplySet's", p)
				}
			}
			if label {
				if errs := validation.IsValidLabelValue(m[k]); len(errs) > 0 {
					return fieldErr(f, "%q: %s", m[k], strings.Join(errs, "; "))
				}
			}
		}
		return nil
	}
	if err := check("labels", c.Labels, true); err != nil {
		return err
	}
	return check("annotations", c.Annotations, false)
}

// validate checks that the reference names one object.
func (h HealthCheck) validate(field string) error {
	if h.APIVersion == "" {
		return fieldErr(field+".apiVersion", "required (Flux reads a missing one as apps/v1)")
	}
	if _, err := schema.ParseGroupVersion(h.APIVersion); err != nil {
		return fieldErr(field+".apiVersion", "%q: %v", h.APIVersion, err)
	}
	if h.Kind == "" {
		return fieldErr(field+".kind", "required")
	}
	if h.Name == "" {
		return fieldErr(field+".name", "required")
	}
	if strings.ContainsAny(h.Name, "/%") {
		return fieldErr(field+".name", "%q: an object name has no / or %%", h.Name)
	}
	if h.Namespace != "" {
		if errs := validation.IsDNS1123Label(h.Namespace); len(errs) > 0 {
			return fieldErr(field+".namespace", "%q: %s", h.Namespace, strings.Join(errs, "; "))
		}
	}
	return nil
}

// healthRefs returns the source's health checks as object references.
func (s Source) healthRefs() []apply.ObjectRef {
	refs := make([]apply.ObjectRef, 0, len(s.HealthChecks))
	for _, h := range s.HealthChecks {
		gv, _ := schema.ParseGroupVersion(h.APIVersion) // validated
		refs = append(refs, apply.ObjectRef{Group: gv.Group, Version: gv.Version, Kind: h.Kind, Namespace: h.Namespace, Name: h.Name})
	}
	return refs
}

// setCommonMetadata sets c's labels and annotations on every object, as Flux's
// ssautil.SetCommonMetadata: a key the object has already takes c's value.
func setCommonMetadata(objs []*unstructured.Unstructured, c *CommonMetadata) {
	if c == nil {
		return
	}
	for _, o := range objs {
		if len(c.Labels) > 0 {
			l := o.GetLabels()
			if l == nil {
				l = map[string]string{}
			}
			maps.Copy(l, c.Labels)
			o.SetLabels(l)
		}
		if len(c.Annotations) > 0 {
			a := o.GetAnnotations()
			if a == nil {
				a = map[string]string{}
			}
			maps.Copy(a, c.Annotations)
			o.SetAnnotations(a)
		}
	}
}

// Patch is a kustomize patch given in the configuration, as Flux's Kustomization
// spec.patches: a strategic merge patch or a JSON 6902 patch (YAML or JSON), applied to
// the objects Target selects (without one, a strategic merge patch names its object
// itself).
type Patch struct {
	Patch  string       `json:"patch"`
	Target *PatchTarget `json:"target,omitempty"`
}

// PatchTarget selects the objects a Patch applies to; every field set must match
// (names and namespaces are regular expressions, as in kustomize).
type PatchTarget struct {
	Group              string `json:"group,omitempty"`
	Version            string `json:"version,omitempty"`
	Kind               string `json:"kind,omitempty"`
	Name               string `json:"name,omitempty"`
	Namespace          string `json:"namespace,omitempty"`
	LabelSelector      string `json:"labelSelector,omitempty"`
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// Image changes a container image of the set, as Flux's Kustomization spec.images and
// kustomize's images field: the images named Name take NewName, NewTag and/or Digest.
type Image struct {
	Name    string `json:"name"`
	NewName string `json:"newName,omitempty"`
	NewTag  string `json:"newTag,omitempty"`
	Digest  string `json:"digest,omitempty"`
}

// validateKustomize checks namePrefix, nameSuffix, patches and images.
func (s Source) validateKustomize() error {
	for _, f := range []struct{ field, v string }{{"namePrefix", s.NamePrefix}, {"nameSuffix", s.NameSuffix}} {
		if f.v == "" {
			continue
		}
		if len(f.v) > 63 || strings.Trim(f.v, "abcdefghijklmnopqrstuvwxyz0123456789-.") != "" {
			return fieldErr(f.field, "%q: lower-case letters, digits, - and ., at most 63", f.v)
		}
	}
	for i, p := range s.Patches {
		field := fmt.Sprintf("patches[%d]", i)
		if strings.TrimSpace(p.Patch) == "" {
			return fieldErr(field+".patch", "required")
		}
		var v any
		if err := yaml.Unmarshal([]byte(p.Patch), &v); err != nil {
			return fieldErr(field+".patch", "not YAML or JSON: %v", err)
		}
		// What kustomize requires, checked here so that its error, which quotes the
		// patch (and any secret value in it), is not what the source reports.
		switch x := v.(type) {
		case []any:
			if p.Target == nil {
				return fieldErr(field+".target", "required: a JSON 6902 patch names no object")
			}
		case map[string]any:
			if p.Target == nil {
				name, _, _ := unstructured.NestedString(x, "metadata", "name")
				if kind, _ := x["kind"].(string); kind == "" || name == "" {
					return fieldErr(field+".patch", "a strategic merge patch without a target names its object: kind and metadata.name")
				}
			}
		default:
			return fieldErr(field+".patch", "want a strategic merge patch (a mapping) or a JSON 6902 patch (a list)")
		}
		if t := p.Target; t != nil {
			for _, sel := range []struct{ field, v string }{{"labelSelector", t.LabelSelector}, {"annotationSelector", t.AnnotationSelector}} {
				if _, err := labels.Parse(sel.v); err != nil {
					return fieldErr(field+".target."+sel.field, "%q: %v", sel.v, err)
				}
			}
		}
	}
	for i, im := range s.Images {
		field := fmt.Sprintf("images[%d]", i)
		switch {
		case im.Name == "":
			return fieldErr(field+".name", "required")
		case im.NewName == "" && im.NewTag == "" && im.Digest == "":
			return fieldErr(field, "set newName, newTag or digest")
		}
		if im.Digest != "" {
			if err := digest.Digest(im.Digest).Validate(); err != nil {
				return fieldErr(field+".digest", "%q: %v", im.Digest, err)
			}
		}
	}
	return nil
}

// addPatchSecrets adds to set the values that patches write into Secrets, so that an
// error quoting a patch (kustomize quotes the one it cannot apply) does not show them.
func addPatchSecrets(set *redact.Set, patches []Patch) {
	if set == nil {
		return
	}
	for _, p := range patches {
		var v any
		if yaml.Unmarshal([]byte(p.Patch), &v) != nil {
			continue
		}
		toSecret := p.Target != nil && p.Target.Kind == "Secret"
		switch x := v.(type) {
		case map[string]any:
			if toSecret || x["kind"] == "Secret" {
				obj := maps.Clone(x)
				obj["apiVersion"], obj["kind"] = "v1", "Secret"
				set.AddObject(obj)
			}
		case []any:
			if !toSecret {
				continue
			}
			for _, op := range x {
				m, _ := op.(map[string]any)
				path, _ := m["path"].(string)
				field := "stringData"
				if strings.HasPrefix(path, "/data") {
					field = "data"
				}
				// The value as a Secret's field of that name holds it.
				value := m["value"]
				if key := strings.TrimPrefix(strings.TrimPrefix(path, "/"+field), "/"); key != "" && !strings.Contains(key, "/") {
					value = map[string]any{key: value}
				}
				set.AddObject(map[string]any{"apiVersion": "v1", "kind": "Secret", field: value})
			}
		}
	}
}
