package puller

import (
	"context"
	"errors"
	"fmt"
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
		if err == nil && suspendedUnapplied(res) {
			failed[src.Name] = true // not ready: what depends on it waits (Flux's rule)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return results, errors.Join(errs...)
}

// PlanAll plans every source (Plan), in dependsOn order, and returns the results in that
// order and the errors joined. A plan writes nothing, so a source whose dependencies
// fail is planned too: against the cluster as it is.
func (p *Puller) PlanAll(ctx context.Context, sources []Source) ([]*Result, error) {
	ordered, err := Order(sources)
	if err != nil {
		return nil, err
	}
	var results []*Result
	var errs []error
	for _, src := range ordered {
		res, err := p.Plan(ctx, src)
		results = append(results, res)
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: %w", src.Name, err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	return results, errors.Join(errs...)
}

// errSuspendedUnapplied is the state of a source suspended before anything of it was
// applied: not ready, so that the sources that depend on it wait, as Flux's dependents
// wait for a Kustomization suspended before it was ever ready.
var errSuspendedUnapplied = fmt.Errorf("%w and was never applied", ErrSuspended)

func suspendedUnapplied(res *Result) bool {
	return res != nil && res.Outcome == Suspended && res.Digest == ""
}

// RunOptions configures [Puller.Run].
type RunOptions struct {
	// OnResult is called after every sync, from the source's goroutine.
	OnResult func(*Result, error)
	// Jitter spreads polls: each wait is the interval times a random factor in
	// [1-Jitter, 1], so that polls are never more than the interval apart (a registry
	// that starts shedding load is heard by every puller within one interval).
	// Default 0.05: polls come 2.5% more often than once an interval on average.
	Jitter float64
	// MinRetry is the first wait after a failure that is worth retrying; it doubles up
	// to the source's interval. Default 5s.
	MinRetry time.Duration
	// MaxBackoff bounds the backoff while a registry answers 429 or 503; default eight
	// intervals. See Schedule.
	MaxBackoff time.Duration
	// Updates delivers new lists of sources (a reloaded configuration, already
	// validated): a new source starts, a removed one stops (its objects stay, unless
	// the update says PruneRemoved), a changed one stops and starts again at once (not
	// spread, see SpreadStart), and its artifact is verified and applied under its new
	// configuration even when its digest did not change. A list that Order refuses is
	// reported to OnUpdate and ignored.
	Updates <-chan Update
	// OnUpdate is called after each list from Updates is applied, with Order's error
	// if it was refused.
	OnUpdate func(error)
	// ShutdownGrace: when ctx is done, no new sync starts, and a sync in flight may go
	// on for this long to finish (a prune that has started always finishes; see
	// puller/apply). 0 cancels syncs in flight at once.
	ShutdownGrace time.Duration
	// Abort, once closed, ends the grace: the syncs in flight are cancelled at once (a
	// prune that has started still finishes). For a leader that lost its Lease, whose
	// successor may already be writing; ctx is cancelled too, as for any stop.
	Abort <-chan struct{}
	// MaxConcurrentSyncs bounds the sources that sync at once (their polls too); 0
	// means no bound. A sync holds its slot until it ends, its wait for readiness
	// included. Each sync of a large set holds its objects in memory, so this bounds
	// the puller's memory as much as its load on the apiserver.
	MaxConcurrentSyncs int
	// Owner names the installation this Run is (the daemon passes its Lease's name).
	// When set, each sync records on its source's parent how to remove the source
	// (AnnotationRemoval: this owner, the identity it was applied as, ConfigTime), and
	// Run looks, at start and after each update, for the parents of this owner whose
	// source is no longer configured (taken out while no puller ran): with
	// PruneRemoved it removes them (Puller.Remove, as the identity recorded, tried again
	// as a removal is), without it it clears their record so that their objects stay
	// for good. Parents of other owners, of the one-shot sync, or recorded under a
	// configuration file newer than ConfigTime, are left, and so is every parent while
	// another Run of the owner has taken a newer file (recorded in the ConfigMap
	// "OWNER.config-time" of the puller's namespace). "" records and removes nothing.
	Owner string
	// RemovalKey, when set, signs each removal record (an HMAC over the record and its
	// parent's name), and only records with a valid signature are acted on at start:
	// anyone who can patch a parent could otherwise write a record that has the source
	// removed, as an identity of their choosing. The daemon keeps the key in a Secret of
	// its namespace that only it reads. Nil trusts records as written.
	RemovalKey []byte
	// ConfigTime is the modification time of the configuration file the sources come
	// from (config.PullerConfig.ModTime); Update.ConfigTime replaces it. Zero (sources
	// from no file) records and removes nothing, as an empty Owner.
	ConfigTime time.Time
	// ConfigDigest is the digest of that file's content (config.PullerConfig.Digest):
	// a puller whose file is older than the newest its installation ran, but has the
	// same content, is as current as it (each node's kubelet writes its own copy, at
	// its own time). Update.ConfigDigest replaces it.
	ConfigDigest string
	// PruneRemoved is Update.PruneRemoved for the sources Run starts with (see Owner).
	PruneRemoved bool
	// SpreadStart delays the first poll of each source whose last sync succeeded by a
	// random part of its interval, so that pullers restarted together do not poll
	// together. A source never synced, or whose last sync failed, or changed by an
	// update, polls at once.
	SpreadStart bool
}

// Update is a new list of sources for a running [Puller.Run].
type Update struct {
	Sources []Source
	// PruneRemoved deletes the objects of the sources the update removes, and their
	// ApplySet parents (Puller.Remove), once their loops have stopped.
	PruneRemoved bool
	// ConfigTime is the modification time of the file the update comes from
	// (RunOptions.ConfigTime), and ConfigDigest its content's (RunOptions.ConfigDigest).
	ConfigTime   time.Time
	ConfigDigest string
}

func (o RunOptions) withDefaults() RunOptions {
	if o.Jitter <= 0 {
		o.Jitter = 0.05
	}
	if o.MinRetry <= 0 {
		o.MinRetry = 5 * time.Second
	}
	return o
}

// Run keeps every source synced until ctx is done: one loop per source, polling on
// its jittered interval (Schedule), a source starting only once the sources it depends
// on have synced successfully. A failed sync that is worth retrying (Retry) is retried
// sooner, with exponential backoff up to the interval; others wait for the next poll,
// which costs one request until the ref moves. Health().Trigger asks a source for a
// sync now, coalesced with one in flight. opts.Updates changes the sources while it
// runs. When ctx is done, Run waits for the syncs in flight (opts.ShutdownGrace) and
// returns ctx's error; it returns early only for an error in the configuration (Order).
func (p *Puller) Run(ctx context.Context, sources []Source, opts RunOptions) error {
	opts = opts.withDefaults()
	ordered, err := Order(sources)
	if err != nil {
		return err
	}
	// Syncs run under work, which outlives ctx by the grace period.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	r := &runner{p: p, opts: opts, health: p.Health(), loops: map[string]*loopHandle{}, removing: map[string]removal{}, ctx: ctx, work: work,
		pruneRemoved: opts.PruneRemoved, configTime: opts.ConfigTime, configDigest: opts.ConfigDigest}
	if opts.MaxConcurrentSyncs > 0 {
		r.slots = make(chan struct{}, opts.MaxConcurrentSyncs)
	}
	var found chan []Source
	if opts.Owner != "" {
		r.scans, found = make(chan scan, 1), make(chan []Source)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.findOrphans(ctx, found)
		}()
	}
	r.set(ordered)
	r.scan(ordered)
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
			return
		}
		if opts.ShutdownGrace > 0 {
			t := time.NewTimer(opts.ShutdownGrace)
			defer t.Stop()
			select {
			case <-t.C:
			case <-stopped:
			case <-opts.Abort:
			}
		}
		cancelWork()
	}()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case orphans := <-found:
			r.takeOrphans(orphans)
		case u, ok := <-opts.Updates:
			if !ok {
				opts.Updates = nil
				continue
			}
			if ctx.Err() != nil {
				continue // taken as ctx ended: no source starts or is removed after
			}
			o, err := Order(u.Sources)
			if err == nil {
				r.pruneRemoved, r.configTime, r.configDigest = u.PruneRemoved, u.ConfigTime, u.ConfigDigest
				r.set(o)
				r.scan(o)
			}
			if opts.OnUpdate != nil {
				opts.OnUpdate(err)
			}
		}
	}
	r.wg.Wait()
	close(stopped)
	return ctx.Err()
}

// runner is the set of source loops of one Run.
type runner struct {
	p         *Puller
	opts      RunOptions
	health    *Health
	ctx, work context.Context
	loops     map[string]*loopHandle
	wg        sync.WaitGroup
	// pruneRemoved: the last update asked to prune removed sources.
	pruneRemoved bool
	// configTime and configDigest are the time and content digest of the
	// configuration file in force (RunOptions.ConfigTime, ConfigDigest).
	configTime   time.Time
	configDigest string
	// scans takes the configurations to look for orphans in (RunOptions.Owner); nil
	// without an owner.
	scans chan scan
	// slots bounds the syncs in flight (RunOptions.MaxConcurrentSyncs); nil: no bound.
	slots chan struct{}
	// removing: per removed source name, until its last sync, and its Remove
	// (PruneRemoved), have ended; a source added again waits for it, or its first
	// sync and the one in flight, or the Remove, would race.
	removing map[string]removal
}

// removal is a removed source's last work: done is closed when it has ended; stop,
// with PruneRemoved, ends the tries of its Remove.
type removal struct {
	done <-chan struct{}
	stop context.CancelFunc
}

// remove removes a source taken out of the configuration (Puller.Remove), and tries
// again while it fails (an admission webhook refusing a delete, the apiserver away),
// backing off from MinRetry to the source's interval, until it succeeds, the source
// is added again (ctx) or the Run stops.
func (r *runner) remove(ctx context.Context, src Source) {
	wait := r.opts.MinRetry
	for ctx.Err() == nil { // not once the source is back or the Run stops
		// A try in flight runs to its end (under the Run's work, as a sync does): a
		// source added again waits for it rather than meeting a set half removed.
		res, err := r.p.Remove(r.work, src)
		if r.opts.OnResult != nil {
			r.opts.OnResult(res, err)
		}
		if err == nil {
			return
		}
		t := time.NewTimer(halfJitter(wait))
		select {
		case <-t.C:
		case <-ctx.Done(): // added again, or the Run stops
		}
		t.Stop()
		wait = min(wait*2, max(src.Interval.Duration, r.opts.MinRetry))
	}
}

type loopHandle struct {
	src    Source
	spec   string
	cancel context.CancelFunc
	done   chan struct{}
}

// start runs do in the background once after is closed (a loop's end; nil: at once),
// under a context derived from parent that stop cancels (the source added again),
// recorded in removing under name until do returns.
func (r *runner) start(name string, parent context.Context, after <-chan struct{}, do func(ctx context.Context)) {
	done := make(chan struct{})
	ctx, stop := context.WithCancel(parent)
	r.removing[name] = removal{done: done, stop: stop}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(done)
		defer stop()
		if after != nil {
			<-after
		}
		do(ctx)
	}()
}

// startRemoval removes src (remove) once after is closed (its loop has ended; nil:
// at once), recorded in removing.
func (r *runner) startRemoval(src Source, after <-chan struct{}) {
	r.start(src.Name, r.ctx, after, func(ctx context.Context) { r.remove(ctx, src) })
}

// startKeep clears the removal record of a source taken out of the configuration
// while pruneRemoved is off (Puller.keep), once after is closed (nil: at once),
// recorded in removing; a write that fails is tried again with backoff, until it
// succeeds, the source comes back (stop) or the Run stops. Its last try may run
// after ctx is done, within the grace period (work): the next start whose file
// prunes would otherwise remove what this one kept.
func (r *runner) startKeep(name string, after <-chan struct{}) {
	r.start(name, r.work, after, func(kctx context.Context) {
		for wait := r.opts.MinRetry; kctx.Err() == nil; wait = min(wait*2, 5*time.Minute) {
			ctx, cancel := context.WithTimeout(kctx, time.Minute)
			err := r.p.keep(ctx, name)
			cancel()
			if err == nil {
				return
			}
			r.p.log.WarnContext(kctx, "recording that the objects of a source taken out of the configuration stay", "source", name, "error", err)
			if r.ctx.Err() != nil {
				return // stopping: its grace was this one try
			}
			t := time.NewTimer(halfJitter(wait))
			select {
			case <-t.C:
			case <-kctx.Done():
			case <-r.ctx.Done():
			}
			t.Stop()
		}
	})
}

// scan is a configuration to look for orphans in: the names of its sources and the
// time of its file.
type scan struct {
	known        map[string]bool
	configTime   time.Time
	configDigest string
}

// scan has findOrphans look for the orphans of sources, the configuration in force;
// it replaces a scan not yet taken. Nothing without an owner.
func (r *runner) scan(sources []Source) {
	if r.scans == nil || r.configTime.IsZero() {
		return // no owner, or no file to compare the records' with
	}
	known := make(map[string]bool, len(sources))
	for _, s := range sources {
		known[s.Name] = true
	}
	select {
	case <-r.scans:
	default:
	}
	r.scans <- scan{known: known, configTime: r.configTime, configDigest: r.configDigest}
}

// findOrphans looks for the orphans of each scan (Puller.orphans) and sends them to
// found, until ctx is done. A listing that fails is tried again with backoff, or
// replaced by a newer scan.
func (r *runner) findOrphans(ctx context.Context, found chan<- []Source) {
	for {
		var sc scan
		select {
		case <-ctx.Done():
			return
		case sc = <-r.scans:
		}
		for wait := r.opts.MinRetry; ; wait = min(wait*2, 5*time.Minute) {
			lctx, cancel := context.WithTimeout(ctx, time.Minute)
			orphans, err := r.p.orphans(lctx, r.opts.Owner, r.opts.RemovalKey, sc.known, sc.configTime, sc.configDigest)
			cancel()
			if err == nil {
				if len(orphans) > 0 {
					select {
					case found <- orphans:
					case <-ctx.Done():
						return
					}
				}
				break
			}
			if ctx.Err() != nil {
				return
			}
			r.p.log.WarnContext(ctx, "looking for sources taken out of the configuration while no puller ran", "error", err)
			t := time.NewTimer(halfJitter(wait))
			select {
			case <-t.C:
			case sc = <-r.scans: // a newer configuration
			case <-ctx.Done():
			}
			t.Stop()
		}
	}
}

// takeOrphans removes (pruneRemoved) or keeps the objects of the sources that
// findOrphans found, unless an update has configured them again since, or their
// removal is in progress.
func (r *runner) takeOrphans(orphans []Source) {
	r.reap()
	for _, src := range orphans {
		if _, running := r.loops[src.Name]; running {
			continue
		}
		if _, ok := r.removing[src.Name]; ok {
			continue
		}
		if r.pruneRemoved {
			r.p.log.InfoContext(r.ctx, "removing a source taken out of the configuration while no puller ran", "source", src.Name)
			r.startRemoval(src, nil)
		} else {
			r.startKeep(src.Name, nil)
		}
	}
}

// reap forgets the removals that have ended.
func (r *runner) reap() {
	for name, rm := range r.removing {
		select {
		case <-rm.done:
			delete(r.removing, name)
		default:
		}
	}
}

// set makes the running loops those of sources.
func (r *runner) set(sources []Source) {
	r.reap()
	want := map[string]Source{}
	for _, s := range sources {
		want[s.Name] = s.WithDefaults()
	}
	for name, l := range r.loops {
		if s, ok := want[name]; !ok || specKey(s) != l.spec {
			l.cancel()
			if !ok {
				delete(r.loops, name)
				r.health.remove(name)
				switch {
				case r.pruneRemoved:
					r.startRemoval(l.src, l.done)
				case r.opts.Owner != "":
					r.startKeep(name, l.done) // its sync in flight goes on first
				default:
					r.removing[name] = removal{done: l.done} // its sync in flight goes on
				}
			}
		}
	}
	for _, s := range sources {
		src := want[s.Name]
		old := r.loops[src.Name]
		if old != nil && old.spec == specKey(src) {
			continue
		}
		gen := r.health.add(src.Name)
		st := stamp{owner: r.opts.Owner, configTime: r.configTime, key: r.opts.RemovalKey} // a file that has the source
		lctx, cancel := context.WithCancel(r.ctx)
		l := &loopHandle{src: src, spec: specKey(src), cancel: cancel, done: make(chan struct{})}
		r.loops[src.Name] = l
		var after <-chan struct{}
		if old != nil {
			after = old.done
		} else if rm, ok := r.removing[src.Name]; ok {
			after = rm.done // removed, then added again before its Remove ended
			if rm.stop != nil {
				rm.stop() // no more tries after the one in flight: the sync puts its objects back
			}
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer close(l.done)
			if after != nil { // one sync of a source at a time
				<-after
			}
			// A changed source syncs at once: its new configuration is applied even
			// when its artifact did not change (Sync compares appliedSpec).
			r.p.loop(lctx, r.work, src, gen, r.health, r.opts, r.slots, old == nil, st)
		}()
	}
}

func (p *Puller) loop(ctx, work context.Context, src Source, gen uint64, h *Health, opts RunOptions, slots chan struct{}, mayWait bool, st stamp) {
	sched := NewSchedule(src.Interval.Duration, opts)
	sched.RetryInterval = src.RetryInterval.Duration
	spread := mayWait && opts.SpreadStart && p.lastSucceeded(ctx, src)
	PollLoop(ctx, sched, spread, h.trigger(src.Name), func() error {
		if !h.waitFor(ctx, src.DependsOn) || ctx.Err() != nil {
			return ctx.Err()
		}
		if slots != nil {
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-ctx.Done():
				return ctx.Err()
			}
			if ctx.Err() != nil { // a slot freed as the loop stopped: no new sync
				return ctx.Err()
			}
		}
		// The sync runs under work: a shutdown lets it finish, within the grace period.
		res, err := p.sync(work, src, st, false)
		herr := err
		if err == nil && suspendedUnapplied(res) {
			herr = errSuspendedUnapplied
		}
		h.set(src.Name, gen, herr)
		if opts.OnResult != nil {
			opts.OnResult(res, err)
		}
		return err
	})
}

// PollLoop is the loop of each source in Run: wait sched.First(spread), then poll, wait
// sched.Next of its error (or until trigger fires), and again, until ctx is done. It is
// exported so that a fleet simulation (bench/fleet.sh) runs the same loop without a
// cluster.
func PollLoop(ctx context.Context, sched *Schedule, spread bool, trigger <-chan struct{}, poll func() error) {
	sleep := func(d time.Duration) bool {
		if d <= 0 {
			return ctx.Err() == nil
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		case <-trigger:
		}
		return ctx.Err() == nil // done at the same moment: select picks either
	}
	if !sleep(sched.First(spread)) {
		return
	}
	for {
		err := poll()
		if ctx.Err() != nil || !sleep(sched.Next(err)) {
			return
		}
	}
}

// lastSucceeded reports whether the source's parent records a successful sync of its
// present configuration.
func (p *Puller) lastSucceeded(ctx context.Context, src Source) bool {
	id, a, err := p.sourceApplier(src)
	if err != nil {
		return false
	}
	ps, err := a.ReadParent(ctx, p.Parent(src.Name))
	if err != nil || ps.Status[AnnotationResult] != string(Applied) || ps.Status[AnnotationAttempted] != "" {
		return false // failed, or cut short while it wrote objects: sync at once
	}
	if reconcileRequest(ps) != "" {
		return false // an operator's request not handled yet (made during a restart or a handover)
	}
	// A configuration changed while the puller was down is applied at once. A parent
	// written before the puller recorded it (no AnnotationSpec), or before the spec
	// had the identity (the same spec as the puller's own), is spread like the rest,
	// so that an upgrade is not a burst; its first sync applies it again.
	spec := ps.Status[AnnotationSpec]
	src = src.WithDefaults()
	return spec == "" || spec == appliedSpec(src, id) || spec == appliedSpec(src, Identity{})
}

// Health is what the sources' loops report: whether each source's last sync
// succeeded. It backs /readyz.
type Health struct {
	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	last     map[string]error
	triggers map[string]chan struct{}
	// gen is each source's configuration (a number new at every add, never reused,
	// never 0); doneGen the configuration its last sync ran under, 0 before the first.
	// A dependent waits for a sync of the configuration that runs now, and a loop
	// replaced or removed reports nothing.
	gen, doneGen map[string]uint64
	next         uint64
}

// Health returns the puller's health record.
func (p *Puller) Health() *Health {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.health == nil {
		p.health = &Health{changed: make(chan struct{}), last: map[string]error{}, triggers: map[string]chan struct{}{},
			gen: map[string]uint64{}, doneGen: map[string]uint64{}}
	}
	return p.health
}

// add records a source's new or changed configuration and returns its generation,
// for the loop that runs it to report with.
func (h *Health) add(name string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.gen[name]; !ok {
		h.triggers[name] = make(chan struct{}, 1)
	}
	h.next++
	h.gen[name] = h.next
	return h.next
}

func (h *Health) remove(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.last, name)
	delete(h.triggers, name)
	delete(h.gen, name)
	delete(h.doneGen, name)
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *Health) set(name string, gen uint64, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen[name] != gen {
		return // removed or changed meanwhile: the result of a configuration gone
	}
	h.last[name] = err
	h.doneGen[name] = gen
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

// waitFor blocks until every named source's last sync, under the configuration it
// has now, succeeded, or ctx is done.
func (h *Health) waitFor(ctx context.Context, names []string) bool {
	for {
		h.mu.Lock()
		ok := true
		for _, n := range names {
			if h.gen[n] == 0 || h.doneGen[n] != h.gen[n] || h.last[n] != nil {
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
	for name := range h.gen {
		switch {
		case h.doneGen[name] == 0:
			bad[name] = "not synced yet"
		case h.last[name] != nil:
			bad[name] = h.last[name].Error()
		}
	}
	return len(bad) == 0, bad
}
