package puller_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller/metrics"
)

// gitless_puller_verification_failures_total counts verdicts: an unsigned artifact
// polled five times is one failure (the digest is remembered, not verified again),
// the tag moved to another unsigned artifact is a second, a signed one adds none.
// Counting every failed poll, as before, gives 5 after the first polls.
func TestVerificationFailuresMetricCountsVerdicts(t *testing.T) {
	w := newWorld(t, registry.Options{})
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	src := w.source("app", "app", "prod")
	poll := func(n int) {
		t.Helper()
		for range n {
			w.clock.add(time.Minute)
			res, err := w.sync(src)
			m.Observe(res, err)
		}
	}
	failures := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "gitless_puller_verification_failures_total" {
				continue
			}
			for _, mt := range mf.GetMetric() {
				for _, l := range mt.GetLabel() {
					if l.GetName() == "source" && l.GetValue() == "app" {
						return mt.GetCounter().GetValue()
					}
				}
			}
		}
		return 0
	}
	w.push("app", "prod", t1, map[string]string{"a.yaml": cm("a", "1")})
	poll(5)
	if got := failures(); got != 1 {
		t.Fatalf("after 5 polls of one unsigned artifact: %v failures, want 1", got)
	}
	w.push("app", "prod", t2, map[string]string{"a.yaml": cm("a", "2")})
	poll(3)
	if got := failures(); got != 2 {
		t.Fatalf("after the tag moved to another unsigned artifact: %v, want 2", got)
	}
	w.pushSigned("app", "prod", t2.Add(time.Hour), map[string]string{"a.yaml": cm("a", "3")})
	poll(2)
	if got := failures(); got != 2 || w.CMData("a", "k") != "3" {
		t.Fatalf("after a signed artifact: %v failures, a=%q", got, w.CMData("a", "k"))
	}
}
