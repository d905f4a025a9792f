package remote_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact/remote"
)

// script answers the i-th request with codes[i] (the last one after that), with the
// given Retry-After, and records when each came and what body it had.
type script struct {
	mu     sync.Mutex
	codes  []int
	after  string
	times  []time.Time
	bodies []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := len(s.times)
	s.times = append(s.times, time.Now())
	s.bodies = append(s.bodies, string(b))
	code := s.codes[min(i, len(s.codes)-1)]
	s.mu.Unlock()
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		if s.after != "" {
			w.Header().Set("Retry-After", s.after)
		}
	}
	w.WriteHeader(code)
}

func TestRetryTransport(t *testing.T) {
	fast := remote.RetryPolicy{MaxRetries: 3, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	for _, tc := range []struct {
		name     string
		codes    []int
		after    string
		policy   remote.RetryPolicy
		method   string
		want     int // status, or 0 for a RetryAfterError
		requests int
		minGap   time.Duration
	}{
		{"429 waited out", []int{429, 200}, "1", fast, "GET", 200, 2, time.Second},
		{"429 past MaxRetryAfter is returned", []int{429, 200}, "5", fast, "GET", 0, 1, 0},
		{"429 with no retries", []int{429, 200}, "1", remote.RetryPolicy{}, "HEAD", 0, 1, 0},
		{"503 without Retry-After retried", []int{503, 503, 200}, "", fast, "GET", 200, 3, 0},
		// MaxRetryAfter 0 (the puller's policy): a 429 or 503 is never waited for within
		// the request, Retry-After or not; the caller comes back later.
		{"429 without Retry-After, none waited for", []int{429, 200}, "", remote.RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond}, "HEAD", 0, 1, 0},
		{"503 with Retry-After, none waited for", []int{503, 200}, "1", remote.RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond}, "HEAD", 0, 1, 0},
		{"503 without Retry-After, a passing fault: retried", []int{503, 200}, "", remote.RetryPolicy{MaxRetries: 2, MinBackoff: time.Millisecond}, "HEAD", 200, 2, 0},
		{"5xx retried, then given back", []int{502, 502, 502, 502, 502}, "", fast, "GET", 502, 4, 0},
		{"401 never retried", []int{401, 200}, "", fast, "GET", 401, 1, 0},
		{"404 never retried", []int{404, 200}, "", fast, "GET", 404, 1, 0},
		{"POST body replayed", []int{500, 200}, "", fast, "POST", 200, 2, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{codes: tc.codes, after: tc.after}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := &http.Client{Transport: remote.NewRetryTransport(nil, tc.policy)}
			var body io.Reader
			if tc.method == "POST" {
				body = strings.NewReader("payload")
			}
			req, _ := http.NewRequest(tc.method, srv.URL+"/v2/", body)
			resp, err := c.Do(req)
			s.mu.Lock()
			defer s.mu.Unlock()
			if tc.want == 0 {
				var ra *remote.RetryAfterError
				if !errors.As(err, &ra) || !errors.Is(err, remote.ErrRateLimited) || ra.StatusCode != tc.codes[0] || ra.After != afterOf(tc.after) {
					t.Fatalf("err = %v", err)
				}
			} else {
				if err != nil || resp.StatusCode != tc.want {
					t.Fatalf("%v %v", err, resp)
				}
				resp.Body.Close()
			}
			if len(s.times) != tc.requests {
				t.Fatalf("%d requests, want %d", len(s.times), tc.requests)
			}
			if tc.minGap > 0 && s.times[1].Sub(s.times[0]) < tc.minGap {
				t.Fatalf("retried after %s, before Retry-After", s.times[1].Sub(s.times[0]))
			}
			for i, b := range s.bodies {
				if tc.method == "POST" && b != "payload" {
					t.Fatalf("attempt %d sent %q", i, b)
				}
			}
		})
	}
}

// afterOf is the wait a Retry-After header of whole seconds asks for ("" none).
func afterOf(v string) time.Duration {
	d, _ := time.ParseDuration(v + "s")
	return d
}
