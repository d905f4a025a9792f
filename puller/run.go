package puller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// Order returns the sources in an order where each comes after those it depends on,
// keeping the given order otherwise. It fails on an unknown dependency or a cycle,
// naming it.
func Order(sources []Source) ([]Source, error) {
	index := map[string]int{}
	for i, s := range sources {
		if _, dup := index[s.Name]; dup {
			return nil, fieldErr(fmt.Sprintf("sources[%d].name", i), "%q is used twice", s.Name)
		}
		index[s.Name] = i
	}
	for i, s := range sources {
		for j, d := range s.DependsOn {
			if _, ok := index[d]; !ok {
				return nil, fieldErr(fmt.Sprintf("sources[%d].dependsOn[%d]", i, j), "no source is named %q", d)
			}
		}
	}
	const (
		unvisited = iota
		visiting
		done
	)
	state := make([]int, len(sources))
	var out []Source
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch state[i] {
		case done:
			return nil
		case visiting:
			return fieldErr(fmt.Sprintf("sources[%d].dependsOn", i), "cycle: %s", joinArrow(append(path, sources[i].Name)))
		}
		state[i] = visiting
		for _, d := range sources[i].DependsOn {
			if err := visit(index[d], append(path, sources[i].Name)); err != nil {
				return err
			}
		}
		state[i] = done
		out = append(out, sources[i])
		return nil
	}
	for i := range sources {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func joinArrow(names []string) string {
	s := ""
	for i, n := range names {
		if i > 0 {
			s += " → "
		}
		s += n
	}
	return s
}

// SyncAll syncs every source once, each after the sources it depends on. A source
// whose dependency failed is not synced: its result fails with ErrDependency. The
// results are in the order the sources ran; the error joins every failure.
func (p *Puller) SyncAll(ctx context.Context, sources []Source) ([]*Result, error) {
	ordered, err := Order(sources)
	if err != nil {
		return nil, err
	}
	failed := map[string]bool{}
	var results []*Result
	var errs []error
	for _, src := range ordered {
		var bad []string
		for _, d := range src.DependsOn {
			if failed[d] {
				bad = append(bad, d)
			}
		}
		if len(bad) > 0 {
			err := fmt.Errorf("source %s: %w: %s failed", src.Name, ErrDependency, strings.Join(bad, ", "))
			failed[src.Name] = true
			results = append(results, &Result{Source: src.Name, Outcome: Failed, Error: err.Error()})
			errs = append(errs, err)
			continue
		}
		res, err := p.Sync(ctx, src)
		results = append(results, res)
		if err != nil {
			failed[src.Name] = true
			errs = append(errs, fmt.Errorf("source %s: %w", src.Name, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return results, errors.Join(errs...)
}

// RunOptions configures [Puller.Run].
type RunOptions struct {
	// OnResult is called after every sync, from the source's goroutine.
	OnResult func(*Result, error)
	// Jitter spreads polls: each wait is the interval times a random factor in
	// [1-Jitter, 1+Jitter]. Default 0.1.
	Jitter float64
	// MinRetry is the first wait after a failure that is worth retrying; it doubles up
	// to the source's interval. Default 5s.
	MinRetry time.Duration
}

// Run keeps every source synced until ctx is done: one loop per source, polling on
// its jittered interval, a source starting only once the sources it depends on have
// synced successfully. A failed sync that is worth retrying (Retry) is retried sooner,
// with exponential backoff up to the interval; others wait for the next poll, which
// costs one request until the ref moves. Run returns ctx's error, or an error in the
// configuration (Order).
func (p *Puller) Run(ctx context.Context, sources []Source, opts RunOptions) error {
	if opts.Jitter <= 0 {
		opts.Jitter = 0.1
	}
	if opts.MinRetry <= 0 {
		opts.MinRetry = 5 * time.Second
	}
	ordered, err := Order(sources)
	if err != nil {
		return err
	}
	health := p.Health()
	for _, s := range ordered {
		health.add(s.Name)
	}
	var wg sync.WaitGroup
	for _, src := range ordered {
		src := src.WithDefaults()
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.loop(ctx, src, health, opts)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (p *Puller) loop(ctx context.Context, src Source, h *Health, opts RunOptions) {
	backoff := opts.MinRetry
	for {
		if !h.waitFor(ctx, src.DependsOn) {
			return
		}
		res, err := p.Sync(ctx, src)
		if ctx.Err() != nil {
			return
		}
		h.set(src.Name, err)
		if opts.OnResult != nil {
			opts.OnResult(res, err)
		}
		wait := src.Interval.Duration
		if err != nil && Retry(err) {
			wait = min(backoff, wait)
			backoff = min(2*backoff, src.Interval.Duration)
		} else {
			backoff = opts.MinRetry
		}
		wait = time.Duration(float64(wait) * (1 - opts.Jitter + 2*opts.Jitter*rand.Float64()))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-h.trigger(src.Name):
		}
	}
}

// Health is what the sources' loops report: whether each source's last sync
// succeeded. It backs /readyz.
type Health struct {
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	last     map[string]error
	synced   map[string]bool
	triggers map[string]chan struct{}
}

// Health returns the puller's health record.
func (p *Puller) Health() *Health {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.health == nil {
		p.health = &Health{changed: make(chan struct{}), last: map[string]error{}, synced: map[string]bool{}, triggers: map[string]chan struct{}{}}
	}
	return p.health
}

func (h *Health) add(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.synced[name]; !ok {
		h.synced[name] = false
		h.triggers[name] = make(chan struct{}, 1)
	}
}

func (h *Health) set(name string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last[name] = err
	h.synced[name] = true
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *Health) trigger(name string) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.triggers[name]
}

// Trigger asks for an immediate sync of a source (a webhook receiver's job). It
// reports whether the source is known.
func (h *Health) Trigger(name string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch, ok := h.triggers[name]
	if ok {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	return ok
}

// waitFor blocks until every named source's last sync succeeded, or ctx is done.
func (h *Health) waitFor(ctx context.Context, names []string) bool {
	for {
		h.mu.Lock()
		ok := true
		for _, n := range names {
			if !h.synced[n] || h.last[n] != nil {
				ok = false
			}
		}
		changed := h.changed
		h.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-changed:
		}
	}
}

// Ready reports whether every source has synced and its last sync succeeded, and
// otherwise which have not, and why.
func (h *Health) Ready() (bool, map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	bad := map[string]string{}
	for name, synced := range h.synced {
		switch {
		case !synced:
			bad[name] = "not synced yet"
		case h.last[name] != nil:
			bad[name] = h.last[name].Error()
		}
	}
	return len(bad) == 0, bad
}
