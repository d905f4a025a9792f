// Package parallel runs the calls of a loop at once, a bounded number at a time
// (errgroup.SetLimit), for the render packages (sources, environments, files, object
// encoding), and reports every call's error, not only the first.
package parallel

import (
	"context"
	"errors"

	"golang.org/x/sync/errgroup"
)

// Do calls f(i) for every i in [0, n), at most limit at once (at least one), and
// returns the errors joined in the order of i, so that the result does not depend on
// which call finished first. Once ctx is done no further call starts, and ctx's error
// is part of the result.
func Do(ctx context.Context, n, limit int, f func(i int) error) error {
	errs := make([]error, n, n+1)
	var g errgroup.Group
	g.SetLimit(max(limit, 1))
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if ctx.Err() == nil {
				errs[i] = f(i)
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
