package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/jsonnet"
)

// renderFlags configure how sources are rendered (gitless render, gitless push --render).
type renderFlags struct {
	kind, namespace, format          string
	separate, synth                  bool
	extStr, extCode, tlaStr, tlaCode []string
	jpath, envs                      []string
	helm                             helmFlags
}

func (r *renderFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&r.kind, "kind", "", "source kind: yaml, jsonnet, tanka, cdk8s, kustomize or helm (default: detected per source)")
	fs.StringVar(&r.namespace, "namespace", "", "namespace for namespaced objects that have none (a Tanka environment's spec.namespace comes first); for charts also .Release.Namespace")
	fs.StringVar(&r.format, "format", render.DefaultFormat, "file name of each object, a Go template on the object; '/' in it makes directories")
	fs.BoolVar(&r.separate, "separate", false, "no top kustomization.yaml: each source or environment builds on its own, and objects need only be unique within one")
	fs.BoolVar(&r.synth, "synth", false, "cdk8s: run cdk8s synth (npx --no cdk8s synth) in the app directory first")
	fs.StringArrayVar(&r.extStr, "ext-str", nil, "Jsonnet external variable KEY=VALUE, or KEY to take VALUE from the environment (repeatable)")
	fs.StringArrayVar(&r.extCode, "ext-code", nil, "Jsonnet external variable KEY=CODE (repeatable)")
	fs.StringArrayVar(&r.tlaStr, "tla-str", nil, "Jsonnet top-level argument KEY=VALUE, or KEY from the environment (repeatable)")
	fs.StringArrayVar(&r.tlaCode, "tla-code", nil, "Jsonnet top-level argument KEY=CODE (repeatable)")
	fs.StringArrayVarP(&r.jpath, "jpath", "J", nil, "Jsonnet library directory, searched after Tanka's; the last given first (repeatable)")
	fs.StringArrayVar(&r.envs, "env", nil, "render only this Tanka environment: its name, its directory, or an inline environment's name (repeatable)")
	r.helm.AddFlags(fs)
}

// options maps the flags onto render's options, with the Jsonnet/Tanka loader and
// Helm (charts from registries with reg's credentials, --creds for host). ignore
// and allowEmpty are flags of their own (push shares them with packaging).
func (r *renderFlags) options(ctx context.Context, env Env, g *globalFlags, reg *clikit.RegistryFlags, host string, ignore []string, allowEmpty bool) (render.Options, error) {
	kind, err := render.ParseKind(r.kind)
	if err != nil {
		return render.Options{}, clikit.Usage(err)
	}
	vars := func(flag string, kvs []string, fromEnv bool) (map[string]string, error) {
		m := map[string]string{}
		for _, kv := range kvs {
			k, v, ok := strings.Cut(kv, "=")
			if !ok && fromEnv && env.Getenv != nil {
				v, ok = env.Getenv(k), true
			}
			if !ok || k == "" {
				return nil, clikit.Usagef("--%s %q: want KEY=VALUE", flag, kv)
			}
			m[k] = v
		}
		return m, nil
	}
	jo := jsonnet.DefaultOptions()
	if jo.ExtVars, err = vars("ext-str", r.extStr, true); err != nil {
		return render.Options{}, err
	}
	if jo.ExtCode, err = vars("ext-code", r.extCode, false); err != nil {
		return render.Options{}, err
	}
	if jo.TLAVars, err = vars("tla-str", r.tlaStr, true); err != nil {
		return render.Options{}, err
	}
	if jo.TLACode, err = vars("tla-code", r.tlaCode, false); err != nil {
		return render.Options{}, err
	}
	jo.JPath, jo.Envs = r.jpath, r.envs
	o := render.DefaultOptions()
	if err := r.helm.wire(ctx, env, g, reg, host, r.namespace, &o, &jo); err != nil {
		return render.Options{}, err
	}
	jl := jsonnet.NewLoader(jo)
	o.Loaders[render.KindJsonnet], o.Loaders[render.KindTanka] = jl, jl
	o.Kind, o.Namespace, o.Format = kind, r.namespace, r.format
	o.Separate, o.AllowEmpty, o.Synth, o.Ignore = r.separate, allowEmpty, r.synth, ignore
	return o, nil
}

// renderRun renders sources into out, telling progress on env.Err when it is a
// terminal outside CI, or when verbose.
func renderRun(ctx context.Context, env Env, g *globalFlags, o render.Options, out string, sources []string) (*render.Result, error) {
	if g.verbose || (isTerminal(env.Err) && env.Getenv("CI") == "") {
		var mu sync.Mutex
		o.Progress = func(p render.Progress) {
			mu.Lock()
			defer mu.Unlock()
			switch p.Stage {
			case "loading":
				fmt.Fprintf(env.Err, "rendering %s (%s)\n", p.Unit, p.Kind)
			case "loaded":
				fmt.Fprintf(env.Err, "  %s (%s): %d objects, %s\n", p.Unit, p.Kind, p.Objects, p.Elapsed.Round(time.Millisecond))
			}
		}
	}
	o.Logger = g.logger(env)
	return render.Render(ctx, out, o, sources...)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newRenderCmd(env Env, g *globalFlags) *cobra.Command {
	var (
		outDir     string
		out        = clikit.Output{PathFlag: "out"}
		allowEmpty bool
		ignore     []string
		rf         renderFlags
		reg        clikit.RegistryFlags
	)
	cmd := &cobra.Command{
		Use:   "render SRC... --out OUT",
		Short: "Render YAML, Jsonnet/Tanka, cdk8s, kustomize and Helm sources into one manifest tree",
		Long: `Render each SRC (its kind detected, or --kind) into OUT: one YAML file per object, named
by --format (tk export's default), and a generated kustomization.yaml that kustomize and
Flux build. Several sources, or a Tanka project with several environments, give one
directory each, all included by the top kustomization.yaml (unless --separate).

Helm charts (a chart directory, a .tgz, or oci://REGISTRY/REPOSITORY/CHART) render as
helm template --include-crds --skip-tests does; Flux HelmReleases in a tree are replaced
by their charts' objects (the chart from a HelmRepository or OCIRepository of the tree),
unless --keep-helm-releases; Tanka's helm.template works on vendored charts.

Every object must have apiVersion, kind and metadata.name, and be unique by group, kind,
namespace and name. OUT is replaced only when rendering succeeded; it must not exist, be
empty, or be an earlier output of gitless render. docs/render.md has the rules.`,
		Example: `  gitless render deploy/ --out out/                          # plain YAML, detected
  gitless render environments/prod --out out/ --ext-str cluster=eu1   # a Tanka environment
  gitless render . --out out/ --kind tanka --env environments/prod   # one environment of a project
  gitless render cdk8s-app/ --synth --out out/                  # run cdk8s synth first
  gitless render deploy/overlays/production --out out/ -o json  # kustomize, result as JSON
  gitless render charts/podinfo --out out/ --values prod.yaml --namespace web   # a Helm chart
  gitless render oci://ghcr.io/stefanprodan/charts/podinfo --chart-version 6.x --out out/
  gitless render fleet/infra-controllers --out out/          # HelmReleases rendered in place`,
		Args: clikit.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := out.Resolve(&outDir, env.Err); err != nil {
				return err
			}
			if outDir == "" {
				return clikit.Usagef("--out is required")
			}
			if err := rf.checkChartFlags(a); err != nil {
				return err
			}
			host, err := chartsHost(a, reg.Creds)
			if err != nil {
				return err
			}
			opts, err := rf.options(cmd.Context(), env, g, &reg, host, ignore, allowEmpty)
			if err != nil {
				return err
			}
			res, err := renderRun(cmd.Context(), env, g, opts, outDir, a)
			if err != nil {
				if errors.Is(err, render.ErrOutputInUse) {
					return clikit.Usage(err)
				}
				return err
			}
			if out.Structured() {
				return out.Write(env.Out, res)
			}
			fmt.Fprintf(env.Err, "rendered %d objects from %d %s into %s (%d files)\n",
				res.Objects, len(res.Units), plural(len(res.Units), "unit", "units"), outDir, len(res.Files))
			for _, c := range describeCharts(res.Charts) {
				fmt.Fprintln(env.Err, "  "+c)
			}
			fmt.Fprintln(env.Out, outDir)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&outDir, "out", "", "output directory (required; replaced as a whole)")
	f.BoolVar(&allowEmpty, "allow-empty", false, "accept a source or environment that renders no objects")
	out.AddFlags(f)
	f.StringArrayVar(&ignore, "ignore", nil, "gitignore-style pattern of files that YAML sources leave out, added to the defaults and .gitlessignore files (repeatable)")
	rf.AddFlags(f)
	reg.AddFlags(f)
	return cmd
}

// renderForPush renders sources into a temporary directory for push; the returned
// function removes it. Charts are fetched with push's registry flags (--creds for
// host, the registry pushed to).
func renderForPush(ctx context.Context, env Env, g *globalFlags, rf *renderFlags, b *buildFlags, reg *clikit.RegistryFlags, host string, sources []string) (string, *render.Result, func(), error) {
	if err := rf.checkChartFlags(sources); err != nil {
		return "", nil, func() {}, err
	}
	opts, err := rf.options(ctx, env, g, reg, host, b.ignore, b.allowEmpty)
	if err != nil {
		return "", nil, func() {}, err
	}
	tmp, err := os.MkdirTemp("", "gitless-push-render-")
	if err != nil {
		return "", nil, func() {}, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	out := filepath.Join(tmp, "tree")
	res, err := renderRun(ctx, env, g, opts, out, sources)
	if err != nil {
		cleanup()
		return "", nil, func() {}, err
	}
	fmt.Fprintf(env.Err, "rendered %d objects from %d %s\n", res.Objects, len(res.Units), plural(len(res.Units), "unit", "units"))
	for _, c := range describeCharts(res.Charts) {
		fmt.Fprintln(env.Err, "  "+c)
	}
	return out, res, cleanup, nil
}

// sourceDir is the directory of a source, for git provenance.
func sourceDir(src string) string {
	if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
		return filepath.Dir(src)
	}
	return src
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
