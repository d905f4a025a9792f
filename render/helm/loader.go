package helm

import (
	"context"
	"time"

	"github.com/gitless-dev/gitless/render"
)

// ChartOptions is what every chart source of a render is rendered with (the flags
// of gitless render --kind helm).
type ChartOptions struct {
	// Version is the chart version to fetch from a registry: a version, or a semver
	// range ("" is the highest release). For a chart on disk it must match, if set.
	Version string
	// Release is the release name; "" is the chart's name.
	Release string
	// Namespace is .Release.Namespace ("" is "default", as for helm template) and
	// the namespace given to the chart's namespaced objects that have none.
	Namespace string
	// ValuesFiles, Set and SetString are helm template's --values, --set and
	// --set-string, merged in that order (see [Values]).
	ValuesFiles, Set, SetString []string
	// NoHooks leaves hook objects out.
	NoHooks bool
}

// Loader returns the render.Loader of chart sources (render.KindHelm): a chart
// directory, a .tgz, or oci://REGISTRY/REPOSITORY/CHART. Each source is one unit
// with the objects `helm template --include-crds --skip-tests` gives.
func (e *Engine) Loader(opts ChartOptions) render.Loader {
	return render.LoaderFunc(func(ctx context.Context, req render.Request) ([]*render.Unit, error) {
		start := time.Now()
		vals, err := Values(opts.ValuesFiles, opts.Set, opts.SetString)
		if err != nil {
			return nil, err
		}
		c, err := e.Chart(ctx, req.Path, opts.Version)
		if err != nil {
			return nil, err
		}
		name := opts.Release
		if name == "" {
			name = c.Info.Name
		}
		objs, err := e.Template(ctx, c, Release{
			Name:        name,
			Namespace:   opts.Namespace,
			Values:      vals,
			IncludeCRDs: true,
			NoHooks:     opts.NoHooks,
		})
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			o.Origin = render.Origin{File: req.Path, Path: o.Origin.File}
		}
		u := &render.Unit{Kind: render.KindHelm, Source: req.Path, Namespace: opts.Namespace, Objects: objs, Charts: []render.Chart{c.Info}}
		if req.Progress != nil {
			req.Progress(render.Progress{Stage: "loaded", Unit: req.Path, Kind: render.KindHelm, Objects: len(objs), Elapsed: time.Since(start)})
		}
		return []*render.Unit{u}, nil
	})
}
