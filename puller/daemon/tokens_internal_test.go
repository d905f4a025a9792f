package daemon

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The webhook token cache: requests that miss at once share one read, a Secret found
// missing is kept as a token is (a flood of requests for it is one read per ttl), and
// a caller that gives up does not spoil the read for the others.
func TestTokenCacheReadsOncePerTTL(t *testing.T) {
	var reads atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	missing := apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, "hook")
	read := func(ctx context.Context) ([]byte, error) {
		if reads.Add(1) == 1 {
			close(started)
		}
		select {
		case <-release:
			return nil, missing
		case <-ctx.Done(): // the read is cut short only if its context is the caller's
			return nil, ctx.Err()
		}
	}
	c := &tokenCache{ttl: time.Hour, retryTTL: time.Hour}
	ctx := context.Background()

	// The first caller starts the read, then gives up; the read goes on for the others.
	gone, cancel := context.WithCancel(ctx)
	first := make(chan error)
	go func() {
		_, err := c.get(gone, "secret:ns/hook", read)
		first <- err
	}()
	<-started
	cancel()
	if err := <-first; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that gave up: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.get(ctx, "secret:ns/hook", read) })
	}
	time.Sleep(50 * time.Millisecond) // most join the read; a late one finds it kept
	close(release)
	wg.Wait()
	for _, err := range errs {
		if !apierrors.IsNotFound(err) {
			t.Fatalf("a waiting caller: %v", err)
		}
	}
	if _, err := c.get(ctx, "secret:ns/hook", read); !apierrors.IsNotFound(err) {
		t.Fatalf("the kept failure: %v", err)
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("%d reads for 22 requests within the ttl, want 1", n)
	}

	c.mu.Lock() // the kept failure expires: read again, and a good token is returned
	kept := c.m["secret:ns/hook"]
	kept.until = time.Now()
	c.m["secret:ns/hook"] = kept
	c.mu.Unlock()
	ok := func(ctx context.Context) ([]byte, error) { reads.Add(1); return []byte("tok"), nil }
	if tok, err := c.get(ctx, "secret:ns/hook", ok); err != nil || string(tok) != "tok" || reads.Load() != 2 {
		t.Fatalf("after the ttl: %q %v, %d reads", tok, err, reads.Load())
	}
}

// A failure other than a missing Secret (the apiserver unreachable) is kept for
// retryTTL only: the webhook is not refused for the whole ttl after a blip.
func TestTokenCacheRetriesATransientFailureSooner(t *testing.T) {
	c := &tokenCache{ttl: time.Hour, retryTTL: 0}
	ctx := context.Background()
	blip := func(context.Context) ([]byte, error) { return nil, errors.New("connection refused") }
	if _, err := c.get(ctx, "secret:ns/hook", blip); err == nil {
		t.Fatal("the failed read returned no error")
	}
	tok, err := c.get(ctx, "secret:ns/hook", func(context.Context) ([]byte, error) { return []byte("tok"), nil })
	if err != nil || string(tok) != "tok" {
		t.Fatalf("after the blip: %q %v, want the token read again", tok, err)
	}
}

// A read begun before a config reload is neither joined nor kept after it: the reload
// may have named another Secret or rotated the token.
func TestTokenCacheReloadDropsAReadInFlight(t *testing.T) {
	c := &tokenCache{ttl: time.Hour, retryTTL: time.Hour}
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	old := func(ctx context.Context) ([]byte, error) { close(started); <-release; return []byte("old"), nil }
	done := make(chan []byte)
	go func() { tok, _ := c.get(ctx, "secret:ns/hook", old); done <- tok }()
	<-started
	c.clear() // a config reload while the read is out

	// A request after the reload reads anew at once, not waiting for the old read.
	var newReads atomic.Int32
	fresh := func(context.Context) ([]byte, error) { newReads.Add(1); return []byte("new"), nil }
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if tok, err := c.get(tctx, "secret:ns/hook", fresh); err != nil || string(tok) != "new" {
		t.Fatalf("a request after the reload: %q %v, want its own read", tok, err)
	}
	close(release)
	if tok := <-done; string(tok) != "old" {
		t.Fatalf("the request that started the old read: %q", tok)
	}
	// The old read, ended after the reload, did not replace what was read since.
	if tok, err := c.get(ctx, "secret:ns/hook", fresh); err != nil || string(tok) != "new" || newReads.Load() != 1 {
		t.Fatalf("after the old read ended: %q %v, %d reads", tok, err, newReads.Load())
	}
}
