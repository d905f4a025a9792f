package puller

import (
	"context"
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/kustomize"
)

// Builder turns the directory of an extracted artifact into objects.
type Builder interface {
	Build(ctx context.Context, dir string) ([]*unstructured.Unstructured, error)
}

// BuilderFunc adapts a function to a Builder.
type BuilderFunc func(ctx context.Context, dir string) ([]*unstructured.Unstructured, error)

func (f BuilderFunc) Build(ctx context.Context, dir string) ([]*unstructured.Unstructured, error) {
	return f(ctx, dir)
}

// KustomizeBuilder builds with the render package: kustomize build (render/kustomize:
// krusty, files loaded from below the kustomization only, no plugins, exec,
// containers, Helm or remote bases) when dir has a kustomization file; otherwise the
// plain YAML files below dir, those the kustomization render generates for such a tree
// would list (render's YAML loader, with push's ignore rules; a directory below with
// its own kustomization is built as kustomize would). render checks every document (a
// mapping with apiVersion, kind and metadata.name, no key twice, no alias bomb) and the
// set (render.Check: no two objects with one identity, not empty unless AllowEmpty);
// puller/apply then checks it against the cluster. No Jsonnet engine or cdk8s synth is
// reachable from here.
type KustomizeBuilder struct {
	// AllowEmpty accepts a directory with no objects.
	AllowEmpty bool
}

// Build implements Builder.
func (b KustomizeBuilder) Build(ctx context.Context, dir string) ([]*unstructured.Unstructured, error) {
	opts := render.Options{
		Kind:       render.KindYAML,
		Loaders:    map[render.Kind]render.Loader{render.KindYAML: render.DefaultOptions().Loaders[render.KindYAML]},
		AllowEmpty: b.AllowEmpty,
	}
	if kustomize.File(dir) != "" {
		opts.Kind = render.KindKustomize
		opts.Loaders = map[render.Kind]render.Loader{render.KindKustomize: render.DefaultOptions().Loaders[render.KindKustomize]}
	}
	units, err := render.Load(ctx, opts, dir)
	if err != nil {
		return nil, err
	}
	if err := render.Check(ctx, units, opts); err != nil {
		return nil, err
	}
	n := 0
	for _, u := range units {
		n += len(u.Objects)
	}
	out := make([]*unstructured.Unstructured, 0, n)
	for _, u := range units {
		for _, o := range u.Objects {
			v, err := o.Value()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o, err)
			}
			obj, ok := jsonValue(v).(map[string]any)
			if !ok {
				// Something JSON has no direct form for: let encoding/json decide.
				data, err := json.Marshal(v)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", o, err)
				}
				u := &unstructured.Unstructured{}
				if err := u.UnmarshalJSON(data); err != nil {
					return nil, fmt.Errorf("%s: %w", o, err)
				}
				obj = u.Object
			}
			out = append(out, &unstructured.Unstructured{Object: obj})
		}
	}
	return out, nil
}

// jsonValue converts what a YAML decoder gives into the types of JSON-decoded
// unstructured data (int64, float64, string, bool, nil, maps with string keys, slices),
// in place. It returns nil for anything else, and the caller falls back to JSON.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, float64:
		return x
	case int:
		return int64(x)
	case map[string]any:
		for k, e := range x {
			c := jsonValue(e)
			if c == nil && e != nil {
				return nil
			}
			x[k] = c
		}
		return x
	case []any:
		for i, e := range x {
			c := jsonValue(e)
			if c == nil && e != nil {
				return nil
			}
			x[i] = c
		}
		return x
	}
	return nil
}
