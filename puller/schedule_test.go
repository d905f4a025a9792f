package puller_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/verify"
)

func TestSchedule(t *testing.T) {
	const interval = time.Minute
	between := func(what string, d, lo, hi time.Duration) {
		t.Helper()
		if d < lo || d > hi {
			t.Fatalf("%s: %s, want %s to %s", what, d, lo, hi)
		}
	}
	for range 200 {
		s := puller.NewSchedule(interval, puller.RunOptions{})
		between("first, spread", s.First(true), 0, interval)
		between("first", s.First(false), 0, 0)
		between("after success", s.Next(nil), 57*time.Second, interval)
		// Failures worth retrying back off from MinRetry (5s), with jitter, up to the interval.
		boom := errors.New("connection refused")
		between("1st failure", s.Next(boom), 2500*time.Millisecond, 5*time.Second)
		between("2nd failure", s.Next(boom), 5*time.Second, 10*time.Second)
		for range 10 {
			s.Next(boom)
		}
		between("many failures", s.Next(boom), interval/2, interval)
		between("success again", s.Next(nil), 57*time.Second, interval)
		// A verification failure waits for the next poll: retrying cannot help.
		between("verification failed", s.Next(verify.ErrVerificationFailed), 57*time.Second, interval)
		// 429: two to four intervals, doubling up to eight, never before Retry-After.
		limited := &remote.RetryAfterError{StatusCode: 429, After: 5 * time.Second}
		between("1st 429", s.Next(limited), 2*interval, 4*interval)
		between("2nd 429", s.Next(limited), 4*interval, 8*interval)
		between("3rd 429", s.Next(limited), 4*interval, 8*interval)
		s.Next(nil)
		long := &remote.RetryAfterError{StatusCode: 503, After: time.Hour}
		between("Retry-After beyond the backoff", s.Next(long), time.Hour, time.Hour)

		// A retryInterval shorter than the interval bounds the backoff instead of it.
		s = puller.NewSchedule(10*interval, puller.RunOptions{})
		s.RetryInterval = 2 * interval
		for range 12 {
			s.Next(boom)
		}
		between("many failures, retryInterval 2m", s.Next(boom), interval, 2*interval)
		between("success, retryInterval 2m", s.Next(nil), 570*time.Second, 10*interval)
		// Longer than the interval: the interval still bounds it, so that a fixed
		// artifact is picked up within an interval.
		s = puller.NewSchedule(interval, puller.RunOptions{})
		s.RetryInterval = 5 * interval
		between("1st failure, retryInterval 5m", s.Next(boom), 2500*time.Millisecond, 5*time.Second)
		for range 12 {
			s.Next(boom)
		}
		between("many failures, retryInterval 5m", s.Next(boom), interval/2, interval)
	}
}

// TestFleetStartedTogetherPollsEvenly: 20,000 schedules started at once with spread
// (a fleet's restart), then polling every interval, in virtual time: no second of the
// first three intervals gets more than 1.3 times the fleet's mean rate. With a first
// wait uniform over the interval, the seconds just before the first interval ends get
// nearly twice the mean (the early starters' second polls meet the late starters' first).
func TestFleetStartedTogetherPollsEvenly(t *testing.T) {
	const (
		n        = 20000
		interval = time.Minute
		span     = 3 * interval
	)
	counts := make([]int, int(span/time.Second))
	total := 0
	for range n {
		s := puller.NewSchedule(interval, puller.RunOptions{})
		for at := s.First(true); at < span; at += s.Next(nil) {
			counts[at/time.Second]++
			total++
		}
	}
	mean := float64(total) / float64(len(counts))
	for sec, c := range counts {
		if float64(c) > 1.3*mean {
			t.Errorf("second %d: %d polls, mean %.0f a second", sec, c, mean)
		}
	}
}

// A loop whose context is done polls no more, even when its timer or a trigger is ready
// at the same moment (select would pick either).
func TestPollLoopDoesNotPollAfterItsContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	sched := puller.NewSchedule(time.Millisecond, puller.RunOptions{})
	for range 200 {
		trigger := make(chan struct{}, 1)
		trigger <- struct{}{}
		puller.PollLoop(ctx, sched, true, trigger, func() error {
			t.Fatal("polled after the context ended")
			return nil
		})
	}
}
