package registry

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// NewT starts a distribution registry for the test t, failing it if the
// registry does not start, and closes the registry when t ends.
func NewT(t testing.TB, opts Options) *Registry {
	t.Helper()
	r, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("starting test registry: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("closing test registry: %v", err)
		}
	})
	return r
}

// NewGGCR starts go-containerregistry's in-process registry (no
// authentication, in memory, quiet) for the test t and returns its host,
// "127.0.0.1:PORT". It stops when t ends.
func NewGGCR(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
