package puller_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
)

// A registry that answers 405 to HEAD on manifests: the tag is resolved with one GET.
func TestResolveFallsBackToGETWhenHEADIsRefused(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	target, _ := url.Parse(w.Reg.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var heads, gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/manifests/v1") {
			if r.Method == http.MethodHead {
				heads.Add(1)
				rw.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			gets.Add(1)
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	src := w.source("app", "app", "v1")
	src.URL = "oci://" + strings.TrimPrefix(srv.URL, "http://") + "/app"
	res := w.mustSync(src)
	if res.Created != 1 || heads.Load() != 1 || gets.Load() != 1 { // the fetch is by digest, another path
		t.Fatalf("%+v: %d HEAD, %d GET of the tag", res, heads.Load(), gets.Load())
	}
	// Polls stay one request each, plus the refused HEAD.
	heads.Store(0)
	gets.Store(0)
	w.clock.add(1)
	if res := w.mustSync(src); res.Outcome != puller.UpToDate || res.Requests.Registry != 2 || heads.Load() != 1 || gets.Load() != 1 {
		t.Fatalf("%+v: %d HEAD, %d GET", res, heads.Load(), gets.Load())
	}
}
