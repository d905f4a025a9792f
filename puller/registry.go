package puller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/gitless-dev/gitless/artifact/auth"
)

// ErrForbiddenAddress is returned when a registry host resolves to a link-local or
// cloud metadata address and the puller is not told to allow those.
var ErrForbiddenAddress = errors.New("registry address not allowed")

// metadataAddrs are cloud metadata endpoints outside the link-local ranges.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
}

// checkAddr refuses link-local, metadata and unspecified addresses.
func checkAddr(a netip.Addr) error {
	a = a.Unmap()
	switch {
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is link-local (cloud metadata services live there)", ErrForbiddenAddress, a)
	case a.IsUnspecified():
		return fmt.Errorf("%w: %s is unspecified", ErrForbiddenAddress, a)
	}
	for _, m := range metadataAddrs {
		if a == m {
			return fmt.Errorf("%w: %s is a cloud metadata address", ErrForbiddenAddress, a)
		}
	}
	return nil
}

// newTransport returns the puller's HTTP transport to registries: Go's defaults, with
// every connection's address checked after DNS resolution (so a name that resolves,
// or is rebound, to a metadata address is refused too, and so are redirects there),
// unless allowLinkLocal.
func newTransport(allowLinkLocal bool) *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if !allowLinkLocal {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %q", ErrForbiddenAddress, address)
			}
			return checkAddr(ap.Addr())
		}
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = d.DialContext
	t.Proxy = nil // the proxy would make the address check meaningless
	return t
}

// counting counts the requests that go through it into the counter in the request's
// context, if any.
type counting struct{ base http.RoundTripper }

type countKey struct{}

// requestCounter counts a sync's requests.
type requestCounter struct {
	registry atomic.Int64
	apiReads atomic.Int64
	apiWrite atomic.Int64
}

func withCounter(ctx context.Context, c *requestCounter) context.Context {
	return context.WithValue(ctx, countKey{}, c)
}

func counterFrom(ctx context.Context) *requestCounter {
	c, _ := ctx.Value(countKey{}).(*requestCounter)
	return c
}

func (t counting) RoundTrip(r *http.Request) (*http.Response, error) {
	if c := counterFrom(r.Context()); c != nil {
		c.registry.Add(1)
	}
	return t.base.RoundTrip(r)
}

// apiCounting counts apiserver requests: reads (GET) and writes (anything else that
// is not a dry-run).
type apiCounting struct{ base http.RoundTripper }

func (t apiCounting) RoundTrip(r *http.Request) (*http.Response, error) {
	if c := counterFrom(r.Context()); c != nil {
		if r.Method == http.MethodGet || r.URL.Query().Get("dryRun") != "" {
			c.apiReads.Add(1)
		} else {
			c.apiWrite.Add(1)
		}
	}
	return t.base.RoundTrip(r)
}

// registryHTTPClient is the retrying client (oras-go's policy: 5xx, 408 and 429
// retried with backoff, Retry-After honoured, never 401/403) over the checked transport.
func registryHTTPClient(base http.RoundTripper) *http.Client {
	return &http.Client{Transport: retry.NewTransport(counting{base: base})}
}

// credentials returns the registry credentials of a source: its pull Secret read
// through the API with the source's identity (a tenant reads its own Secrets, not
// with the puller's rights), from the source's namespace unless it names another; or
// its pull secret file; nil when it has neither.
func (p *Puller) credentials(ctx context.Context, src Source, id Identity) (auth.Chain, error) {
	switch {
	case src.PullSecret != "":
		ns, name := id.Namespace, src.PullSecret
		if i := strings.IndexByte(name, '/'); i >= 0 {
			ns, name = name[:i], name[i+1:]
		}
		what := "Secret " + ns + "/" + name
		kube, err := p.kubeAs(id.ServiceAccount)
		if err != nil {
			return nil, err
		}
		s, err := kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("reading pull secret %s: %w", what, err)
		}
		if s.Type != corev1.SecretTypeDockerConfigJson {
			return nil, fmt.Errorf("pull secret %s: type %q, want %q (kubectl create secret docker-registry makes one)", what, s.Type, corev1.SecretTypeDockerConfigJson)
		}
		src, err := auth.ParseDockerConfigJSON(s.Data[corev1.DockerConfigJsonKey], what)
		if err != nil {
			return nil, err
		}
		return auth.Chain{src}, nil
	case src.PullSecretFile != "":
		s, err := auth.ReadDockerConfigFile(ctx, src.PullSecretFile)
		if err != nil {
			return nil, err
		}
		return auth.Chain{s}, nil
	}
	return nil, nil
}
