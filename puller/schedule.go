package puller

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"github.com/gitless-dev/gitless/artifact/remote"
)

// Schedule decides when a source polls next. After a sync that succeeded, or failed in
// a way retrying soon cannot fix (Retry), it waits the interval shortened by up to
// Jitter (a fraction), never longer: a source polls at least once an interval.
// After a failure worth retrying it backs off exponentially from MinRetry up to the
// interval (or a shorter RetryInterval), with jitter (a random wait between half the
// bound and the bound), so that sources failing together do not retry together. When the registry asks to come back
// later (a 429 or 503: remote.ErrRateLimited), it waits two to four intervals, doubling
// up to MaxBackoff (default eight intervals), and never polls before the registry's
// Retry-After: at fleet scale, a registry that sheds load sees the load fall within one
// interval (bench/fleet.sh).
//
// Run uses one Schedule per source; it is exported so that a fleet simulation
// (bench/fleet.sh) drives the same code.
type Schedule struct {
	Interval time.Duration
	// RetryInterval, when set and shorter than Interval, replaces it as the bound of the
	// backoff after a failure worth retrying (the source's retryInterval, as Flux's):
	// the longest wait between two tries of a failing sync.
	RetryInterval time.Duration
	Jitter        float64
	MinRetry      time.Duration
	MaxBackoff    time.Duration

	failures int
}

// NewSchedule returns the schedule of a source polled every interval, with opts'
// jitter and backoff (defaults filled in).
func NewSchedule(interval time.Duration, opts RunOptions) *Schedule {
	opts = opts.withDefaults()
	maxBackoff := opts.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 8 * interval
	}
	return &Schedule{Interval: interval, Jitter: opts.Jitter, MinRetry: opts.MinRetry, MaxBackoff: max(maxBackoff, interval)}
}

// First is the wait before the first poll: none, or with spread a random wait, so that
// pullers started together (a fleet after a registry outage, a rollout) do not poll
// together. The wait is what a puller that has run for long has left to wait at a
// random moment (the equilibrium residual of a renewal process): U·X, with X a wait
// of Next drawn in proportion to its length. Pullers started together then poll at the
// rate of a fleet that has run for long from the first second on. (A first wait
// uniform over the interval does not: the second polls of the early starters, a little
// less than an interval later, come while the late starters' first polls still do,
// and the rate nearly doubles for a few seconds an interval after the start.)
func (s *Schedule) First(spread bool) time.Duration {
	if !spread || s.Interval <= 0 {
		return 0
	}
	// Next's waits after a success are uniform on [a, b]; weighted by length, their
	// distribution function is (x²-a²)/(b²-a²).
	a, b := float64(s.Interval)*(1-s.Jitter), float64(s.Interval)
	x := math.Sqrt(a*a + rand.Float64()*(b*b-a*a))
	return time.Duration(rand.Float64() * x)
}

// Next is the wait after a sync that ended with err.
func (s *Schedule) Next(err error) time.Duration {
	if err == nil || !Retry(err) {
		s.failures = 0
		return time.Duration(float64(s.Interval) * (1 - s.Jitter*rand.Float64()))
	}
	s.failures++
	shift := min(s.failures-1, 30)
	if after, limited := remote.RetryAfter(err); limited || errors.Is(err, remote.ErrRateLimited) {
		// Two to four intervals after the first 429, doubling up to MaxBackoff: in the
		// interval after a registry starts shedding load, only the pollers it served
		// come back.
		bound := min(s.Interval<<min(shift+2, 30), s.MaxBackoff)
		if bound <= 0 || bound < s.Interval {
			bound = s.MaxBackoff
		}
		return max(halfJitter(bound), after)
	}
	// Never longer than the interval: the registry is polled every interval, so a
	// fixed artifact is picked up then however long the retries of a failing one wait.
	limit := s.Interval
	if s.RetryInterval > 0 && s.RetryInterval < limit {
		limit = s.RetryInterval
	}
	bound := min(s.MinRetry<<shift, limit)
	if bound <= 0 {
		bound = limit
	}
	return max(halfJitter(bound), min(s.MinRetry, limit)/2)
}

// halfJitter is a random wait in [b/2, b].
func halfJitter(b time.Duration) time.Duration {
	return b/2 + rand.N(b/2+1)
}
