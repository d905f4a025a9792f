package render

import (
	"context"
	"path/filepath"

	"github.com/gitless-dev/gitless/render/kustomize"
)

// loadKustomize builds a kustomization with render/kustomize (root-only loading, no
// plugins, no remote bases) and reads what it gives.
func loadKustomize(ctx context.Context, req Request) ([]*Unit, error) {
	out, err := kustomize.Build(ctx, req.Path)
	if err != nil {
		return nil, err
	}
	objs, err := ParseYAML(out, filepath.ToSlash(req.Path), ParseYAMLOptions{})
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		o.Origin = Origin{File: filepath.ToSlash(req.Path), Path: "kustomize build"}
	}
	u := &Unit{Kind: KindKustomize, Source: req.Path, Objects: objs}
	report(req, u)
	return []*Unit{u}, nil
}
