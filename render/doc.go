// Package render turns sources of Kubernetes manifests into one canonical tree of
// plain YAML: one file per object, and a generated kustomization.yaml that kustomize,
// Flux's kustomize-controller and gitless-puller build.
//
// Sources are plain YAML (a file, or a directory read recursively), Tanka
// environments and plain Jsonnet (the loader is in render/jsonnet, so that programs
// that only build manifests do not link a Jsonnet engine), cdk8s output (optionally
// synthesized first) and kustomize overlays (built by manifest/kustomize, root-only, no
// plugins, no remote bases). [Detect] tells them apart.
//
// Rendering is these steps, each usable on its own:
//
//   - [Load] reads sources into [Unit]s of [Object]s (several sources at once);
//   - [Check] validates them (every object was checked for apiVersion, kind and
//     metadata.name when it was made; no two with the same group, kind, namespace and
//     name; no empty unit) after giving namespaced objects a default namespace
//     ([Scopes] knows the cluster-scoped kinds, built in and from CRDs in the tree);
//   - [Plan] checks, names each object's file (tk export's format by default) and
//     makes the kustomization files: a [Tree];
//   - [Tree.Write] writes the tree into a new directory and swaps it into place, so
//     that on any error the output directory is left as it was.
//
// [Render] does all three. Objects are written in canonical form: comments and
// anchors dropped, keys in kustomize's field order, strings quoted where a YAML 1.1
// reader would take them for something else; the same sources give a byte-identical
// tree. docs/render.md has the rules and the reasons.
//
// Rendering a Tanka environment and a kustomize overlay into out/:
//
//	opts := render.DefaultOptions()
//	jl := jsonnet.NewLoader(jsonnet.Options{ExtVars: map[string]string{"cluster": "eu1"}})
//	opts.Loaders[render.KindTanka], opts.Loaders[render.KindJsonnet] = jl, jl
//	opts.Namespace = "apps"
//	res, err := render.Render(ctx, "out", opts, "environments/prod", "deploy/overlays/prod")
//	if err != nil {
//		return err // *SourceError, *DuplicateError, *jsonnet.EvalError, ... with file and line
//	}
//	fmt.Println(res.Objects, "objects in", len(res.Files), "files")
package render
