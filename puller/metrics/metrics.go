// Package metrics exposes gitless-puller's sync results as Prometheus metrics.
//
//	reg := prometheus.NewRegistry()
//	m := metrics.New(reg)
//	err := p.Run(ctx, sources, puller.RunOptions{OnResult: m.Observe})
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitless-dev/gitless/puller"
)

// Recorder turns sync results into metrics, all labelled by source:
//
//	gitless_puller_syncs_total{source,outcome}          syncs by outcome (Applied, UpToDate, Failed, Suspended, Removed)
//	gitless_puller_sync_duration_seconds{source}         histogram of sync durations
//	gitless_puller_last_success_timestamp_seconds{source}
//	gitless_puller_objects{source,action}                objects of the last applying sync, by action
//	gitless_puller_registry_requests_total{source}       registry requests (token requests included)
//	gitless_puller_apiserver_writes_total{source}        apiserver writes
//	gitless_puller_verification_failures_total{source}   signature verifications that refused the artifact (once per digest, not per poll)
type Recorder struct {
	syncs, registry, writes, verifyFailures *prometheus.CounterVec
	duration                                *prometheus.HistogramVec
	lastSuccess, objects                    *prometheus.GaugeVec
	mu                                      sync.Mutex
	seen                                    map[string]bool // the sources observed
	current                                 map[string]bool // Keep's names; nil: all
}

// New registers the metrics with reg.
func New(reg prometheus.Registerer) *Recorder {
	f := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gitless", Subsystem: "puller", Name: name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	r := &Recorder{
		syncs:          f("syncs_total", "Syncs by outcome.", "source", "outcome"),
		registry:       f("registry_requests_total", "Registry requests, token requests included.", "source"),
		writes:         f("apiserver_writes_total", "Apiserver write requests (dry-runs excluded).", "source"),
		verifyFailures: f("verification_failures_total", "Signature verifications that refused an artifact (once per digest, not per poll).", "source"),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "gitless", Subsystem: "puller", Name: "sync_duration_seconds",
			Help: "Duration of syncs.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, []string{"source"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "gitless", Subsystem: "puller", Name: "last_success_timestamp_seconds",
			Help: "Unix time of the last successful sync."}, []string{"source"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "gitless", Subsystem: "puller", Name: "objects",
			Help: "Objects of the last applying sync, by action."}, []string{"source", "action"}),
	}
	reg.MustRegister(r.duration, r.lastSuccess, r.objects)
	return r
}

// Keep makes names the sources recorded: the series of every other source observed are
// deleted (sources taken out of the configuration), and the results of other sources
// observed from now on (a removal's, a sync that was in flight) are dropped. Before the
// first call every source is recorded.
func (r *Recorder) Keep(names []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.current = map[string]bool{}
	for _, n := range names {
		r.current[n] = true
	}
	for s := range r.seen {
		if r.current[s] {
			continue
		}
		for _, v := range []interface {
			DeletePartialMatch(prometheus.Labels) int
		}{r.syncs, r.registry, r.writes, r.verifyFailures, r.duration, r.lastSuccess, r.objects} {
			v.DeletePartialMatch(prometheus.Labels{"source": s})
		}
		delete(r.seen, s)
	}
}

// Observe records one sync; it has the signature of puller.RunOptions.OnResult.
func (r *Recorder) Observe(res *puller.Result, err error) {
	if res == nil {
		return
	}
	s := res.Source
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current != nil && !r.current[s] {
		return // no longer configured: its series are gone and stay so
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[s] = true
	r.syncs.WithLabelValues(s, string(res.Outcome)).Inc()
	r.duration.WithLabelValues(s).Observe(res.Duration.Seconds())
	r.registry.WithLabelValues(s).Add(float64(res.Requests.Registry))
	r.writes.WithLabelValues(s).Add(float64(res.Requests.APIWrites))
	if res.VerificationFailed {
		// A verdict of this sync; the polls that find the refused digest again do not
		// count.
		r.verifyFailures.WithLabelValues(s).Inc()
	}
	if err == nil {
		r.lastSuccess.WithLabelValues(s).SetToCurrentTime()
	}
	if res.Outcome == puller.Applied {
		for action, n := range map[string]int{"created": res.Created, "configured": res.Configured, "recreated": res.Recreated, "unchanged": res.Unchanged, "pruned": res.Pruned, "skipped": res.Skipped} {
			r.objects.WithLabelValues(s, action).Set(float64(n))
		}
	}
}
