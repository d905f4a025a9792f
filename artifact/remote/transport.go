package remote

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"oras.land/oras-go/v2/registry/remote/retry"
)

// Bounds on what a registry can make a client wait for, or read before a body: a
// registry that accepts a connection and never answers, stops sending half-way
// through a body, or sends megabytes of headers (whose text would end up in errors,
// logs and status) ends the request instead of holding it.
const (
	// DefaultResponseHeaderTimeout bounds the wait for a response's headers once the
	// request is sent.
	DefaultResponseHeaderTimeout = 60 * time.Second
	// DefaultIdleTimeout bounds the wait for the next bytes of a response's body.
	DefaultIdleTimeout = 60 * time.Second
	// DefaultMaxResponseHeaderBytes bounds a response's headers.
	DefaultMaxResponseHeaderBytes = 64 << 10
)

// TransportOptions are the bounds of [BoundHeaders] and [StallGuard]; zero values mean
// the defaults above.
type TransportOptions struct {
	ResponseHeaderTimeout  time.Duration
	IdleTimeout            time.Duration
	MaxResponseHeaderBytes int64
}

// ErrStalled: a registry sent no byte of a response's body for the idle timeout.
var ErrStalled = errors.New("the registry stopped sending")

// BoundHeaders sets t's bounds on a response's headers: how long they may take, and
// their size. It returns t.
func BoundHeaders(t *http.Transport, o TransportOptions) *http.Transport {
	t.ResponseHeaderTimeout = cmp.Or(o.ResponseHeaderTimeout, DefaultResponseHeaderTimeout)
	t.MaxResponseHeaderBytes = cmp.Or(o.MaxResponseHeaderBytes, DefaultMaxResponseHeaderBytes)
	return t
}

// StallGuard returns base wrapped so that a response body from which nothing arrives
// for idle (0: DefaultIdleTimeout) is closed, its reader failing with ErrStalled.
func StallGuard(base http.RoundTripper, idle time.Duration) http.RoundTripper {
	return &idleTransport{base: base, idle: cmp.Or(idle, DefaultIdleTimeout)}
}

// NewTransport is Go's default transport with the default bounds.
func NewTransport() http.RoundTripper {
	return StallGuard(BoundHeaders(http.DefaultTransport.(*http.Transport).Clone(), TransportOptions{}), 0)
}

// DefaultHTTPClient is what a Client, and gitless's signing, verification and Helm
// fetches, use when given none: NewTransport with oras-go's retries.
var DefaultHTTPClient = &http.Client{Transport: retry.NewTransport(NewTransport())}

type idleTransport struct {
	base http.RoundTripper
	idle time.Duration
}

func (t *idleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.Body == nil || resp.Body == http.NoBody {
		return resp, err
	}
	b := &idleBody{rc: resp.Body, idle: t.idle}
	b.timer = time.AfterFunc(t.idle, b.stall)
	b.timer.Stop() // armed while a Read waits: a reader that pauses is not the registry
	resp.Body = b
	return resp, nil
}

// idleBody closes its body when a Read has waited idle for bytes.
type idleBody struct {
	rc      io.ReadCloser
	idle    time.Duration
	timer   *time.Timer
	mu      sync.Mutex
	stalled bool
}

func (b *idleBody) stall() {
	b.mu.Lock()
	b.stalled = true
	b.mu.Unlock()
	b.rc.Close()
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	b.mu.Lock()
	stalled := b.stalled
	b.mu.Unlock()
	if stalled {
		return n, fmt.Errorf("%w: no data for %s", ErrStalled, b.idle)
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	return b.rc.Close()
}
