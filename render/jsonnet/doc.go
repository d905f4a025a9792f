// Package jsonnet is render's loader of Jsonnet and Tanka sources, on go-jsonnet
// (Tanka's own engine). It is a package of its own so that programs that only build
// manifests (gitless-puller) do not link a Jsonnet engine.
//
// A source is a Tanka environment (a directory with main.jsonnet and spec.json, or a
// main.jsonnet that evaluates to inline tanka.dev/v1alpha1 Environment objects), a
// directory holding several (each found main.jsonnet, evaluated in parallel), or a
// plain .jsonnet file. Imports resolve as Tanka's do: next to the importing file,
// then the environment directory, <root>/lib, <env>/vendor, <root>/vendor, the root
// being the nearest directory with tkrc.yaml or jsonnetfile.json; `import "tk"` gives
// the environment. The output is walked as Tanka extracts manifests: every object with
// apiVersion and kind, however deeply nested in objects and arrays, Lists expanded.
//
// Errors carry go-jsonnet's locations: an [*EvalError] has the file, line and column
// and, for runtime errors, the stack; an import not found lists the paths searched.
//
//	opts := render.DefaultOptions()
//	l := jsonnet.NewLoader(jsonnet.Options{
//		ExtVars: map[string]string{"cluster": "eu1"},
//		Envs:    []string{"environments/prod"},
//	})
//	opts.Loaders[render.KindTanka], opts.Loaders[render.KindJsonnet] = l, l
//	res, err := render.Render(ctx, "out", opts, ".")
package jsonnet
