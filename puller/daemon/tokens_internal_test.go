package daemon

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The webhook token cache: requests that miss at once share one read, a failed read is
// kept as a good one is (a flood of requests for a missing Secret is one read per ttl),
// and a caller that gives up does not spoil the read for the others.
func TestTokenCacheReadsOncePerTTL(t *testing.T) {
	var reads atomic.Int32
	release := make(chan struct{})
	fail := errors.New(`reading webhook Secret ns/hook: secrets "hook" not found`)
	read := func(ctx context.Context) ([]byte, error) {
		reads.Add(1)
		<-release
		return nil, fail
	}
	c := &tokenCache{ttl: time.Hour}
	ctx := context.Background()

	gone, cancel := context.WithCancel(ctx)
	cancel()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			rctx := ctx
			if i == 0 {
				rctx = gone // gives up at once; the read goes on for the others
			}
			_, errs[i] = c.get(rctx, "secret:ns/hook", read)
		})
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if !errors.Is(errs[0], context.Canceled) {
		t.Fatalf("the caller that gave up: %v", errs[0])
	}
	for _, err := range errs[1:] {
		if !errors.Is(err, fail) {
			t.Fatalf("a waiting caller: %v", err)
		}
	}
	if _, err := c.get(ctx, "secret:ns/hook", read); !errors.Is(err, fail) {
		t.Fatalf("the kept failure: %v", err)
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("%d reads for 21 requests within the ttl, want 1", n)
	}

	c.ttl = 0 // expired: read again, and a good token is returned
	ok := func(ctx context.Context) ([]byte, error) { reads.Add(1); return []byte("tok"), nil }
	if tok, err := c.get(ctx, "secret:ns/hook", ok); err != nil || string(tok) != "tok" || reads.Load() != 2 {
		t.Fatalf("after the ttl: %q %v, %d reads", tok, err, reads.Load())
	}
}

// A read begun before a config reload is not kept after it: the reload may have named
// another Secret or rotated the token, and the next request reads again.
func TestTokenCacheReloadDropsAReadInFlight(t *testing.T) {
	c := &tokenCache{ttl: time.Hour}
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	old := func(ctx context.Context) ([]byte, error) { close(started); <-release; return []byte("old"), nil }
	done := make(chan []byte)
	go func() { tok, _ := c.get(ctx, "secret:ns/hook", old); done <- tok }()
	<-started
	c.clear() // a config reload while the read is out
	close(release)
	if tok := <-done; string(tok) != "old" {
		t.Fatalf("the request that started the read: %q", tok)
	}
	tok, err := c.get(ctx, "secret:ns/hook", func(context.Context) ([]byte, error) { return []byte("new"), nil })
	if err != nil || string(tok) != "new" {
		t.Fatalf("after the reload: %q %v, want the token read again", tok, err)
	}
}
