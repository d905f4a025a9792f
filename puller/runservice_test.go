package puller_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
)

// Run takes new source lists while it runs: a new source starts, a changed one
// resyncs, a removed one stops and keeps its objects, or, with PruneRemoved, loses
// them and its parent.
func TestRunTakesUpdates(t *testing.T) {
	w := newWorld(t, registry.Options{})
	p := w.newPuller(puller.Options{Now: time.Now})
	w.pushSigned("a", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	w.pushSigned("b", "v1", t1, map[string]string{"b.yaml": cm("b", "1")})
	w.pushSigned("b", "v2", t2, map[string]string{"b.yaml": cm("b", "2")})
	w.pushSigned("c", "v1", t1, map[string]string{"c.yaml": cm("c", "1")})
	slow := func(s puller.Source) puller.Source { s.Interval = metav1.Duration{Duration: time.Hour}; return s }
	a, b, c := slow(w.source("a", "a", "v1")), slow(w.source("b", "b", "v1")), slow(w.source("c", "c", "v1"))
	updates := make(chan puller.Update)
	var mu sync.Mutex
	var updateErrs []error
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, []puller.Source{a}, puller.RunOptions{Updates: updates, OnUpdate: func(err error) {
			mu.Lock()
			updateErrs = append(updateErrs, err)
			mu.Unlock()
		}})
	}()
	waitUntil(t, "a", func() bool { return w.CMData("a", "k") == "1" })
	updates <- puller.Update{Sources: []puller.Source{a, b}}
	waitUntil(t, "b, a new source", func() bool { return w.CMData("b", "k") == "1" })
	b2 := b
	b2.Ref.Tag = "v2"
	updates <- puller.Update{Sources: []puller.Source{a, b2, c}}
	waitUntil(t, "b changed, at once despite its 1h interval", func() bool { return w.CMData("b", "k") == "2" })
	waitUntil(t, "c", func() bool { return w.CMData("c", "k") == "1" })
	// A cycle is refused, and what runs stays.
	bad := a
	bad.DependsOn = []string{"a"}
	updates <- puller.Update{Sources: []puller.Source{bad}}
	// Removed: a's objects stay; c's are pruned with PruneRemoved.
	updates <- puller.Update{Sources: []puller.Source{b2, c}}
	updates <- puller.Update{Sources: []puller.Source{b2}, PruneRemoved: true}
	waitUntil(t, "c pruned", func() bool { return w.CMData("c", "k") == "<absent>" })
	waitUntil(t, "c's parent deleted", func() bool { _, err := w.Get(pullertest.ConfigMaps, w.NS, "gitless-c"); return err != nil })
	if w.CMData("a", "k") != "1" {
		t.Fatal("a source removed without PruneRemoved lost its objects")
	}
	ok, bad2 := p.Health().Ready()
	if !ok || len(bad2) != 0 {
		t.Fatalf("health %v %v", ok, bad2)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(updateErrs) != 5 || updateErrs[2] == nil || updateErrs[0] != nil {
		t.Fatalf("%v", updateErrs)
	}
}

// slowBigSource is a world whose client is throttled to 40 requests a second, a puller
// syncing one source at a time, and a source of 60 ConfigMaps: its sync takes seconds.
func slowBigSource(t *testing.T) (*world, *puller.Puller, puller.Source) {
	t.Helper()
	w := newWorld(t, registry.Options{})
	w.Config.QPS, w.Config.Burst = 40, 1
	p := w.newPuller(puller.Options{Now: time.Now, Concurrency: 1})
	files := map[string]string{}
	for i := range 60 {
		files[string(rune('a'+i%26))+string(rune('a'+i/26))+".yaml"] = cm("obj-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "1")
	}
	w.pushSigned("big", "v1", t1, files)
	src := w.source("big", "big", "v1")
	return w, p, src
}

// SIGTERM (ctx done) during an apply: the apply finishes and is recorded, and no new
// sync starts.
func TestShutdownLetsTheApplyInFlightFinish(t *testing.T) {
	w, p, src := slowBigSource(t) // a slow apply: about 120 objects take seconds
	ctx, cancel := context.WithCancel(w.Ctx)
	var results []*puller.Result
	var mu sync.Mutex
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, []puller.Source{src}, puller.RunOptions{ShutdownGrace: time.Minute, OnResult: func(r *puller.Result, _ error) {
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}})
	}()
	waitUntil(t, "the apply to start", func() bool { return w.CMData("obj-aa", "k") == "1" })
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(results) != 1 || results[0].Outcome != puller.Applied || results[0].Created != 60 {
		t.Fatalf("%d results: %+v", len(results), results)
	}
	if st := w.status("big"); st[puller.AnnotationResult] != "Applied" {
		t.Fatalf("%v", st)
	}
}

// Triggers while a sync is in flight are coalesced into one more sync after it.
func TestTriggersAreCoalesced(t *testing.T) {
	w, p, src := slowBigSource(t) // a sync of 60 objects takes seconds
	src.Interval = metav1.Duration{Duration: time.Hour}
	ctx, cancel := context.WithCancel(w.Ctx)
	defer cancel()
	var mu sync.Mutex
	var outcomes []puller.Outcome
	go p.Run(ctx, []puller.Source{src}, puller.RunOptions{OnResult: func(r *puller.Result, _ error) {
		mu.Lock()
		outcomes = append(outcomes, r.Outcome)
		mu.Unlock()
	}})
	waitUntil(t, "the apply to start", func() bool { return w.CMData("obj-aa", "k") == "1" })
	for range 10 {
		if !p.Health().Trigger("big") {
			t.Fatal("unknown source")
		}
	}
	waitUntil(t, "two syncs", func() bool { mu.Lock(); defer mu.Unlock(); return len(outcomes) == 2 })
	time.Sleep(time.Second)
	mu.Lock()
	defer mu.Unlock()
	if len(outcomes) != 2 || outcomes[0] != puller.Applied || outcomes[1] != puller.UpToDate {
		t.Fatalf("%v", outcomes)
	}
}

// countingBuilder records how many builds run at once.
type countingBuilder struct {
	mu       sync.Mutex
	now, max int
}

func (b *countingBuilder) Build(ctx context.Context, dir string) ([]*unstructured.Unstructured, error) {
	b.mu.Lock()
	b.now++
	b.max = max(b.max, b.now)
	b.mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	b.mu.Lock()
	b.now--
	b.mu.Unlock()
	return puller.KustomizeBuilder{}.Build(ctx, dir)
}

// MaxConcurrentSyncs bounds the sources syncing at once.
func TestMaxConcurrentSyncs(t *testing.T) {
	w := newWorld(t, registry.Options{})
	b := &countingBuilder{}
	p := w.newPuller(puller.Options{Now: time.Now, Builder: b})
	var sources []puller.Source
	for _, n := range []string{"a", "b", "c", "d"} {
		w.pushSigned(n, "v1", t1, map[string]string{n + ".yaml": cm(n, "1")})
		sources = append(sources, w.source(n, n, "v1"))
	}
	ctx, cancel := context.WithCancel(w.Ctx)
	defer cancel()
	go p.Run(ctx, sources, puller.RunOptions{MaxConcurrentSyncs: 2})
	waitUntil(t, "all four", func() bool {
		return w.CMData("a", "k") == "1" && w.CMData("b", "k") == "1" && w.CMData("c", "k") == "1" && w.CMData("d", "k") == "1"
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max != 2 {
		t.Fatalf("%d syncs at once, want 2", b.max)
	}
}

// A source removed with PruneRemoved and added again before its Remove ended syncs only
// after it: run side by side, the new loop's sync found the parent (UpToDate) and the
// Remove then deleted what it had just checked.
func TestSourceAddedAgainWaitsForItsRemove(t *testing.T) {
	w, p, src := slowBigSource(t) // deleting 60 objects at 40 requests a second takes seconds
	src.Interval = metav1.Duration{Duration: time.Hour}
	updates := make(chan puller.Update)
	var mu sync.Mutex
	var outcomes []puller.Outcome
	ctx, cancel := context.WithCancel(w.Ctx)
	defer cancel()
	go p.Run(ctx, []puller.Source{src}, puller.RunOptions{Updates: updates, OnResult: func(r *puller.Result, _ error) {
		mu.Lock()
		outcomes = append(outcomes, r.Outcome)
		mu.Unlock()
	}})
	synced := func(n int) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return len(outcomes) == n }
	}
	waitUntil(t, "the first sync", synced(1))
	updates <- puller.Update{PruneRemoved: true}
	waitUntil(t, "the Remove to start", func() bool { return w.CountCMs("obj-") < 60 })
	updates <- puller.Update{Sources: []puller.Source{src}, PruneRemoved: true}
	waitUntil(t, "the Remove and the sync after it", synced(3))
	mu.Lock()
	got := append([]puller.Outcome(nil), outcomes...)
	mu.Unlock()
	if got[1] != puller.Removed || got[2] != puller.Applied {
		t.Fatalf("outcomes %v, want [Applied Removed Applied]", got)
	}
	for _, name := range []string{"obj-aa", "obj-zb"} {
		if v := w.CMData(name, "k"); v != "1" {
			t.Fatalf("%s after the source came back: %s", name, v)
		}
	}
	if _, err := w.Get(pullertest.ConfigMaps, w.NS, "gitless-big"); err != nil {
		t.Fatalf("the parent after the source came back: %v", err)
	}
}

// A source removed from the configuration without pruneRemovedSources while its sync
// is in flight, and added back before that sync ended: its new loop waits for it (one
// sync of a source at a time), so the two syncs do not overlap.
func TestSourceAddedAgainWaitsForItsSyncInFlight(t *testing.T) {
	w, p, src := slowBigSource(t)
	src.Interval = metav1.Duration{Duration: time.Hour}
	updates := make(chan puller.Update)
	type span struct{ start, end time.Time }
	var mu sync.Mutex
	var spans []span
	ctx, cancel := context.WithCancel(w.Ctx)
	defer cancel()
	go p.Run(ctx, []puller.Source{src}, puller.RunOptions{Updates: updates, OnResult: func(r *puller.Result, _ error) {
		end := time.Now()
		mu.Lock()
		spans = append(spans, span{end.Add(-r.Duration), end})
		mu.Unlock()
	}})
	waitUntil(t, "the apply to start", func() bool { return w.CMData("obj-aa", "k") == "1" })
	updates <- puller.Update{}                              // removed, objects kept
	updates <- puller.Update{Sources: []puller.Source{src}} // and back
	waitUntil(t, "both syncs", func() bool { mu.Lock(); defer mu.Unlock(); return len(spans) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if first, second := spans[0], spans[1]; second.start.Before(first.end.Add(-50 * time.Millisecond)) {
		t.Fatalf("the second sync started %v before the first ended", first.end.Sub(second.start))
	}
}

// Abort (a leader that lost its Lease) ends the grace: the apply in flight is cancelled
// at once, not let finish as on SIGTERM, and Run returns.
func TestAbortCancelsTheApplyInFlight(t *testing.T) {
	w, p, src := slowBigSource(t) // a slow apply: about 120 objects take seconds
	ctx, cancel := context.WithCancel(w.Ctx)
	abort := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, []puller.Source{src}, puller.RunOptions{ShutdownGrace: time.Minute, Abort: abort})
	}()
	waitUntil(t, "the apply to start", func() bool { return w.CMData("obj-aa", "k") == "1" })
	close(abort)
	cancel()
	<-done
	n := w.CountCMs("obj-")
	if n == 60 {
		t.Fatal("the apply went on to the end after the abort")
	}
	time.Sleep(time.Second) // and nothing is written after Run returned
	if m := w.CountCMs("obj-"); m != n {
		t.Fatalf("%d objects when Run returned, %d a second later", n, m)
	}
}

// A source whose dependency changed in the same update waits for the dependency's new
// configuration to sync, not for its old one's success, as Flux's dependsOn waits for
// the dependency's latest generation.
func TestDependentWaitsForItsDependencysNewConfiguration(t *testing.T) {
	w := newWorld(t, registry.Options{})
	p := w.newPuller(puller.Options{Now: time.Now})
	w.pushSigned("a", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	w.pushSigned("b", "v1", t1, map[string]string{"b.yaml": cm("b", "1")})
	w.pushSigned("b", "v2", t2, map[string]string{"b.yaml": cm("b", "2")})
	slow := func(s puller.Source) puller.Source { s.Interval = metav1.Duration{Duration: time.Hour}; return s }
	a, b := slow(w.source("a", "a", "v1")), slow(w.source("b", "b", "v1"))
	b.DependsOn = []string{"a"}
	updates := make(chan puller.Update)
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() { done <- p.Run(ctx, []puller.Source{a, b}, puller.RunOptions{Updates: updates}) }()
	waitUntil(t, "a and b", func() bool { return w.CMData("a", "k") == "1" && w.CMData("b", "k") == "1" })

	// a now names a tag that is not there (it fails), b a new artifact.
	a2, b2 := a, b
	a2.Ref.Tag, b2.Ref.Tag = "missing", "v2"
	updates <- puller.Update{Sources: []puller.Source{a2, b2}}
	time.Sleep(3 * time.Second)
	if got := w.CMData("b", "k"); got != "1" {
		t.Fatalf("b applied its new artifact (%q) while its dependency's new configuration fails", got)
	}
	// a fixed: b follows.
	updates <- puller.Update{Sources: []puller.Source{a, b2}}
	waitUntil(t, "b's new artifact once a synced", func() bool { return w.CMData("b", "k") == "2" })
	cancel()
	<-done
}

// A removal (pruneRemovedSources) that fails, here a delete an admission policy
// refuses, is recorded on the parent (Failed, an Event) and tried again until it
// succeeds: the objects do not stay behind with the source shown as healthy.
func TestFailedRemovalIsRecordedAndTriedAgain(t *testing.T) {
	w := newWorld(t, registry.Options{})
	p := w.newPuller(puller.Options{Now: time.Now})
	w.pushSigned("a", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	w.pushSigned("b", "v1", t1, map[string]string{"b.yaml": cm("b", "1")})
	slow := func(s puller.Source) puller.Source { s.Interval = metav1.Duration{Duration: time.Hour}; return s }
	a, b := slow(w.source("a", "a", "v1")), slow(w.source("b", "b", "v1"))
	updates := make(chan puller.Update)
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, []puller.Source{a, b}, puller.RunOptions{Updates: updates, MinRetry: 500 * time.Millisecond})
	}()
	defer func() { cancel(); <-done }()
	waitUntil(t, "a and b", func() bool { return w.CMData("a", "k") == "1" && w.CMData("b", "k") == "1" })

	policy := "deny-delete-a-" + w.Target
	installPolicy(t, w, policy, admissionv1.RuleWithOperations{
		Operations: []admissionv1.OperationType{admissionv1.Delete},
		Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
	}, admissionv1.Validation{Expression: fmt.Sprintf("!(oldObject.metadata.namespace == %q && oldObject.metadata.name == 'a')", w.Target), Message: "a stays"})
	waitUntil(t, "the policy to bite", func() bool {
		err := w.Kube.CoreV1().ConfigMaps(w.Target).Delete(w.Ctx, "a", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		return err != nil && strings.Contains(err.Error(), "a stays")
	})

	updates <- puller.Update{Sources: []puller.Source{b}, PruneRemoved: true}
	waitUntil(t, "the failed removal recorded", func() bool {
		st := w.status("a")
		return st[puller.AnnotationResult] == string(puller.Failed) && strings.Contains(st[puller.AnnotationMessage], "removing source a") &&
			strings.Contains(st[puller.AnnotationMessage], "a stays")
	})
	time.Sleep(2 * time.Second) // tried again a few times: one Event for the one failure
	if evs := w.Events("reason=" + puller.ReasonRemoveFailed); len(evs) != 1 || evs[0].Count > 1 {
		t.Errorf("RemoveFailed Events: %d (count %v), want one", len(evs), func() []int32 {
			var c []int32
			for _, e := range evs {
				c = append(c, e.Count)
			}
			return c
		}())
	}
	if err := w.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(w.Ctx, policy, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a removed once the policy went", func() bool {
		_, err := w.Get(pullertest.ConfigMaps, w.NS, "gitless-a")
		return w.CMData("a", "k") == "<absent>" && err != nil
	})
	if w.CMData("b", "k") != "1" {
		t.Fatal("b lost its objects")
	}
}
