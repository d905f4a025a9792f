package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/helm"
	"github.com/gitless-dev/gitless/render/jsonnet"
)

// helmFlags configure Helm at render time: chart sources (--kind helm), Flux
// HelmReleases in a rendered tree, and Tanka's helmTemplate.
type helmFlags struct {
	chartVersion           string
	values, set, setString []string
	releaseName            string
	kubeVersion            string
	apiVersions            []string
	noHooks                bool
	chartCache             string
	keepHelmReleases       bool
}

func (h *helmFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&h.chartVersion, "chart-version", "", "Helm: chart version (or semver range) of an oci:// chart source; default the highest release")
	fs.StringArrayVar(&h.values, "values", nil, "Helm: values file of chart sources, merged in order (repeatable)")
	fs.StringArrayVar(&h.set, "set", nil, "Helm: value of chart sources, helm's syntax KEY=VALUE[,KEY=VALUE] (repeatable)")
	fs.StringArrayVar(&h.setString, "set-string", nil, "Helm: string value of chart sources, KEY=VALUE (repeatable)")
	fs.StringVar(&h.releaseName, "release-name", "", "Helm: release name of chart sources (default: the chart's name)")
	fs.StringVar(&h.kubeVersion, "kube-version", "", "Helm: Kubernetes version for .Capabilities.KubeVersion (default "+helm.DefaultKubeVersion+")")
	fs.StringSliceVar(&h.apiVersions, "api-versions", nil, "Helm: API versions added to .Capabilities.APIVersions (repeatable, or comma-separated)")
	fs.BoolVar(&h.noHooks, "no-hooks", false, "Helm: leave hook objects out of chart sources (they are rendered as ordinary objects otherwise)")
	fs.StringVar(&h.chartCache, "chart-cache", "", `Helm: directory that keeps fetched charts by digest (default $XDG_CACHE_HOME/gitless/charts, else ~/.cache/gitless/charts; "none": no cache)`)
	fs.BoolVar(&h.keepHelmReleases, "keep-helm-releases", false, "Helm: leave Flux HelmReleases (and their sources) in the tree instead of rendering their charts")
}

// chartOnly names the first flag given of those that apply to chart sources only ("" for
// none): the Flux HelmReleases of a tree and Tanka's helmTemplate carry their own.
func (h *helmFlags) chartOnly() string {
	switch {
	case h.chartVersion != "":
		return "chart-version"
	case len(h.values) > 0:
		return "values"
	case len(h.set) > 0:
		return "set"
	case len(h.setString) > 0:
		return "set-string"
	case h.releaseName != "":
		return "release-name"
	case h.noHooks:
		return "no-hooks"
	}
	return ""
}

// checkChartFlags refuses the flags of chart sources when no source is a chart (by
// --kind, or detected), rather than ignore them without a word. A source that cannot
// be detected is render's to report.
func (r *renderFlags) checkChartFlags(sources []string) error {
	flag := r.helm.chartOnly()
	if flag == "" || r.kind == string(render.KindHelm) {
		return nil
	}
	if r.kind == "" {
		for _, s := range sources {
			if k, err := render.Detect(s); err != nil || k == render.KindHelm {
				return nil
			}
		}
	}
	return clikit.Usagef("--%s applies to Helm chart sources (oci://, a .tgz, a directory with Chart.yaml), and no source is one: %s", flag, strings.Join(sources, ", "))
}

// chartCacheDir is --chart-cache, or $XDG_CACHE_HOME/gitless/charts, else
// $HOME/.cache/gitless/charts; "" (no cache) for "none" or without a home.
func (h *helmFlags) chartCacheDir(env Env) string {
	switch h.chartCache {
	case "none":
		return ""
	case "":
		if d := env.Getenv("XDG_CACHE_HOME"); d != "" {
			return filepath.Join(d, "gitless", "charts")
		}
		if home := env.Getenv("HOME"); home != "" {
			return filepath.Join(home, ".cache", "gitless", "charts")
		}
		return ""
	}
	return h.chartCache
}

// wire adds the chart loader, the HelmRelease expander and Tanka's helmTemplate
// to render's and the Jsonnet loader's options. Registry credentials come from
// reg (--creds for host, --docker-config, CI variables, docker config).
func (h *helmFlags) wire(ctx context.Context, env Env, g *globalFlags, reg *clikit.RegistryFlags, host string, namespace string, o *render.Options, jo *jsonnet.Options) error {
	if h.kubeVersion != "" {
		if err := helm.ParseKubeVersion(h.kubeVersion); err != nil {
			return clikit.Usagef("--kube-version: %v", err)
		}
	}
	chain, err := reg.Chain(ctx, env.Getenv, host)
	if err != nil {
		return err
	}
	e := helm.New(helm.Options{
		Credentials: chain,
		Insecure:    reg.Insecure,
		CacheDir:    h.chartCacheDir(env),
		KubeVersion: h.kubeVersion,
		APIVersions: h.apiVersions,
		UserAgent:   "gitless/" + version(),
		Logger:      g.logger(env),
	})
	o.Loaders[render.KindHelm] = e.Loader(helm.ChartOptions{
		Version:     h.chartVersion,
		Release:     h.releaseName,
		Namespace:   namespace,
		ValuesFiles: h.values,
		Set:         h.set,
		SetString:   h.setString,
		NoHooks:     h.noHooks,
	})
	if !h.keepHelmReleases {
		o.Expanders = append(o.Expanders, e.Expander(helm.ExpandOptions{Namespace: namespace}))
	}
	jo.Natives = append(jo.Natives, jsonnet.Native{Name: "helmTemplate", Params: helm.TankaParams, Func: e.HelmTemplate})
	return nil
}

// chartsHost is the registry host --creds applies to in gitless render: that of
// the oci:// chart sources (one registry).
func chartsHost(sources []string, creds string) (string, error) {
	host := ""
	for _, s := range sources {
		if !strings.HasPrefix(s, render.OCIScheme) {
			continue
		}
		ref, err := artifact.ParseReference(s)
		if err != nil {
			return "", clikit.Usage(err)
		}
		if host != "" && host != ref.Registry {
			if creds != "" {
				return "", clikit.Usagef("--creds is for one registry; the chart sources are in %s and %s (use --docker-config)", host, ref.Registry)
			}
			continue
		}
		host = ref.Registry
	}
	if creds != "" && host == "" {
		return "", clikit.Usagef("--creds is for the registry of an oci:// chart source; give other registries' credentials with --docker-config or docker login")
	}
	return host, nil
}

// chartsAnnotation is the provenance annotation of the charts a render used.
func chartsAnnotation(charts []render.Chart) (string, error) {
	b, err := json.Marshal(charts)
	return string(b), err
}

func describeCharts(charts []render.Chart) []string {
	var out []string
	for _, c := range charts {
		out = append(out, fmt.Sprintf("chart %s %s %s (%s)", c.Name, c.Version, c.Digest, c.Source))
	}
	return out
}
