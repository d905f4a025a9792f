package helm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"text/template"

	"github.com/Masterminds/sprig/v3"

	"github.com/gitless-dev/gitless/render"
)

// TankaParams are the parameters of Tanka's helmTemplate native function.
var TankaParams = []string{"name", "chart", "opts"}

// TankaDefaultNameFormat names the objects helmTemplate returns, as Tanka does.
const TankaDefaultNameFormat = `{{ print .kind "_" .metadata.name | snakecase }}`

// tankaOpts are the options Tanka's helmTemplate reads (its JsonnetOpts).
type tankaOpts struct {
	CalledFrom  string         `json:"calledFrom"`
	NameFormat  string         `json:"nameFormat"`
	Values      map[string]any `json:"values"`
	APIVersions []string       `json:"apiVersions"`
	IncludeCRDs *bool          `json:"includeCrds"`
	KubeVersion string         `json:"kubeVersion"`
	Namespace   string         `json:"namespace"`
	NoHooks     bool           `json:"noHooks"`
	SkipTests   bool           `json:"skipTests"`
}

// HelmTemplate is Tanka's std.native('helmTemplate')(name, chart, opts), as
// grafana/jsonnet-libs tanka-util's helm.template calls it: the chart is a
// directory relative to the directory of opts.calledFrom (std.thisFile of the
// caller; charts vendored by `tk tool charts vendor` are under the project's
// charts/), rendered as Tanka's `helm template NAME CHART` with opts' values,
// namespace, apiVersions, kubeVersion, includeCrds (default true), noHooks and
// skipTests. The result maps names made by opts.nameFormat (Tanka's default:
// kind_name in snake case) to the objects. An option Tanka does not have is an
// error naming it. Wire it into render/jsonnet as the native "helmTemplate" with
// TankaParams.
func (e *Engine) HelmTemplate(ctx context.Context, args []any) (any, []render.Chart, error) {
	if len(args) != 3 {
		return nil, nil, fmt.Errorf("helmTemplate: %w: want (name, chart, opts), got %d arguments", ErrInvalid, len(args))
	}
	name, ok := args[0].(string)
	if !ok {
		return nil, nil, fmt.Errorf("helmTemplate: %w: first argument 'name' must be a string, not %T", ErrInvalid, args[0])
	}
	chartPath, ok := args[1].(string)
	if !ok {
		return nil, nil, fmt.Errorf("helmTemplate: %w: second argument 'chart' must be a string, not %T", ErrInvalid, args[1])
	}
	b, err := json.Marshal(args[2])
	if err != nil {
		return nil, nil, fmt.Errorf("helmTemplate: opts: %w", err)
	}
	var opts tankaOpts
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&opts); err != nil {
		return nil, nil, fmt.Errorf("helmTemplate: %w: opts: %v", ErrInvalid, err)
	}
	if opts.CalledFrom == "" {
		return nil, nil, fmt.Errorf("helmTemplate: %w: opts.calledFrom is unset: call helm.new(std.thisFile) first, so that the chart is found next to the caller", ErrInvalid)
	}
	dir := filepath.Join(filepath.Dir(opts.CalledFrom), chartPath)
	if _, err := os.Stat(dir); err != nil {
		return nil, nil, fmt.Errorf("helmTemplate: %w: no chart at %s (%s relative to %s); vendor it with tk tool charts vendor", ErrChartNotFound, dir, chartPath, opts.CalledFrom)
	}
	c, err := LoadChart(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("helmTemplate: %w", err)
	}
	objs, err := e.Template(ctx, c, Release{
		Name:         name,
		Namespace:    opts.Namespace,
		Values:       opts.Values,
		IncludeCRDs:  opts.IncludeCRDs == nil || *opts.IncludeCRDs,
		NoHooks:      opts.NoHooks,
		IncludeTests: !opts.SkipTests,
		KubeVersion:  opts.KubeVersion,
		APIVersions:  opts.APIVersions,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("helmTemplate: %w", err)
	}
	format := opts.NameFormat
	if format == "" {
		format = TankaDefaultNameFormat
	}
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env") // as Helm does: the CI's environment (its tokens) is not the tree's to read
	delete(funcs, "expandenv")
	tmpl, err := template.New("nameFormat").Funcs(funcs).Parse(format)
	if err != nil {
		return nil, nil, fmt.Errorf("helmTemplate: %w: opts.nameFormat: %v", ErrInvalid, err)
	}
	out := make(map[string]any, len(objs))
	for _, o := range objs {
		v, err := jsonValue(o)
		if err != nil {
			return nil, nil, fmt.Errorf("helmTemplate: %s (%s): %w", o, o.Origin.File, err)
		}
		var buf bytes.Buffer
		if err := tmpl.Execute(&buf, v); err != nil {
			return nil, nil, fmt.Errorf("helmTemplate: opts.nameFormat on %s: %w", o, err)
		}
		if _, dup := out[buf.String()]; dup {
			return nil, nil, fmt.Errorf("helmTemplate: %w: two objects are named %q by the name format %q; adapt opts.nameFormat", ErrInvalid, buf.String(), format)
		}
		out[buf.String()] = v
	}
	return out, []render.Chart{c.Info}, nil
}

// jsonValue is an object as JSON data (float64 numbers), what go-jsonnet takes
// from a native function.
func jsonValue(o *render.Object) (map[string]any, error) {
	v, err := o.Value()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}
