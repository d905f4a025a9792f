// Package manifest is the leaf the other gitless packages stand on for Kubernetes
// manifests: the object type ([Object], with its [Origin] and identity), reading YAML
// streams into objects ([ParseYAML]), the checks every object and every set of objects
// gets ([NewObject], [Index], [CheckFiles]), which kinds are namespaced ([Scopes]),
// and the ignore rules of a source tree ([Ignore], [Walk]).
//
// render (sources to a manifest tree), artifact (packaging a tree for push) and
// gitless-puller (building what it pulled) use the same rules through this package, so
// that what push accepts, render writes and the puller reads are one language. It links
// no engine: kustomize builds are in manifest/kustomize, Jsonnet in render/jsonnet.
//
// Checking the YAML files of a tree before it is packaged:
//
//	err := manifest.CheckFiles(ctx, []manifest.File{{Path: "apps/web.yaml", Data: b}}, manifest.CheckOptions{})
//	// nil, or every problem joined: "apps/web.yaml:12 (document 2): invalid
//	// Kubernetes object: no kind", "duplicate object apps/Deployment shop/web: ..."
package manifest
