package render

import (
	"context"

	"github.com/gitless-dev/gitless/manifest/kustomize"
)

// loadKustomize builds a kustomization with manifest/kustomize (root-only loading, no
// plugins, no remote bases) and reads what it gives.
func loadKustomize(ctx context.Context, req Request) ([]*Unit, error) {
	var opts kustomize.BuildOptions
	if req.MaxBuildBytes > 0 {
		opts.Budget = kustomize.NewBudget(req.MaxBuildBytes)
	}
	objs, err := kustomize.BuildObjects(ctx, req.Path, opts)
	if err != nil {
		return nil, err
	}
	u := &Unit{Kind: KindKustomize, Source: req.Path, Objects: objs}
	report(req, u)
	return []*Unit{u}, nil
}
