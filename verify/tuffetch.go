package verify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultTUFTimeout bounds fetching the public Sigstore trusted root through TUF
// (every metadata file together), so that an unreachable or stalling mirror makes a
// verification "could not check" instead of hanging it.
const DefaultTUFTimeout = 30 * time.Second

// tufFetcher is go-tuf's metadata fetcher over the client's service HTTP client, with
// the caller's context and a deadline: go-tuf's default fetcher uses
// http.DefaultClient without either.
type tufFetcher struct {
	ctx       context.Context
	client    *http.Client
	userAgent string
}

// DownloadFile implements go-tuf's fetcher.Fetcher.
func (f *tufFetcher) DownloadFile(url string, maxLength int64, timeout time.Duration) ([]byte, error) {
	ctx := f.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", f.userAgent)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxLength+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if int64(len(b)) > maxLength {
		return nil, fmt.Errorf("GET %s: more than %d bytes", url, maxLength)
	}
	return b, nil
}
