package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// A registry that pages its tag list forever is stopped at the page cap, or at the
// byte cap when its pages are large, within a few seconds; without the caps the
// listing would run until the caller's deadline (here 30 s) with memory growing.
func TestTagListingStopsAtTheListLimits(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	for _, tc := range []struct {
		name   string
		pages  registry.EndlessPages
		limits remote.ListLimits
		want   string
	}{
		{"small pages: the page cap", registry.EndlessPages{PerPage: 100}, remote.ListLimits{}, fmt.Sprintf("%d pages", remote.DefaultListMaxPages)},
		{"large pages: the byte cap", registry.EndlessPages{PerPage: 20000, TagBytes: 120}, remote.ListLimits{}, fmt.Sprintf("%d bytes", remote.DefaultListMaxBytes)},
		{"a lower page cap", registry.EndlessPages{PerPage: 10}, remote.ListLimits{MaxPages: 7}, "7 pages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostile := registry.NewEndlessPager(t, reg, tc.pages)
			c := remote.New(remote.Options{Lists: tc.limits})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			start := time.Now()
			tags, err := c.Tags(ctx, mustRef(t, "oci://"+hostile.Host+"/app"))
			took := time.Since(start)
			var le *remote.ListLimitError
			if !errors.As(err, &le) || !errors.Is(err, artifact.ErrTooLarge) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("after %s, %d pages, %d tags: got %v, want the %s cap", took, hostile.Pages.Load(), len(tags), err, tc.want)
			}
			if !strings.Contains(err.Error(), hostile.Host+"/app") {
				t.Fatalf("the error does not name the repository: %v", err)
			}
			lim, _ := tc.limits.WithDefaults()
			if n := hostile.Pages.Load(); n > int64(lim.MaxPages) {
				t.Fatalf("%d pages requested, the cap is %d", n, lim.MaxPages)
			}
			// Served bytes may exceed what was read by one page in flight.
			if b := hostile.Bytes.Load(); b > lim.MaxBytes+8<<20 {
				t.Fatalf("%d bytes served, the cap is %d", b, lim.MaxBytes)
			}
			if took > 10*time.Second {
				t.Fatalf("stopping took %s", took)
			}
			t.Logf("stopped after %s: %d pages, %d bytes served", took, hostile.Pages.Load(), hostile.Bytes.Load())
		})
	}
}

// The defaults cover real registries: a repository of 2,500 tags, listed 1,000 a
// page as ghcr.io does, by the distribution registry.
func TestTagListingOfALargeRepository(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	c := remote.New(remote.Options{})
	ref := mustRef(t, "oci://"+reg.Host()+"/many:v0")
	if _, err := c.Push(ctx, ref, buildFiles(t, map[string]string{"a.yaml": "a: 1\n"}), meta, remote.DefaultPushOptions()); err != nil {
		t.Fatal(err)
	}
	repo, err := c.Repository(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := repo.Resolve(ctx, "v0")
	if err != nil {
		t.Fatal(err)
	}
	const n = 2500
	for i := 1; i < n; i++ {
		if err := repo.Tag(ctx, desc, fmt.Sprintf("v%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Page as ghcr.io does: at most 1,000 tags a page.
	var pages atomic.Int64
	host := registry.NewProxy(t, reg, func(_ http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, "/tags/list") {
			pages.Add(1)
			q := r.URL.Query()
			if q.Get("n") == "" {
				q.Set("n", "1000")
				r.URL.RawQuery = q.Encode()
			}
		}
		return false
	})
	tags, err := c.Tags(ctx, mustRef(t, "oci://"+host+"/many"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != n || pages.Load() != 3 {
		t.Fatalf("%d tags in %d pages, want %d in 3", len(tags), pages.Load(), n)
	}
}
