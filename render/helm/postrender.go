package helm

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/manifest/kustomize"
	"github.com/gitless-dev/gitless/render"
)

// sourceAnnotation carries each manifest's template path through the
// post-renderers; it is removed afterwards.
const sourceAnnotation = "render.gitless.dev/source"

// postRenderers returns what a HelmRelease's post-renderers do to the rendered
// manifests, in helm-controller's order: each kustomize post-renderer (patches,
// patchesStrategicMerge, patchesJson6902, images), then commonMetadata. nil when
// there is nothing to do.
func (x *expander) postRenderers(spec *helmRelease) func(context.Context, []byte) ([]*render.Object, error) {
	if len(spec.PostRenderers) == 0 && spec.CommonMetadata == nil {
		return nil
	}
	return func(ctx context.Context, manifests []byte) ([]*render.Object, error) {
		var nodes []*kyaml.RNode
		for _, s := range splitSources(string(manifests)) {
			got, err := kio.FromBytes([]byte(s.content))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.path, err)
			}
			for _, n := range got {
				if err := n.PipeE(kyaml.SetAnnotation(sourceAnnotation, s.path)); err != nil {
					return nil, fmt.Errorf("%s: %w", s.path, err)
				}
			}
			nodes = append(nodes, got...)
		}
		for i, pr := range spec.PostRenderers {
			var err error
			if nodes, err = kustomizePostRender(ctx, nodes, pr); err != nil {
				return nil, fmt.Errorf("spec.postRenderers[%d].kustomize: %w", i, err)
			}
		}
		if cm := spec.CommonMetadata; cm != nil {
			for _, n := range nodes {
				for _, k := range slices.Sorted(maps.Keys(cm.Labels)) {
					if err := n.PipeE(kyaml.SetLabel(k, cm.Labels[k])); err != nil {
						return nil, fmt.Errorf("spec.commonMetadata.labels: %w", err)
					}
				}
				for _, k := range slices.Sorted(maps.Keys(cm.Annotations)) {
					if err := n.PipeE(kyaml.SetAnnotation(k, cm.Annotations[k])); err != nil {
						return nil, fmt.Errorf("spec.commonMetadata.annotations: %w", err)
					}
				}
			}
		}
		var objs []*render.Object
		for _, n := range nodes {
			path := n.GetAnnotations()[sourceAnnotation]
			if path == "" {
				path = "spec.postRenderers"
			}
			if err := n.PipeE(kyaml.ClearAnnotation(sourceAnnotation)); err != nil {
				return nil, err
			}
			if err := kyaml.ClearEmptyAnnotations(n); err != nil {
				return nil, err
			}
			s, err := n.String()
			if err != nil {
				return nil, err
			}
			got, err := manifest.ParseYAML([]byte(s), path, manifest.ParseYAMLOptions{})
			if err != nil {
				return nil, err
			}
			for _, o := range got {
				o.Origin = render.Origin{File: path}
			}
			objs = append(objs, got...)
		}
		return objs, nil
	}
}

// kustomizePostRender runs one kustomize post-renderer on the manifests, in memory.
func kustomizePostRender(ctx context.Context, nodes []*kyaml.RNode, pr postRenderer) ([]*kyaml.RNode, error) {
	k := pr.Kustomize
	kust := map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"resources":  []string{"resources.yaml"},
	}
	for field, v := range map[string][]json.RawMessage{
		"patches": k.Patches, "patchesStrategicMerge": k.PatchesStrategicMerge,
		"patchesJson6902": k.PatchesJson6902, "images": k.Images,
	} {
		if len(v) > 0 {
			kust[field] = v
		}
	}
	kb, err := yaml.Marshal(kust)
	if err != nil {
		return nil, err
	}
	stream, err := kio.StringAll(nodes)
	if err != nil {
		return nil, err
	}
	out, err := kustomize.BuildFiles(ctx, map[string][]byte{"kustomization.yaml": kb, "resources.yaml": []byte(stream)})
	if err != nil {
		return nil, err
	}
	return kio.FromBytes(out)
}

type source struct{ path, content string }

// splitSources splits a stream in Helm's "---\n# Source: PATH\n..." form into the
// documents of each template.
func splitSources(manifest string) []source {
	const sep = "---\n# Source: "
	var out []source
	for _, part := range strings.Split("\n"+manifest, "\n"+sep) {
		path, content, ok := strings.Cut(part, "\n")
		if !ok || strings.TrimSpace(path) == "" {
			continue
		}
		out = append(out, source{path: strings.TrimSpace(path), content: content})
	}
	return out
}

// forSource is the engine to fetch a source's chart with: this one, or one that
// allows plain HTTP when the source says insecure.
func (e *Engine) forSource(insecure bool) *Engine {
	if !insecure || e.opts.Insecure {
		return e
	}
	e.insecureOnce.Do(func() {
		o := e.opts
		o.Insecure = true
		// Plain HTTP because the tree says so, not the user: the CI's credentials
		// are not sent where anyone on the path reads them (--insecure sends them).
		o.Credentials = nil
		e.insecure = New(o)
	})
	return e.insecure
}

func parseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	return d, nil
}
