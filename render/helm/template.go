package helm

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	chartvalues "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"helm.sh/helm/v4/pkg/strvals"

	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/render"
)

// Release is how a chart is rendered: what `helm template NAME CHART` is told.
type Release struct {
	// Name is the release name (required).
	Name string
	// Namespace is .Release.Namespace; "" is "default", as for helm template.
	// Objects are not given it: the caller decides (render's unit namespace).
	Namespace string
	// Values are the user-supplied values, merged over the chart's own.
	Values map[string]any
	// ChartValuesFiles replace the chart's default values with these files of the
	// chart, merged in order (Flux's HelmChart valuesFiles; "values.yaml" is the
	// chart's own). IgnoreMissingValuesFiles skips those the chart lacks.
	ChartValuesFiles         []string
	IgnoreMissingValuesFiles bool
	// IncludeCRDs renders the chart's crds/ directory too (helm template
	// --include-crds).
	IncludeCRDs bool
	// NoHooks leaves hook objects out (helm template --no-hooks); without it they
	// are rendered as ordinary objects with their helm.sh/hook annotations.
	NoHooks bool
	// IncludeTests keeps test hooks (helm template without --skip-tests).
	IncludeTests bool
	// SkipSchemaValidation does not check values against values.schema.json.
	SkipSchemaValidation bool
	// KubeVersion and APIVersions, when set, replace the engine's for this chart.
	KubeVersion string
	APIVersions []string

	// postRender changes the rendered manifests (not hooks, not crds/), as
	// helm-controller's post-renderers do: it gets them as a YAML stream in Helm's
	// "---\n# Source: PATH\n" form and returns the objects.
	postRender func(ctx context.Context, manifests []byte) ([]*render.Object, error)
}

// Template renders a chart as `helm template` does (client-only: no cluster is
// asked anything, lookup gives nothing) and returns its objects in Helm's order:
// crds/ (with IncludeCRDs), the manifests in install order, then the hooks. Each
// object's origin is the template it came from ("podinfo/templates/deployment.yaml").
// A template that fails is an error naming the template and line, as Helm reports.
//
// The steps are those of Helm's install action in client dry-run mode (what helm
// template runs), taken from the SDK's packages one by one so that gitless does
// not link Helm's cluster client, release storage and plugin runtimes.
func (e *Engine) Template(ctx context.Context, c *Chart, r Release) ([]*render.Object, error) {
	what := fmt.Sprintf("rendering chart %s %s (%s) as release %s", c.Info.Name, c.Info.Version, c.Info.Source, r.Name)
	objs, err := e.template(ctx, c, r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return objs, nil
}

func (e *Engine) template(ctx context.Context, c *Chart, r Release) ([]*render.Object, error) {
	if err := chartutil.ValidateReleaseName(r.Name); err != nil {
		return nil, fmt.Errorf("%w: release name %q: %v", ErrInvalid, r.Name, err)
	}
	kv, err := e.kubeVersion()
	if r.KubeVersion != "" {
		kv, err = parseKube(r.KubeVersion)
	}
	if err != nil {
		return nil, err
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	caps.APIVersions = slices.Concat(caps.APIVersions, splitAPIVersions(e.opts.APIVersions), splitAPIVersions(r.APIVersions))

	ch, err := c.load()
	if err != nil {
		return nil, err
	}
	if len(r.ChartValuesFiles) > 0 {
		if err := setChartValues(ch, r.ChartValuesFiles, r.IgnoreMissingValuesFiles); err != nil {
			return nil, err
		}
	}
	if ch.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", ch.Metadata.KubeVersion, caps.KubeVersion.Version)
	}
	vals := r.Values
	if vals == nil {
		vals = map[string]any{}
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return nil, fmt.Errorf("chart dependencies processing failed: %w", err)
	}
	options := common.ReleaseOptions{Name: r.Name, Namespace: cmp.Or(r.Namespace, "default"), Revision: 1, IsInstall: true}
	toRender, err := chartvalues.ToRenderValuesWithSchemaValidation(ch, vals, options, caps, r.SkipSchemaValidation)
	if err != nil {
		return nil, err
	}
	var eng engine.Engine
	files, err := eng.RenderWithContext(ctx, ch, toRender)
	if err != nil {
		return nil, err
	}
	for k := range files {
		if strings.HasSuffix(k, "NOTES.txt") { // rendered, but not a resource
			delete(files, k)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, err
	}

	var objs []*render.Object
	add := func(path, content string) error {
		got, err := manifest.ParseYAML([]byte(content), path, manifest.ParseYAMLOptions{})
		if err != nil {
			return err
		}
		for _, o := range got {
			o.Origin = render.Origin{File: path}
		}
		objs = append(objs, got...)
		return nil
	}
	if r.IncludeCRDs {
		for _, crd := range ch.CRDObjects() {
			if err := add(crd.Filename, string(crd.File.Data)); err != nil {
				return nil, err
			}
		}
	}
	if r.postRender != nil {
		var stream bytes.Buffer
		for _, m := range manifests {
			fmt.Fprintf(&stream, "---\n# Source: %s\n%s\n", m.Name, m.Content)
		}
		got, err := r.postRender(ctx, stream.Bytes())
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	} else {
		for _, m := range manifests {
			if err := add(m.Name, m.Content); err != nil {
				return nil, err
			}
		}
	}
	if !r.NoHooks {
		for _, h := range hooks {
			if !r.IncludeTests && slices.Contains(h.Events, release.HookTest) {
				continue
			}
			if err := add(h.Path, h.Manifest); err != nil {
				return nil, err
			}
		}
	}
	return objs, ctx.Err()
}

// setChartValues replaces the chart's default values with files of the chart
// merged in order, as Flux's source-controller does for HelmChart valuesFiles.
func setChartValues(ch *chart.Chart, files []string, ignoreMissing bool) error {
	merged := map[string]any{}
	for _, f := range files {
		name := strings.TrimPrefix(f, "./")
		var vals map[string]any
		if name == "values.yaml" {
			vals = ch.Values
		} else {
			i := slices.IndexFunc(ch.Raw, func(rf *common.File) bool { return rf.Name == name })
			if i < 0 {
				if ignoreMissing {
					continue
				}
				return fmt.Errorf("%w: values file %s is not in chart %s", ErrChartNotFound, f, ch.Name())
			}
			var err error
			if vals, err = loader.LoadValues(bytes.NewReader(ch.Raw[i].Data)); err != nil {
				return fmt.Errorf("values file %s of chart %s: %w", f, ch.Name(), err)
			}
		}
		merged = loader.MergeMaps(merged, vals)
	}
	ch.Values = merged
	return nil
}

// Values merges values files (in order), then "key=value" settings with Helm's
// --set syntax, then --set-string ones, as helm template merges its flags. A file
// that is missing or not YAML is an error naming it.
func Values(files, set, setString []string) (map[string]any, error) {
	base := map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: values file %s does not exist", ErrInvalid, f)
		}
		if err != nil {
			return nil, fmt.Errorf("values file %s: %w", f, err)
		}
		m, err := loader.LoadValues(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("%w: values file %s: %v", ErrInvalid, f, err)
		}
		base = loader.MergeMaps(base, m)
	}
	for _, s := range set {
		if err := strvals.ParseInto(s, base); err != nil {
			return nil, fmt.Errorf("%w: value %q: %v", ErrInvalid, s, err)
		}
	}
	for _, s := range setString {
		if err := strvals.ParseIntoString(s, base); err != nil {
			return nil, fmt.Errorf("%w: string value %q: %v", ErrInvalid, s, err)
		}
	}
	return base, nil
}
