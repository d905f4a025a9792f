package helm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
)

// Media types of a Helm chart in an OCI registry (what helm push writes).
const (
	ChartLayerMediaType       = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	ChartConfigMediaType      = "application/vnd.cncf.helm.config.v1+json"
	legacyChartLayerMediaType = "application/tar+gzip"
)

// Caps on what is downloaded: a chart (compressed), a manifest, a repository index.
const (
	MaxChartSize    = 32 << 20
	maxManifestSize = 4 << 20
	MaxIndexSize    = 64 << 20
)

func defaultHTTPClient() *http.Client { return remote.DefaultHTTPClient }

// ociChart fetches oci://REGISTRY/REPOSITORY/CHART[:TAG][@DIGEST] at version.
func (e *Engine) ociChart(ctx context.Context, src, version string) (*Chart, error) {
	ref, err := artifact.ParseReference(src)
	if err != nil {
		return nil, err
	}
	if ref.Digest == "" {
		switch {
		case ref.Tag != "" && version != "" && ref.Tag != ociTag(version):
			return nil, fmt.Errorf("%w: %s names tag %s and the chart version is %s: give one", ErrInvalid, src, ref.Tag, version)
		case ref.Tag == "":
			tag, err := e.ociVersion(ctx, ref, version)
			if err != nil {
				return nil, err
			}
			ref = ref.WithTag(tag)
		}
	}
	return e.fetchOCI(ctx, ref, "")
}

// ociTag is the tag helm push gives a chart version ("+" is not allowed in tags).
func ociTag(version string) string { return strings.ReplaceAll(version, "+", "_") }

// ociVersion picks the tag of a chart version: the version itself when it is an
// exact version, else the highest tag inside the range ("" is any release, as helm
// pull takes it).
func (e *Engine) ociVersion(ctx context.Context, ref artifact.Reference, version string) (string, error) {
	if _, err := semver.StrictNewVersion(strings.TrimPrefix(version, "v")); err == nil && version != "" {
		return ociTag(version), nil
	}
	constraint := version
	if constraint == "" {
		constraint = "*"
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return "", fmt.Errorf("%w: chart version %q of %s: %v", ErrInvalid, version, ref, err)
	}
	tags, err := e.client.Tags(ctx, ref)
	if err != nil {
		return "", err
	}
	var best *semver.Version
	bestTag := ""
	for _, t := range tags {
		if t == ociTag(version) {
			return t, nil
		}
		v, err := semver.NewVersion(strings.ReplaceAll(t, "_", "+"))
		if err != nil || !c.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestTag = v, t
		}
	}
	if best == nil {
		return "", fmt.Errorf("%w: no version of %s matches %q (tags: %s)", ErrChartNotFound, ref, constraint, summarize(tags))
	}
	return bestTag, nil
}

func summarize(tags []string) string {
	if len(tags) == 0 {
		return "none"
	}
	if len(tags) > 10 {
		return strings.Join(tags[:10], ", ") + fmt.Sprintf(", ... (%d in all)", len(tags))
	}
	return strings.Join(tags, ", ")
}

// fetchOCI fetches the chart that ref (a tag or a digest) points at: the tag is
// resolved once, the manifest and the chart layer are fetched by digest (from the
// cache when there), their sizes capped and digests checked. layerType selects the
// layer; "" means a Helm chart's.
func (e *Engine) fetchOCI(ctx context.Context, ref artifact.Reference, layerType string) (*Chart, error) {
	desc, err := e.client.Resolve(ctx, ref)
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s: %w", ErrChartNotFound, ref, err)
		}
		return nil, err
	}
	pinned := ref.WithDigest(desc.Digest)
	mb, err := e.blob(ctx, pinned, ocispec.Descriptor{Digest: desc.Digest, Size: desc.Size}, maxManifestSize, true)
	if err != nil {
		return nil, err
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, fmt.Errorf("fetching chart %s: manifest: %w", pinned, err)
	}
	var layer *ocispec.Descriptor
	for i, l := range m.Layers {
		want := l.MediaType == layerType
		if layerType == "" {
			want = l.MediaType == ChartLayerMediaType || l.MediaType == legacyChartLayerMediaType
		}
		if want {
			layer = &m.Layers[i]
			break
		}
	}
	if layer == nil {
		want := layerType
		if want == "" {
			want = ChartLayerMediaType
		}
		return nil, fmt.Errorf("%w: %s is not a Helm chart: no %s layer (config %s)", ErrChartNotFound, pinned, want, m.Config.MediaType)
	}
	if layer.Size > MaxChartSize || layer.Size < 0 {
		return nil, fmt.Errorf("fetching chart %s: layer %s is %d bytes, over the cap of %d", pinned, layer.Digest, layer.Size, MaxChartSize)
	}
	tgz, err := e.blob(ctx, pinned, *layer, MaxChartSize, false)
	if err != nil {
		return nil, err
	}
	c, err := chartFromArchive(tgz, pinned.String())
	if err != nil {
		return nil, err
	}
	c.Info.Digest = desc.Digest.String()
	return c, nil
}

// blob returns the content of desc from the cache, or fetches it (a manifest or a
// blob) from ref's repository, checking its size and digest, and caches it.
func (e *Engine) blob(ctx context.Context, ref artifact.Reference, desc ocispec.Descriptor, maxSize int64, manifest bool) ([]byte, error) {
	if b, ok := e.cacheGet(desc.Digest); ok {
		e.log.DebugContext(ctx, "chart cache hit", "digest", desc.Digest, "ref", ref)
		return b, nil
	}
	r, err := e.client.Repository(ref)
	if err != nil {
		return nil, err
	}
	var rc io.ReadCloser
	what := "layer " + desc.Digest.String()
	if manifest {
		what = "manifest " + desc.Digest.String()
		var got ocispec.Descriptor
		got, rc, err = r.Manifests().FetchReference(ctx, desc.Digest.String())
		if err == nil && got.Digest != desc.Digest {
			rc.Close()
			return nil, fmt.Errorf("fetching chart %s: the registry returned manifest %s", ref, got.Digest)
		}
		desc.Size = got.Size
	} else {
		rc, err = r.Blobs().Fetch(ctx, desc)
	}
	if err != nil {
		return nil, e.client.WrapError("fetching chart", ref, fmt.Errorf("%s: %w", what, err))
	}
	defer rc.Close()
	if desc.Size > maxSize || desc.Size < 0 {
		return nil, fmt.Errorf("fetching chart %s: %s is %d bytes, over the cap of %d", ref, what, desc.Size, maxSize)
	}
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("fetching chart %s: %s: %w", ref, what, err)
	}
	e.cachePut(desc.Digest, b)
	return b, nil
}

// repoChart fetches chart name at version (a version or a semver range; "" is the
// highest release) from the HTTP chart repository at repoURL, as helm-controller's
// HelmRepository does: index.yaml, then the chart's first URL, checked against the
// digest the index gives.
func (e *Engine) repoChart(ctx context.Context, repoURL, name, version string) (*Chart, error) {
	if u, err := url.Parse(repoURL); err == nil && u.User != nil {
		// It would be quoted in errors and recorded as the chart's source.
		return nil, fmt.Errorf("%w: chart repository %s has credentials in its URL: give them with --creds or a docker config instead", ErrInvalid, redactURL(u))
	}
	base := strings.TrimSuffix(repoURL, "/")
	idx, err := e.get(ctx, base+"/index.yaml", MaxIndexSize)
	if err != nil {
		return nil, fmt.Errorf("fetching the index of chart repository %s: %w", repoURL, err)
	}
	var index repoIndex
	if only, ok := indexEntries(idx, name); ok {
		idx = only // the one chart's entries: a public index holds thousands of charts
	}
	if err := yaml.Unmarshal(idx, &index); err != nil {
		return nil, fmt.Errorf("reading the index of chart repository %s: %w", repoURL, err)
	}
	cv, err := index.get(name, version)
	if err != nil {
		return nil, fmt.Errorf("chart repository %s: %w", repoURL, err)
	}
	chartURL, err := resolveURL(base, cv.URLs[0])
	if err != nil {
		return nil, fmt.Errorf("chart repository %s: %s %s: %w", repoURL, name, cv.Version, err)
	}
	var want digest.Digest
	if cv.Digest != "" {
		want = digest.NewDigestFromEncoded(digest.SHA256, cv.Digest)
		if err := want.Validate(); err != nil {
			return nil, fmt.Errorf("chart repository %s: %s %s: digest %q: %w", repoURL, name, cv.Version, cv.Digest, err)
		}
	}
	tgz, ok := []byte(nil), false
	if want != "" {
		tgz, ok = e.cacheGet(want)
	}
	if !ok {
		if tgz, err = e.get(ctx, chartURL, MaxChartSize); err != nil {
			return nil, fmt.Errorf("fetching chart %s %s from %s: %w", name, cv.Version, chartURL, err)
		}
		if want != "" {
			if got := digest.FromBytes(tgz); got != want {
				return nil, fmt.Errorf("fetching chart %s %s from %s: got %s, the index of %s says %s", name, cv.Version, chartURL, got, repoURL, want)
			}
			e.cachePut(want, tgz)
		}
	}
	c, err := chartFromArchive(tgz, repoURL)
	if err != nil {
		return nil, err
	}
	if c.Info.Name != name || c.Info.Version != cv.Version {
		return nil, fmt.Errorf("chart repository %s: %s is chart %s %s, the index says %s %s", repoURL, chartURL, c.Info.Name, c.Info.Version, name, cv.Version)
	}
	return c, nil
}

// get fetches an HTTP(S) URL, at most maxSize bytes, with the credentials the chain
// has for its host (only over HTTPS, to loopback, or when Insecure).
func (e *Engine) get(ctx context.Context, rawURL string, maxSize int64) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q is not an http(s) URL", ErrInvalid, rawURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", e.opts.UserAgent)
	if e.opts.Credentials != nil && (u.Scheme == "https" || artifact.IsLoopback(u.Host) || e.opts.Insecure) {
		cred, source, err := e.opts.Credentials.Resolve(ctx, u.Host)
		if err != nil {
			return nil, fmt.Errorf("looking up credentials for %s: %w", u.Host, err)
		}
		switch {
		case cred.RegistryToken != "":
			req.Header.Set("Authorization", "Bearer "+cred.RegistryToken)
		case cred.Username != "" || cred.Password != "":
			req.SetBasicAuth(cred.Username, cred.Password)
		}
		if source != "" {
			e.log.DebugContext(ctx, "chart repository credentials", "host", u.Host, "source", source)
		}
	}
	// The credentials go to this origin only: net/http forwards Authorization to a
	// redirect of the same host name, whatever its scheme or port (HTTPS to plain HTTP).
	client := *e.http
	client.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if first := via[0].URL; r.URL.Scheme != first.Scheme || r.URL.Host != first.Host {
			r.Header.Del("Authorization")
		}
		return nil
	}
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) {
			return nil, fmt.Errorf("cannot reach %s: %w", u.Host, err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s: %s", ErrChartNotFound, redactURL(u), resp.Status)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%s: %s (%w)", redactURL(u), resp.Status, remote.ErrUnauthorized)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s: %s", redactURL(u), resp.Status)
	}
	if resp.ContentLength > maxSize {
		return nil, fmt.Errorf("%s is %d bytes, over the cap of %d", redactURL(u), resp.ContentLength, maxSize)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", redactURL(u), err)
	}
	if int64(len(b)) > maxSize {
		return nil, fmt.Errorf("%s is over the cap of %d bytes", redactURL(u), maxSize)
	}
	return b, nil
}

func redactURL(u *url.URL) string {
	c := *u
	c.User = nil
	return c.String()
}

// cacheGet reads a cached blob, checking it against its digest (a cache entry that
// does not match is removed).
func (e *Engine) cacheGet(d digest.Digest) ([]byte, bool) {
	p, ok := e.cachePath(d)
	if !ok {
		return nil, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	if digest.FromBytes(b) != d {
		os.Remove(p)
		return nil, false
	}
	return b, true
}

// cachePut stores a blob whose digest was checked; failures only cost a refetch.
func (e *Engine) cachePut(d digest.Digest, b []byte) {
	p, ok := e.cachePath(d)
	if !ok {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.log.Debug("chart cache", "error", err)
		return
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		e.log.Debug("chart cache", "error", err)
		return
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), p) != nil {
		os.Remove(f.Name())
	}
}

func (e *Engine) cachePath(d digest.Digest) (string, bool) {
	if e.opts.CacheDir == "" || d.Validate() != nil || d.Algorithm() != digest.SHA256 {
		return "", false
	}
	return filepath.Join(e.opts.CacheDir, "blobs", "sha256", d.Encoded()), true
}

// indexEntries returns the part of an index.yaml that lists chart name's versions, as
// a YAML document of its own, when the index is laid out as Helm writes it (a block
// mapping "entries:" at the left margin, each chart a key two spaces in, its versions
// a list below it); ok is false for any other layout, which is then read whole. Read
// whole, through sigs.k8s.io/yaml, an index takes about 90 times its size in memory:
// 1.5 GB for the 16 MB of a large public repository.
func indexEntries(idx []byte, name string) (_ []byte, ok bool) {
	start := 0
	if !bytes.HasPrefix(idx, []byte("entries:\n")) {
		i := bytes.Index(idx, []byte("\nentries:\n"))
		if i < 0 {
			return nil, false
		}
		start = i + 1
	}
	rest := idx[start+len("entries:\n"):]
	var out bytes.Buffer
	out.WriteString("entries:\n")
	in := false   // inside name's block
	keys := false // a chart's key seen, two spaces in
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		body := bytes.TrimRight(line, " \r\n")
		trimmed := bytes.TrimLeft(body, " ")
		if len(trimmed) == 0 || trimmed[0] == '#' {
			if in {
				out.Write(line)
			}
			continue
		}
		indent := len(body) - len(trimmed)
		if !keys && (indent != 2 || trimmed[0] == '-') {
			return nil, false // the first line below entries is not a chart's key: another layout
		}
		switch {
		case indent == 0:
			return out.Bytes(), true // the mapping after entries
		case indent == 2 && trimmed[0] != '-':
			key, isKey := bytes.CutSuffix(trimmed, []byte(":"))
			if !isKey || bytes.ContainsAny(key, ":{}[]&*!|>'%@`\"") && !quotedKey(key) {
				return nil, false // not the layout above: read it whole
			}
			keys = true
			in = unquoteKey(key) == name
			if in {
				out.Write(line)
			}
		case indent < 2:
			return nil, false
		default:
			if in {
				out.Write(line)
			}
		}
	}
	return out.Bytes(), keys
}

func quotedKey(k []byte) bool {
	return len(k) >= 2 && (k[0] == '"' && k[len(k)-1] == '"' || k[0] == '\'' && k[len(k)-1] == '\'')
}

func unquoteKey(k []byte) string {
	if quotedKey(k) {
		var s string
		if yaml.Unmarshal(k, &s) == nil {
			return s
		}
	}
	return string(k)
}

// repoIndex is the part of a chart repository's index.yaml that render reads.
type repoIndex struct {
	APIVersion string                       `json:"apiVersion"`
	Entries    map[string][]*indexedVersion `json:"entries"`
}

type indexedVersion struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest"`
}

// get picks a version of a chart as Helm's repository index does: the version
// given exactly, else the highest inside the range ("" is any release:
// pre-releases only when the range asks for them).
func (i *repoIndex) get(name, version string) (*indexedVersion, error) {
	var have []string
	type cand struct {
		v  *semver.Version
		cv *indexedVersion
	}
	var cands []cand
	for _, cv := range i.Entries[name] {
		if cv == nil || len(cv.URLs) == 0 {
			continue
		}
		if version != "" && cv.Version == version {
			return cv, nil
		}
		if v, err := semver.NewVersion(cv.Version); err == nil {
			have = append(have, cv.Version)
			cands = append(cands, cand{v, cv})
		}
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("%w: no chart %s", ErrChartNotFound, name)
	}
	constraint := version
	if constraint == "" {
		constraint = "*"
	}
	c, err := semver.NewConstraint(constraint)
	if err != nil {
		return nil, fmt.Errorf("%w: chart version %q: %v", ErrInvalid, version, err)
	}
	var best *cand
	for j := range cands {
		if c.Check(cands[j].v) && (best == nil || cands[j].v.GreaterThan(best.v)) {
			best = &cands[j]
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no version of %s matches %q (versions: %s)", ErrChartNotFound, name, constraint, summarize(have))
	}
	return best.cv, nil
}

// resolveURL resolves a chart URL of an index against the repository URL, as
// Helm does (a relative URL is below the repository, keeping its query).
func resolveURL(base, ref string) (string, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("chart URL %q: %w", ref, err)
	}
	if r.IsAbs() {
		return ref, nil
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("repository URL %q: %w", base, err)
	}
	b.RawPath = strings.TrimSuffix(b.RawPath, "/") + "/"
	b.Path = strings.TrimSuffix(b.Path, "/") + "/"
	u := b.ResolveReference(r)
	u.RawQuery = b.RawQuery
	return u.String(), nil
}
