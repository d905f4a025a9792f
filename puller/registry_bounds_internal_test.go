package puller

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact/remote"
)

// The puller's registry transport bounds what a registry can make it wait for or read:
// response headers (their time and size, remote's tests show what each stops) and
// every body's idle time, so that a stalled registry frees its sync slot.
func TestRegistryTransportIsBounded(t *testing.T) {
	tr := newTransport(true, nil)
	if tr.ResponseHeaderTimeout != registryHeaderTimeout || tr.MaxResponseHeaderBytes != remote.DefaultMaxResponseHeaderBytes {
		t.Fatalf("header timeout %s, header bytes %d", tr.ResponseHeaderTimeout, tr.MaxResponseHeaderBytes)
	}
	defer func(d time.Duration) { registryIdleTimeout = d }(registryIdleTimeout)
	registryIdleTimeout = 300 * time.Millisecond
	release := make(chan struct{})
	defer close(release)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "some")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	resp, err := registryHTTPClient(tr).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, remote.ErrStalled) || !strings.Contains(err.Error(), registryIdleTimeout.String()) {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
}
