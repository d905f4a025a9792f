package verify

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/gitless-dev/gitless/internal/sigstore"
)

// loadTrustedRoot reads a Sigstore trusted root (trusted_root.json, the format of
// sigstore-go and "cosign trusted-root create"). Errors match ErrInvalidPolicy.
func loadTrustedRoot(path string) (*root.TrustedRoot, error) {
	tr, err := sigstore.LoadTrustedRoot(path)
	if err != nil {
		return nil, &PolicyError{Field: "trustedRoot", Err: err}
	}
	return tr, nil
}

// publicRoot caches the public Sigstore trusted root fetched through TUF. A failed fetch
// is retried at most once a minute.
type publicRoot struct {
	mu      sync.Mutex
	tr      *root.TrustedRoot
	err     error
	lastTry time.Time
}

func (c *Client) publicTrustedRoot(ctx context.Context) (*root.TrustedRoot, error) {
	p := &c.public
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tr != nil {
		return p.tr, nil
	}
	if p.err != nil && time.Since(p.lastTry) < time.Minute {
		return nil, p.err
	}
	if err := ctx.Err(); err != nil {
		return nil, unavailable(err)
	}
	p.lastTry = time.Now()
	opts := tuf.DefaultOptions()
	if c.opts.TUFCacheDir != "" {
		opts.CachePath = c.opts.TUFCacheDir
	}
	if c.opts.TUFMirror != "" {
		opts.RepositoryBaseURL = c.opts.TUFMirror
	}
	timeout := c.opts.TUFTimeout
	if timeout <= 0 {
		timeout = DefaultTUFTimeout
	}
	hc := c.opts.TUFClient
	if hc == nil {
		hc = http.DefaultClient
	}
	fctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts.Fetcher = &tufFetcher{ctx: fctx, client: hc, userAgent: c.opts.UserAgent}
	tr, err := root.FetchTrustedRootWithOptions(opts)
	if err != nil {
		p.err = unavailable(fmt.Errorf("fetching the public Sigstore trusted root from %s (give a trusted root for offline verification): %w", opts.RepositoryBaseURL, err))
		return nil, p.err
	}
	p.tr, p.err = tr, nil
	return tr, nil
}
