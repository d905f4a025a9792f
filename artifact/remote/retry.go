package remote

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy says how a registry request that failed in a way that may pass (a 5xx,
// a 408, a 429, a dropped connection) is retried within the request. Callers that
// poll on their own schedule (the puller) retry little here and schedule the rest:
// see RetryAfterError.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt; 0 retries nothing.
	MaxRetries int
	// MinBackoff and MaxBackoff bound the exponential backoff between attempts, with
	// full jitter (a random wait between 0 and the current bound, at least MinBackoff).
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After (on a 429 or 503) waited for within the
	// request. A longer one, or a 429 or 503 on the last attempt, ends the request with
	// a *RetryAfterError that says when to come back. 0 waits for none: every 429, and
	// every 503 with a Retry-After, ends the request so; a 503 without one is retried
	// with backoff, as a 502 is.
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy retries 4 times, 200ms to 5s apart, and waits for a Retry-After
// of up to 30s: for a command run once.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 4, MinBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second, MaxRetryAfter: 30 * time.Second}
}

// RetryAfterError is a registry's "come back later": a 429 Too Many Requests or 503
// Service Unavailable that the policy did not wait out. After is the registry's
// Retry-After (0 when it gave none); a caller must not send another request to the
// registry before it.
type RetryAfterError struct {
	Method, URL string
	StatusCode  int
	After       time.Duration
}

func (e *RetryAfterError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.After > 0 {
		msg += fmt.Sprintf("; the registry asks to retry after %s", e.After)
	}
	return msg
}

// ErrRateLimited matches every *RetryAfterError.
var ErrRateLimited = errors.New("registry asks to retry later")

func (e *RetryAfterError) Is(target error) bool { return target == ErrRateLimited }

// NewRetryTransport returns a transport that retries requests over base as policy
// says, honouring Retry-After: no attempt is sent before the time the registry gave.
// 401 and 403 are never retried. Requests whose body cannot be replayed are sent once.
func NewRetryTransport(base http.RoundTripper, policy RetryPolicy) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &retryTransport{base: base, policy: policy}
}

type retryTransport struct {
	base   http.RoundTripper
	policy RetryPolicy
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	bound := t.policy.MinBackoff
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r = req.Clone(ctx)
			r.Body = body
		}
		resp, err := t.base.RoundTrip(r)
		last := attempt >= t.policy.MaxRetries || !replayable
		var wait time.Duration
		switch {
		case err != nil:
			if last || ctx.Err() != nil || !idempotent(req.Method) {
				return nil, err
			}
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			after := retryAfter(resp.Header.Get("Retry-After"), time.Now())
			// A 503 that names no time is a passing fault (a gateway's), retried like
			// a 502; a 429, or a 503 with Retry-After, is the registry shedding load.
			fault := resp.StatusCode == http.StatusServiceUnavailable && after == 0
			if last || (!fault && (t.policy.MaxRetryAfter <= 0 || after > t.policy.MaxRetryAfter)) {
				drain(resp)
				return nil, &RetryAfterError{Method: req.Method, URL: withoutQuery(req.URL.Redacted()), StatusCode: resp.StatusCode, After: after}
			}
			drain(resp)
			wait = after
		case retryableStatus(resp.StatusCode):
			if last {
				return resp, nil
			}
			drain(resp)
		default:
			return resp, nil
		}
		wait = max(wait, backoff(bound, t.policy.MinBackoff))
		bound = min(2*bound, max(t.policy.MaxBackoff, t.policy.MinBackoff))
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-timer.C:
		}
	}
}

func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodPut || method == http.MethodDelete
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is a random wait in [min, bound] (full jitter, floored).
func backoff(bound, floor time.Duration) time.Duration {
	if bound <= floor {
		return floor
	}
	return floor + rand.N(bound-floor+1)
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date. Anything else, or
// a time in the past, is 0.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// RetryAfter returns the wait a *RetryAfterError in err's chain asks for, and whether
// there is one.
func RetryAfter(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After, true
	}
	return 0, false
}
