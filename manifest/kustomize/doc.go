// Package kustomize builds kustomizations the way gitless allows: with kustomize's own
// Go API (sigs.k8s.io/kustomize/api/krusty), files loaded only from below each
// kustomization's root, no plugins, no exec or container functions, no Helm, and no
// remote bases or files (a resource, component or file that is a URL is refused
// before kustomize sees it). The output is what `kustomize build` prints.
//
// It sits next to package manifest, not inside render: gitless render uses it for
// kustomize sources, and gitless-puller for the trees it pulls, without linking
// anything of render.
//
//	yaml, err := kustomize.Build(ctx, "deploy/overlays/production", kustomize.BuildOptions{})
//	if err != nil {
//		return err // names the kustomization and what kustomize refused
//	}
package kustomize
