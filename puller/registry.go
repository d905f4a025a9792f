package puller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitless-dev/gitless/artifact/auth"
	"github.com/gitless-dev/gitless/artifact/remote"
)

// ErrForbiddenAddress is returned when a registry host resolves to a link-local or
// cloud metadata address and the puller is not told to allow those.
var ErrForbiddenAddress = errors.New("registry address not allowed")

// metadataAddrs are cloud metadata endpoints outside the link-local ranges.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("fd00:ec2::254"),   // AWS IMDS over IPv6
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("168.63.129.16"),   // Azure WireServer (and its DNS and health probes)
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/32") // RFC 6052's 64:ff9b::/96 and RFC 8215's 64:ff9b:1::/48
	sixToFour = netip.MustParsePrefix("2002::/16")    // 6to4: the IPv4 address in bits 16-47
	v4compat  = netip.MustParsePrefix("::/96")        // IPv4-compatible IPv6 (deprecated, still routed by some stacks)
)

// embeddedV4 returns the IPv4 addresses an IPv6 address may carry: a NAT64 address at
// each of RFC 6052's prefix lengths (a gateway translates it to that IPv4 address),
// 6to4, and IPv4-compatible addresses.
func embeddedV4(a netip.Addr) []netip.Addr {
	if !a.Is6() {
		return nil
	}
	b := a.As16()
	v4 := func(x ...byte) netip.Addr { return netip.AddrFrom4([4]byte{x[0], x[1], x[2], x[3]}) }
	var out []netip.Addr
	switch {
	case nat64.Contains(a):
		// RFC 6052 section 2.2: bits 64-71 (byte 8) are always skipped.
		out = append(out, v4(b[4], b[5], b[6], b[7]), v4(b[5], b[6], b[7], b[9]), v4(b[6], b[7], b[9], b[10]),
			v4(b[7], b[9], b[10], b[11]), v4(b[9], b[10], b[11], b[12]), v4(b[12], b[13], b[14], b[15]))
	case sixToFour.Contains(a):
		out = append(out, v4(b[2], b[3], b[4], b[5]))
	case v4compat.Contains(a) && !a.IsUnspecified() && !a.IsLoopback():
		out = append(out, v4(b[12], b[13], b[14], b[15]))
	}
	return out
}

// checkAddr refuses link-local, metadata and unspecified addresses, also when an IPv6
// address embeds one (NAT64, 6to4, IPv4-compatible).
func checkAddr(a netip.Addr) error {
	a = a.Unmap()
	if err := checkPlain(a); err != nil {
		return err
	}
	for _, v4 := range embeddedV4(a) {
		if v4.IsUnspecified() {
			continue // the zero bits of a longer prefix, not an address
		}
		if err := checkPlain(v4); err != nil {
			return fmt.Errorf("%w (embedded in %s)", err, a)
		}
	}
	return nil
}

func checkPlain(a netip.Addr) error {
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
// remote's bounds on response headers (registryHTTPClient adds the one on bodies), and
// every connection's address checked after DNS resolution (so a name that resolves,
// or is rebound, to a metadata address is refused too, and so are redirects there),
// unless allowLinkLocal. With a proxy, the connection is to the proxy; the registry's
// name is then checked where it resolves here (the proxy must enforce its own egress
// rules: it resolves the name again).
func newTransport(allowLinkLocal bool, proxy func(*url.URL) (*url.URL, error)) *http.Transport {
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
	t := remote.BoundHeaders(http.DefaultTransport.(*http.Transport).Clone(), remote.TransportOptions{ResponseHeaderTimeout: registryHeaderTimeout})
	t.DialContext = d.DialContext
	t.Proxy = nil
	if proxy != nil {
		t.Proxy = func(r *http.Request) (*url.URL, error) {
			u, err := proxy(r.URL)
			if err != nil || u == nil || allowLinkLocal {
				return u, err
			}
			if err := checkHost(r.Context(), r.URL.Hostname()); err != nil {
				return nil, err
			}
			return u, nil
		}
	}
	return t
}

// checkHost refuses a registry host that is, or resolves here to, a forbidden address.
// A name that does not resolve here is left to the proxy.
func checkHost(ctx context.Context, host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		return checkAddr(a)
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil
	}
	for _, a := range addrs {
		if err := checkAddr(a); err != nil {
			return fmt.Errorf("%s: %w", host, err)
		}
	}
	return nil
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
		if r.Method == http.MethodGet || r.URL.Query().Get("dryRun") != "" || dryRunDelete(r) {
			c.apiReads.Add(1)
		} else {
			c.apiWrite.Add(1)
		}
	}
	return t.base.RoundTrip(r)
}

// dryRunDelete reports whether r is a DELETE whose options (in its body, where
// client-go puts them) ask for a dry-run.
func dryRunDelete(r *http.Request) bool {
	if r.Method != http.MethodDelete || r.GetBody == nil {
		return false
	}
	b, err := r.GetBody()
	if err != nil {
		return false
	}
	defer b.Close()
	data, err := io.ReadAll(io.LimitReader(b, 64<<10))
	if err != nil {
		return false
	}
	var o struct {
		DryRun []string `json:"dryRun"`
	}
	return json.Unmarshal(data, &o) == nil && len(o.DryRun) > 0
}

// registryRetry is the puller's retry policy within a request: two retries of a 5xx,
// a 408 or a dropped connection, and none of a 429 or 503, which end the sync with a
// remote.RetryAfterError; Run then waits at least what the registry asked, with a
// backoff that grows while it keeps asking (schedule.go).
var registryRetry = remote.RetryPolicy{MaxRetries: 2, MinBackoff: 500 * time.Millisecond, MaxBackoff: 2 * time.Second}

// registryHeaderTimeout and registryIdleTimeout bound the wait for a registry's
// response headers, and for the next bytes of a body: a registry that stalls holds one
// of the --max-concurrent-syncs slots, which every other source waits for, for at most
// the request's attempts (registryRetry) times these, not the source's timeout.
const registryHeaderTimeout = 20 * time.Second

var registryIdleTimeout = 30 * time.Second // a variable for the tests

// RegistryHTTPClient is the puller's registry client over base (nil: Go's default
// transport): registryRetry's retries, never of a 401 or 403, and a 429 or 503 returned
// as a remote.RetryAfterError. Exported for the fleet simulation (bench/fleet.sh).
func RegistryHTTPClient(base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return registryHTTPClient(base)
}

// registryHTTPClient is the retrying client (never 401/403) over the checked transport.
func registryHTTPClient(base http.RoundTripper) *http.Client {
	return &http.Client{Transport: remote.NewRetryTransport(counting{base: remote.StallGuard(base, registryIdleTimeout)}, registryRetry)}
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
