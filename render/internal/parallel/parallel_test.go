package parallel_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/render/internal/parallel"
)

func TestDo(t *testing.T) {
	var running, most atomic.Int32
	err := parallel.Do(context.Background(), 20, 3, func(i int) error {
		n := running.Add(1)
		defer running.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond)
		if i%7 == 6 {
			return fmt.Errorf("call %d", i)
		}
		return nil
	})
	if most.Load() > 3 {
		t.Errorf("%d calls at once, limit 3", most.Load())
	}
	if err == nil || err.Error() != "call 6\ncall 13" {
		t.Errorf("errors in order: %v", err)
	}
}

func TestDoStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	err := parallel.Do(ctx, 100, 1, func(i int) error {
		if calls.Add(1) == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls.Load() > 3 {
		t.Fatalf("%d calls, %v", calls.Load(), err)
	}
}
