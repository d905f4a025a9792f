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
// plain YAML files below dir, as the kustomization render would generate for them
// lists them. The objects are then checked by render.Plan (apiVersion, kind,
// metadata.name, no two objects with one identity, no empty set unless AllowEmpty).
// No Jsonnet engine or cdk8s synth is reachable from here.
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
	if _, err := render.Plan(ctx, units, opts); err != nil {
		return nil, err
	}
	var out []*unstructured.Unstructured
	for _, u := range units {
		for _, o := range u.Objects {
			v, err := o.Value()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o, err)
			}
			// Through JSON, so that numbers are int64 or float64 as unstructured wants.
			data, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", o, err)
			}
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON(data); err != nil {
				return nil, fmt.Errorf("%s: %w", o, err)
			}
			out = append(out, obj)
		}
	}
	return out, nil
}
