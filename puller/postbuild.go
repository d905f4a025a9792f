package puller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/fluxcd/pkg/envsubst"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/internal/redact"
	"github.com/gitless-dev/gitless/puller/apply"
)

// PostBuild is what is done to a source's objects after the build and before they are
// applied: Flux's Kustomization spec.postBuild, so that per-cluster values
// (${cluster_name}) port unchanged.
type PostBuild struct {
	// Substitute maps variable names to values; it wins over SubstituteFrom.
	Substitute map[string]string `json:"substitute,omitempty"`
	// SubstituteFrom reads variables from the data of ConfigMaps and Secrets in the
	// puller's namespace, in order (a later one wins).
	SubstituteFrom []SubstituteReference `json:"substituteFrom,omitempty"`
}

// SubstituteReference names a ConfigMap or Secret whose data keys are variables.
type SubstituteReference struct {
	// Kind is ConfigMap or Secret.
	Kind string `json:"kind"`
	// Name is the object's name, in the puller's namespace.
	Name string `json:"name"`
	// Optional: a missing object is no error (its variables are unset).
	Optional bool `json:"optional,omitempty"`
}

// AnnotationSubstitute, set to "disabled" as a label or an annotation of an object,
// leaves the object as built (Flux's opt-out, the same key).
const AnnotationSubstitute = "kustomize.toolkit.fluxcd.io/substitute"

// varName is what a variable name must look like (Flux's rule).
var varName = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

// ErrSubstitution: a variable could not be substituted (unset without a default, bad
// syntax) or its source could not be read. Nothing was applied.
var ErrSubstitution = errors.New("variable substitution failed")

func (pb *PostBuild) validate() error {
	names := make([]string, 0, len(pb.Substitute))
	for k := range pb.Substitute {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !varName.MatchString(k) {
			return fieldErr("postBuild.substitute."+k, "not a variable name (want %s)", varName)
		}
	}
	for i, r := range pb.SubstituteFrom {
		f := fmt.Sprintf("postBuild.substituteFrom[%d]", i)
		if r.Kind != "ConfigMap" && r.Kind != "Secret" {
			return fieldErr(f+".kind", "%q: want ConfigMap or Secret", r.Kind)
		}
		if errs := validation.IsDNS1123Subdomain(r.Name); len(errs) > 0 {
			return fieldErr(f+".name", "%q: %s", r.Name, strings.Join(errs, "; "))
		}
	}
	return nil
}

// variables reads the source's variables: SubstituteFrom in order, then Substitute.
// Values lose their newlines, as in Flux. The values read from Secrets go to secrets
// (when not nil), so that no error or log quotes them.
func (p *Puller) variables(ctx context.Context, pb *PostBuild, secrets *redact.Set) (map[string]string, error) {
	vars := map[string]string{}
	set := func(where, k, v string) error {
		if !varName.MatchString(k) {
			return fmt.Errorf("%w: %s: key %q is not a variable name (want %s)", ErrSubstitution, where, k, varName)
		}
		vars[k] = strings.ReplaceAll(v, "\n", "")
		return nil
	}
	ns := p.opts.Namespace
	for i, r := range pb.SubstituteFrom {
		where := fmt.Sprintf("postBuild.substituteFrom[%d]: %s %s/%s", i, r.Kind, ns, r.Name)
		var data map[string]string
		switch r.Kind {
		case "ConfigMap":
			cm, err := p.kube.CoreV1().ConfigMaps(ns).Get(ctx, r.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) && r.Optional {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrSubstitution, where, err)
			}
			data = cm.Data
		case "Secret":
			s, err := p.kube.CoreV1().Secrets(ns).Get(ctx, r.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) && r.Optional {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrSubstitution, where, err)
			}
			data = secretStrings(s)
			if secrets != nil {
				for _, v := range data {
					secrets.Add(v)
					secrets.Add(strings.ReplaceAll(v, "\n", ""))
				}
			}
		}
		for k, v := range data {
			if err := set(where, k, v); err != nil {
				return nil, err
			}
		}
	}
	for k, v := range pb.Substitute {
		if err := set("postBuild.substitute", k, v); err != nil {
			return nil, err
		}
	}
	return vars, nil
}

func secretStrings(s *corev1.Secret) map[string]string {
	out := make(map[string]string, len(s.Data)+len(s.StringData))
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

// Substitute replaces ${var}, ${var:=default} and the other forms of Flux's envsubst
// (github.com/fluxcd/pkg/envsubst, the library Flux's kustomize-controller uses) in
// each object's strings and keys, as Flux's postBuild does in the object's YAML,
// except in objects labelled or annotated AnnotationSubstitute: disabled. Each string
// is substituted on its own: a value is never read as YAML syntax (Flux's text
// substitution reads a value "*x" as an alias, "!x" as a tag and "a #b" as "a"); a
// string a substitution changed takes the type Flux's reading gives it (scalarOf:
// ${replicas} → 3). Unlike Flux's default, a variable that is
// unset and has no default is an error (Flux's StrictPostBuildSubstitutions), so that
// nothing is applied with a hole in it. Every object that fails is named; values never
// appear in errors.
func Substitute(objs []*unstructured.Unstructured, vars map[string]string) ([]*unstructured.Unstructured, error) {
	lookup := func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
	out := make([]*unstructured.Unstructured, len(objs))
	var errs []error
	for i, o := range objs {
		if o.GetLabels()[AnnotationSubstitute] == "disabled" || o.GetAnnotations()[AnnotationSubstitute] == "disabled" {
			out[i] = o
			continue
		}
		u, err := substituteOne(o, lookup)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", apply.RefOf(o), err))
			if len(errs) == 20 {
				break
			}
			continue
		}
		out[i] = u
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrSubstitution, errors.Join(errs...))
	}
	return out, nil
}

// substituteOne substitutes the variables in every string of o, its keys included.
// Each string is substituted on its own, so a value is never read as YAML syntax (a
// leading * or !, a " #"): it stays the string it is. Only a string that a
// substitution changed takes another type, the one Flux's text substitution gives it
// (scalarOf). An error names the field and the variable, never a value.
func substituteOne(o *unstructured.Unstructured, lookup func(string) (string, bool)) (*unstructured.Unstructured, error) {
	v, changed, err := substituteValue(o.Object, lookup)
	if err != nil {
		return nil, err
	}
	if !changed {
		return o, nil
	}
	return &unstructured.Unstructured{Object: v.(map[string]any)}, nil
}

// substituteValue returns v with its strings substituted, and whether any changed; v
// itself is left as it is (a changed map or list is a copy). An error is a
// *substitutionError naming the field.
func substituteValue(v any, lookup func(string) (string, bool)) (any, bool, error) {
	switch t := v.(type) {
	case string:
		if !strings.Contains(t, "$") {
			return t, false, nil
		}
		s, err := envsubst.Eval(t, lookup)
		if err != nil {
			return nil, false, &substitutionError{err: err}
		}
		if s == t {
			return t, false, nil
		}
		return scalarOf(t, s), true, nil
	case map[string]any:
		var out map[string]any
		for k, x := range t {
			nk := k
			if strings.Contains(k, "$") {
				var err error
				if nk, err = envsubst.Eval(k, lookup); err != nil {
					return nil, false, &substitutionError{path: "." + k + " (the key)", err: err}
				}
			}
			nx, changed, err := substituteValue(x, lookup)
			if err != nil {
				return nil, false, err.(*substitutionError).under("." + k)
			}
			if !changed && nk == k {
				continue
			}
			if out == nil {
				out = maps.Clone(t)
			}
			delete(out, k)
			out[nk] = nx
		}
		if out == nil {
			return t, false, nil
		}
		if len(out) != len(t) {
			return nil, false, &substitutionError{err: errors.New("two of its keys are the same once substituted")}
		}
		return out, true, nil
	case []any:
		var out []any
		for i, x := range t {
			nx, changed, err := substituteValue(x, lookup)
			if err != nil {
				return nil, false, err.(*substitutionError).under(fmt.Sprintf("[%d]", i))
			}
			if changed && out == nil {
				out = slices.Clone(t)
			}
			if out != nil {
				out[i] = nx
			}
		}
		if out == nil {
			return t, false, nil
		}
		return out, true, nil
	}
	return v, false, nil
}

// substitutionError is a substitution that failed in the field at path (".data.k").
type substitutionError struct {
	path string
	err  error
}

func (e *substitutionError) under(p string) *substitutionError {
	e.path = p + e.path
	return e
}

func (e *substitutionError) Error() string {
	if e.path == "" {
		return e.err.Error()
	}
	return "field " + strings.TrimPrefix(e.path, ".") + ": " + e.err.Error()
}

func (e *substitutionError) Unwrap() error { return e.err }

// scalarOf is what the string orig, substituted into s, becomes. As in Flux, which
// reads the substituted YAML text back: a plain YAML 1.1 number, boolean or null takes
// that type (3, 1.5, 0755, true, yes, null: what ${replicas} needs), and a quoted YAML
// string that the substitution made whole is the string inside (Flux's
// ${quote}${id}${quote} with quote: '"'). Unlike Flux, anything else stays the string
// s: a value YAML would read as an alias (*x), a tag (!x), a comment (a #b), a flow
// collection or several lines is never read as YAML.
func scalarOf(orig, s string) any {
	if s == "" || strings.ContainsAny(s, "\n\r") || strings.ContainsAny(s[:1], "*&!|>%@`[{") {
		return s
	}
	if q := s[0]; (q == '"' || q == '\'') && len(s) >= 2 && s[len(s)-1] == q {
		// Quotes the manifest wrote around the variable are its text, not YAML's.
		if orig[0] == q || orig[len(orig)-1] == q {
			return s
		}
		var n yaml.Node
		if yaml.Unmarshal([]byte(s), &n) == nil && len(n.Content) == 1 && n.Content[0].Kind == yaml.ScalarNode &&
			n.Content[0].Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			return n.Content[0].Value
		}
		return s
	}
	j, err := sigsyaml.YAMLToJSON([]byte(s))
	if err != nil || len(j) == 0 {
		return s
	}
	switch {
	case string(j) == "true":
		return true
	case string(j) == "false":
		return false
	case string(j) == "null":
		return nil
	case j[0] == '-' || (j[0] >= '0' && j[0] <= '9'):
		n := json.Number(j)
		if i, err := n.Int64(); err == nil {
			return i
		}
		if f, err := n.Float64(); err == nil {
			return f
		}
	}
	return s
}

// substitute applies the source's postBuild to objs.
func (s *syncRun) substitute(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	pb := s.src.PostBuild
	if pb == nil {
		return objs, nil
	}
	vars, err := s.p.variables(ctx, pb, s.secrets)
	if err != nil {
		return nil, err
	}
	out, err := Substitute(objs, vars)
	if err != nil {
		return nil, err
	}
	if s.plan && slices.ContainsFunc(pb.SubstituteFrom, func(r SubstituteReference) bool { return r.Kind == "Secret" }) {
		// Which objects substitution changed: their values may come from a Secret.
		changed := map[string]bool{}
		for i := range out {
			if !reflect.DeepEqual(objs[i].Object, out[i].Object) {
				changed[sensitiveKey(apply.RefOf(out[i]))] = true
			}
		}
		s.sensitive = func(r apply.ObjectRef) bool { return changed[sensitiveKey(r)] }
	}
	if s.secrets != nil {
		// A Secret of the artifact may take its values from variables: what the
		// apiserver may quote is the substituted value.
		for _, o := range out {
			s.secrets.AddObject(o.Object)
		}
	}
	return out, nil
}

// sensitiveKey names an object by group, kind and name: its namespace may be set after
// substitution (targetNamespace).
func sensitiveKey(r apply.ObjectRef) string { return r.Group + "/" + r.Kind + "/" + r.Name }
