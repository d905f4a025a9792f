// Package helm renders Helm charts at render time, with Helm's own Go SDK
// (helm.sh/helm/v4) in-process: what `helm template --include-crds --skip-tests`
// gives, as render objects. It plugs into render in three places:
//
//   - [Engine.Loader] loads a chart source (render.KindHelm): a chart directory, a
//     packaged .tgz, or oci://REGISTRY/REPOSITORY/CHART;
//   - [Engine.Expander] replaces Flux HelmReleases (helm.toolkit.fluxcd.io) found in
//     a rendered tree with the objects of their charts, taken from the
//     HelmRepository or OCIRepository of the same tree, as helm-controller would
//     install them (values, valuesFrom, targetNamespace, install.crds,
//     postRenderers); what it cannot do the same way is an error naming the field;
//   - [Engine.HelmTemplate] is Tanka's std.native('helmTemplate') for
//     render/jsonnet, reading charts vendored next to the environment.
//
// Charts from registries and chart repositories are fetched with the credentials
// of an artifact/auth chain (the CLI's) and kept in a cache directory by digest.
// Every chart rendered is reported as a render.Chart (name, version, digest) in
// its unit, which gitless push records on the artifact.
//
// The package is apart from render so that programs that only build manifests
// (gitless-puller) do not link Helm: internal/depcheck checks it.
//
// Rendering one chart directory with a values file into out/:
//
//	e := helm.New(helm.DefaultOptions())
//	opts := render.DefaultOptions()
//	opts.Kind = render.KindHelm
//	opts.Loaders[render.KindHelm] = e.Loader(helm.ChartOptions{
//		Release:     "podinfo",
//		Namespace:   "apps",
//		ValuesFiles: []string{"values-prod.yaml"},
//	})
//	opts.Expanders = append(opts.Expanders, e.Expander(helm.ExpandOptions{}))
//	res, err := render.Render(ctx, "out", opts, "charts/podinfo")
package helm
