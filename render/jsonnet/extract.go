package jsonnet

import (
	"cmp"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/render"
)

// Tanka's inline environments.
const (
	tankaAPIVersion = "tanka.dev/v1alpha1"
	tankaEnvKind    = "Environment"
)

// isObject reports whether v is a Kubernetes object the way Tanka decides it: a JSON
// object with string apiVersion and kind.
func isObject(m map[string]any) bool {
	av, ok1 := m["apiVersion"].(string)
	k, ok2 := m["kind"].(string)
	return ok1 && ok2 && av != "" && k != ""
}

func isInlineEnv(m map[string]any) bool {
	return m["apiVersion"] == tankaAPIVersion && m["kind"] == tankaEnvKind
}

// extract walks evaluated output the way Tanka extracts manifests: an object with
// apiVersion and kind is a manifest (a kind ending in "List" with items gives its
// items); any other object or array is walked into, keys in order; null is skipped
// (what a false `if` leaves); any other value is an error naming its path.
func extract(v any, path string, file string, out *[]*render.Object) error {
	switch v := v.(type) {
	case nil:
		return nil
	case map[string]any:
		if isObject(v) {
			if items, ok := v["items"].([]any); ok && strings.HasSuffix(v["kind"].(string), "List") {
				for i, it := range items {
					p := path + ".items[" + strconv.Itoa(i) + "]"
					m, ok := it.(map[string]any)
					if !ok || !isObject(m) {
						return &render.SourceError{Origin: render.Origin{File: file, Path: p}, Err: fmt.Errorf("%w: a %s item is not a Kubernetes object", render.ErrInvalidObject, v["kind"])}
					}
					if err := extract(m, p, file, out); err != nil {
						return err
					}
				}
				return nil
			}
			o, err := manifest.NewObjectFromValue(v, render.Origin{File: file, Path: cmp.Or(path, ".")})
			if err != nil {
				return err
			}
			*out = append(*out, o)
			return nil
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if err := extract(v[k], path+fieldPath(k), file, out); err != nil {
				return err
			}
		}
		return nil
	case []any:
		for i, e := range v {
			if err := extract(e, path+"["+strconv.Itoa(i)+"]", file, out); err != nil {
				return err
			}
		}
		return nil
	}
	return &render.SourceError{
		Origin: render.Origin{File: file, Path: cmp.Or(path, ".")},
		Err:    fmt.Errorf("%w: found %s where a Kubernetes object or a set of them was expected", render.ErrInvalidObject, describe(v)),
	}
}

// findEnvs returns the inline environments in v with their paths, in key order.
func findEnvs(v any, path string, out *[]inlineEnv) {
	switch v := v.(type) {
	case map[string]any:
		if isInlineEnv(v) {
			*out = append(*out, inlineEnv{path: cmp.Or(path, "."), obj: v})
			return
		}
		if isObject(v) {
			return
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			findEnvs(v[k], path+fieldPath(k), out)
		}
	case []any:
		for i, e := range v {
			findEnvs(e, path+"["+strconv.Itoa(i)+"]", out)
		}
	}
}

type inlineEnv struct {
	path string
	obj  map[string]any
}

func fieldPath(k string) string {
	ident := k != ""
	for i, c := range k {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			ident = false
			break
		}
	}
	if ident {
		return "." + k
	}
	b, _ := json.Marshal(k)
	return "[" + string(b) + "]"
}

func describe(v any) string {
	switch v := v.(type) {
	case string:
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		return fmt.Sprintf("the string %q", v)
	case json.Number, float64:
		return fmt.Sprintf("the number %v", v)
	case bool:
		return fmt.Sprintf("the boolean %v", v)
	}
	return fmt.Sprintf("a %T", v)
}
