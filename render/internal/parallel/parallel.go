// Package parallel runs the calls of a loop at once, a bounded number at a time, for
// the render packages (sources, environments, object encoding).
package parallel

import (
	"context"
	"errors"
	"sync"
)

// Do calls f(i) for every i in [0, n), at most limit at once (at least one), and
// returns the errors joined in the order of i, so that the result does not depend on
// which call finished first. Once ctx is done no further call starts, and ctx's error
// is part of the result.
func Do(ctx context.Context, n, limit int, f func(i int) error) error {
	errs := make([]error, n, n+1)
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
