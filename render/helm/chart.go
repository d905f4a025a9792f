package helm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"

	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/render"
)

// Chart is a chart found or fetched, ready to render any number of times.
type Chart struct {
	// Info names the chart: name, version, digest and where it came from.
	Info render.Chart

	dir string // a chart directory, or
	tgz []byte // a packaged chart

	mu    sync.Mutex
	first *chart.Chart // loaded to read Info; handed to the first render
}

// load returns the chart as Helm's type, loaded afresh (Helm changes a chart while
// rendering it: dependencies are pruned by their conditions).
func (c *Chart) load() (*chart.Chart, error) {
	c.mu.Lock()
	ch := c.first
	c.first = nil
	c.mu.Unlock()
	if ch != nil {
		return ch, nil
	}
	if c.tgz != nil {
		return loader.LoadArchive(bytes.NewReader(c.tgz))
	}
	return loader.LoadDir(c.dir)
}

// LoadChart reads a chart directory or a packaged chart (.tgz) from disk, and
// checks it as helm template does: an application chart whose dependencies are in
// its charts/ directory.
func LoadChart(path string) (*Chart, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrChartNotFound, path)
		}
		return nil, err
	}
	c := &Chart{}
	var ch *chart.Chart
	if fi.IsDir() {
		if _, err := os.Stat(filepath.Join(path, render.HelmChartFile)); err != nil {
			return nil, fmt.Errorf("%w: %s has no %s", ErrChartNotFound, path, render.HelmChartFile)
		}
		c.dir = path
		// Helm's loader follows links anywhere: only those that stay in the chart,
		// or in the working directory (the checkout) that holds it, are read.
		if err := manifest.CheckLinks(path, chartRoots(path)...); err != nil {
			return nil, fmt.Errorf("loading chart %s: %w", path, err)
		}
		if ch, err = loader.LoadDir(path); err != nil {
			return nil, fmt.Errorf("loading chart %s: %w", path, err)
		}
		c.Info.Digest = filesDigest(ch)
	} else {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return chartFromArchive(data, filepath.ToSlash(path))
	}
	c.Info.Source = filepath.ToSlash(path)
	return c, c.prepare(ch)
}

// chartRoots are where the links of the chart at dir may lead: the chart alone. The
// checkout around it holds what a CI job leaves in its workspace (a cloud login's
// credentials file, .git/config with the job's token), which .Files.Get would render
// into the manifests.
func chartRoots(dir string) []string {
	return []string{dir}
}

// chartFromArchive reads a packaged chart (its digest is that of data).
func chartFromArchive(data []byte, source string) (*Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", source, err)
	}
	sum := sha256.Sum256(data)
	c := &Chart{tgz: data, Info: render.Chart{Digest: "sha256:" + hex.EncodeToString(sum[:]), Source: source}}
	return c, c.prepare(ch)
}

// prepare fills Info from the chart's metadata and checks that it can be
// rendered; the chart is kept for the first render.
func (c *Chart) prepare(ch *chart.Chart) error {
	if ch.Metadata == nil {
		return fmt.Errorf("loading chart %s: no Chart.yaml", c.Info.Source)
	}
	c.Info.Name, c.Info.Version = ch.Metadata.Name, ch.Metadata.Version
	switch ch.Metadata.Type {
	case "", "application":
	default:
		return fmt.Errorf("chart %s (%s): %s charts are not installable", c.Info.Name, c.Info.Source, ch.Metadata.Type)
	}
	var missing []string
	for _, d := range ch.Metadata.Dependencies {
		if !slices.ContainsFunc(ch.Dependencies(), func(sub *chart.Chart) bool { return sub.Name() == d.Name }) {
			missing = append(missing, d.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: chart %s (%s): dependencies found in Chart.yaml, but missing in charts/ directory: %s; vendor them (helm dependency build)",
			ErrChartNotFound, c.Info.Name, c.Info.Source, strings.Join(missing, ", "))
	}
	c.first = ch
	return nil
}

// filesDigest is the digest of a chart directory: sha256 of a listing of its files
// (those the chart loader keeps: .helmignore applies), one line per file, sorted by
// path, each "<sha256 hex of the content>  <slash path>\n" (the format of
// sha256sum). The same files give the same digest on any machine.
func filesDigest(ch *chart.Chart) string {
	files := slices.Clone(ch.Raw)
	slices.SortFunc(files, func(a, b *common.File) int { return strings.Compare(a.Name, b.Name) })
	h := sha256.New()
	for _, f := range files {
		sum := sha256.Sum256(f.Data)
		fmt.Fprintf(h, "%s  %s\n", hex.EncodeToString(sum[:]), f.Name)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// chartSource tells a local chart from one in a registry.
func isOCI(src string) bool { return strings.HasPrefix(src, render.OCIScheme) }

// Chart finds a chart by the name a user gives it: a directory, a .tgz, or
// oci://REGISTRY/REPOSITORY/CHART (version: a tag, a semver range, or "" for the
// highest release; a digest in the reference pins it).
func (e *Engine) Chart(ctx context.Context, src, version string) (*Chart, error) {
	if isOCI(src) {
		return e.ociChart(ctx, src, version)
	}
	if version != "" {
		c, err := LoadChart(src)
		if err != nil {
			return nil, err
		}
		if c.Info.Version != version {
			return nil, fmt.Errorf("%w: %s is chart %s version %s, not %s", ErrChartNotFound, src, c.Info.Name, c.Info.Version, version)
		}
		return c, nil
	}
	return LoadChart(src)
}
