package helm

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"helm.sh/helm/v4/pkg/chart/common"

	"github.com/gitless-dev/gitless/artifact/remote"
)

// DefaultKubeVersion is .Capabilities.KubeVersion when Options.KubeVersion is empty:
// the version `helm template` of the Helm that gitless links reports (that of its
// client-go, k8s.io/client-go v0.37), fixed here so that a render does not change
// with the build.
const DefaultKubeVersion = "v1.37.0"

// Sentinel errors; match with errors.Is.
var (
	// ErrChartNotFound: a chart, or a chart version, that the source does not have.
	ErrChartNotFound = errors.New("chart not found")
	// ErrUnsupported: a HelmRelease or source field that render cannot honour.
	ErrUnsupported = errors.New("not supported by gitless render")
	// ErrInvalid: a HelmRelease, source or helmTemplate call that is malformed.
	ErrInvalid = errors.New("invalid")
)

// Options configures an [Engine].
type Options struct {
	// Credentials for OCI registries and chart repositories, looked up by host (an
	// artifact/auth Chain). nil means anonymous access.
	Credentials remote.CredentialResolver
	// Insecure allows plain HTTP to registries that are not on loopback.
	Insecure bool
	// HTTPClient fetches from chart repositories and registries; nil means a
	// client that retries 5xx, 408 and 429 (oras-go's).
	HTTPClient *http.Client
	// CacheDir keeps fetched charts by digest between runs; "" means no cache.
	CacheDir string
	// KubeVersion is .Capabilities.KubeVersion for every chart ("" means
	// DefaultKubeVersion), as `helm template --kube-version`.
	KubeVersion string
	// APIVersions are added to .Capabilities.APIVersions, as `helm template
	// --api-versions`.
	APIVersions []string
	// UserAgent is sent with every request.
	UserAgent string
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
}

// DefaultOptions returns options for anonymous access with no cache.
func DefaultOptions() Options { return Options{} }

// Engine renders charts. It is safe for concurrent use.
type Engine struct {
	opts   Options
	log    *slog.Logger
	client *remote.Client
	http   *http.Client

	insecureOnce sync.Once
	insecure     *Engine // for sources that allow plain HTTP (forSource)
}

// New returns an Engine. An invalid Options.KubeVersion is reported when a chart
// is rendered.
func New(opts Options) *Engine {
	if opts.UserAgent == "" {
		opts.UserAgent = "gitless"
	}
	e := &Engine{opts: opts, log: opts.Logger}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.client = remote.New(remote.Options{
		Credentials: opts.Credentials,
		Insecure:    opts.Insecure,
		HTTPClient:  opts.HTTPClient,
		UserAgent:   opts.UserAgent,
		Logger:      opts.Logger,
	})
	e.http = opts.HTTPClient
	if e.http == nil {
		e.http = defaultHTTPClient()
	}
	return e
}

// kubeVersion parses Options.KubeVersion once it is needed.
func (e *Engine) kubeVersion() (*common.KubeVersion, error) {
	return parseKube(cmp.Or(e.opts.KubeVersion, DefaultKubeVersion))
}

func parseKube(v string) (*common.KubeVersion, error) {
	kv, err := common.ParseKubeVersion(v)
	if err != nil {
		return nil, fmt.Errorf("%w kube version %q: %v", ErrInvalid, v, err)
	}
	return kv, nil
}

// ParseKubeVersion checks a --kube-version value as helm template does.
func ParseKubeVersion(v string) error {
	if _, err := common.ParseKubeVersion(v); err != nil {
		return fmt.Errorf("kube version %q: %w", v, err)
	}
	return nil
}

// splitAPIVersions reads --api-versions values, each possibly a comma-separated
// list, as helm template does.
func splitAPIVersions(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
