package puller_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
	"github.com/gitless-dev/gitless/verify"
)

// A source whose configuration changed is verified and applied again even though its
// artifact's digest did not: another path builds other objects, and a stricter
// verification policy refuses what the old one accepted. Only the scheduling fields
// (interval, driftInterval, timeout, dependsOn, webhook) leave it up to date.
func TestChangedSourceSameDigest(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a/x.yaml": cm("x", "1"), "b/y.yaml": cm("y", "1")})
	src := w.source("app", "app", "v1")
	src.Path = "a"
	if res := w.mustSync(src); res.Outcome != puller.Applied || w.CMData("x", "k") != "1" {
		t.Fatalf("first sync: %+v", res)
	}
	applied := w.status("app")[puller.AnnotationAppliedAt]
	if res := w.mustSync(src); res.Outcome != puller.UpToDate {
		t.Fatalf("same source again: %+v", res)
	}

	// Scheduling fields only: still up to date, nothing fetched.
	sched := src
	sched.Interval = metav1.Duration{Duration: time.Hour}
	sched.DriftInterval = metav1.Duration{Duration: 2 * time.Hour}
	sched.Timeout = metav1.Duration{Duration: time.Minute}
	sched.Webhook = &puller.WebhookSecret{SecretFile: "/run/secrets/hook/token"}
	if res := w.mustSync(sched); res.Outcome != puller.UpToDate || res.Requests.Registry != 1 {
		t.Fatalf("interval, driftInterval, timeout and webhook changed: %+v", res)
	}

	// Another path: verified, built and applied again; x leaves the set.
	w.clock.add(time.Minute)
	src.Path = "b"
	res := w.mustSync(src)
	if res.Outcome != puller.Applied || res.DriftCheck || res.Signer == "" || w.CMData("y", "k") != "1" || w.CMData("x", "k") != "<absent>" {
		t.Fatalf("path changed: %+v; y=%s x=%s", res, w.CMData("y", "k"), w.CMData("x", "k"))
	}
	st := w.status("app")
	if st[puller.AnnotationAppliedAt] == applied || st[puller.AnnotationSpec] == "" {
		t.Fatalf("status after the path changed: %v", st)
	}
	if res := w.mustSync(src); res.Outcome != puller.UpToDate {
		t.Fatalf("the new path again: %+v", res)
	}

	// A stricter policy (another key, which did not sign): refused, not UpToDate, and
	// the objects of the last good configuration stay. Again at the next poll.
	strict := src
	_, strict.Verify = newKey(t)
	for i := range 2 {
		res, err := w.sync(strict)
		if !errors.Is(err, verify.ErrVerificationFailed) || res.Outcome != puller.Failed {
			t.Fatalf("stricter policy, poll %d: %+v, %v", i, res, err)
		}
	}
	if st := w.status("app"); st[puller.AnnotationResult] != string(puller.Failed) || w.CMData("y", "k") != "1" {
		t.Fatalf("after the refusal: %v", st)
	}

	// A policy that the signature satisfies, different from the one applied: verified
	// again and applied.
	both := src
	both.Verify = &verify.Policy{Keys: append(append([]string{}, strict.Verify.Keys...), src.Verify.Keys...), InsecureIgnoreTlog: true}
	if res := w.mustSync(both); res.Outcome != puller.Applied || res.Signer == "" {
		t.Fatalf("a policy with both keys: %+v", res)
	}
	if st := w.status("app"); st[puller.AnnotationResult] != string(puller.Applied) {
		t.Fatalf("%v", st)
	}

	// A new Puller (a restart) reads the configuration applied from the parent.
	p2 := w.newPuller(puller.Options{})
	if res, err := p2.Sync(w.Ctx, both); err != nil || res.Outcome != puller.UpToDate {
		t.Fatalf("after a restart, same source: %+v, %v", res, err)
	}
	if res, err := p2.Sync(w.Ctx, src); err != nil || res.Outcome != puller.Applied {
		t.Fatalf("after a restart, changed source: %+v, %v", res, err)
	}
}

// Run: a source changed in a live update (its path) with an unchanged digest is
// applied again at once, despite a 1h interval and SpreadStart.
func TestRunChangedSourceSameDigest(t *testing.T) {
	w := newWorld(t, registry.Options{})
	p := w.newPuller(puller.Options{Now: time.Now})
	w.pushSigned("app", "v1", t1, map[string]string{"a/x.yaml": cm("x", "1"), "b/y.yaml": cm("y", "1")})
	src := w.source("app", "app", "v1")
	src.Interval = metav1.Duration{Duration: time.Hour}
	src.Path = "a"
	if _, err := p.Sync(w.Ctx, src); err != nil { // so that SpreadStart would delay it
		t.Fatal(err)
	}
	updates := make(chan puller.Update)
	var mu sync.Mutex
	var outcomes []puller.Outcome
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, []puller.Source{src}, puller.RunOptions{Updates: updates, SpreadStart: true, OnResult: func(r *puller.Result, _ error) {
			mu.Lock()
			outcomes = append(outcomes, r.Outcome)
			mu.Unlock()
		}})
	}()
	b := src
	b.Path = "b"
	updates <- puller.Update{Sources: []puller.Source{b}}
	waitUntil(t, "path b applied", func() bool { return w.CMData("y", "k") == "1" && w.CMData("x", "k") == "<absent>" })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// The first configuration's poll is spread over the hour (it may rarely come first).
	if len(outcomes) == 0 || len(outcomes) > 2 || outcomes[len(outcomes)-1] != puller.Applied {
		t.Fatalf("outcomes %v: want the changed source Applied, at once", outcomes)
	}
}

// A key file replaced at its path (a rotated Secret, a compromised key revoked) is a
// new policy, though the configuration names the same path: the applied digest,
// signed by the old key alone, is verified again at the next poll and refused (the
// cluster stays as it was, nothing pruned); a digest refused under the old key is
// verified again, not answered from memory, and applied once the file holds the key
// that signed it. The tag never moves.
func TestKeyFileReplacedVerifiesAgain(t *testing.T) {
	w := newWorld(t, registry.Options{})
	keyFile := filepath.Join(t.TempDir(), "cosign.pub")
	writeKey := func(pem string) {
		t.Helper()
		if err := os.WriteFile(keyFile, []byte(pem), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeKey(w.Key.PubPEM)
	src := w.source("app", "app", "v1")
	src.Verify = &verify.Policy{Keys: []string{keyFile}, InsecureIgnoreTlog: true}
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	w.mustSync(src)

	other := pullertest.NewKey(t)
	writeKey(other.PubPEM) // the key that signed v1 is revoked
	w.clock.add(time.Minute)
	res, err := w.sync(src)
	if !errors.Is(err, verify.ErrVerificationFailed) || res.Outcome != puller.Failed {
		t.Fatalf("after the key file changed: %v (%+v), want the applied digest verified again and refused", err, res.Outcome)
	}
	if w.CMData("a", "k") != "1" {
		t.Fatal("a refused verification changed the cluster")
	}

	// v2, signed by the fixture's key, is refused while the file holds the other one...
	w.pushSigned("app", "v2", t2, map[string]string{"a.yaml": cm("a", "2")})
	src.Ref.Tag = "v2"
	if _, err := w.sync(src); !errors.Is(err, verify.ErrVerificationFailed) {
		t.Fatalf("v2 under the other key: %v", err)
	}
	// ...and applied once the file holds the key that signed it again.
	writeKey(w.Key.PubPEM)
	w.clock.add(time.Minute)
	if res := w.mustSync(src); res.Outcome != puller.Applied || w.CMData("a", "k") != "2" {
		t.Fatalf("after the key file came back: %+v", res)
	}
}

// Run, started after a puller was killed while it applied (the parent names the digest
// attempted, as it did before the first object write): the source syncs at once and is
// applied again, not spread over its interval as a source that last succeeded is.
func TestRunSyncsASourceCutShortAtOnce(t *testing.T) {
	w := newWorld(t, registry.Options{})
	p := w.newPuller(puller.Options{Now: time.Now})
	v1 := w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	src.Interval = metav1.Duration{Duration: time.Hour}
	if _, err := p.Sync(w.Ctx, src); err != nil {
		t.Fatal(err)
	}
	// What a sync killed after its first write leaves on the parent.
	w.rewriteParent("app", func(ann map[string]string) { ann[puller.AnnotationAttempted] = v1.Digest.String() })
	results := make(chan *puller.Result, 4)
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() {
		done <- w.newPuller(puller.Options{Now: time.Now}).Run(ctx, []puller.Source{src}, puller.RunOptions{SpreadStart: true,
			OnResult: func(r *puller.Result, _ error) { results <- r }})
	}()
	select {
	case r := <-results:
		if r.Outcome != puller.Applied {
			t.Errorf("the first sync: %s, want it applied again", r.Outcome)
		}
	case <-time.After(15 * time.Second):
		t.Error("no sync within 15 s: the first poll was spread over the hour")
	}
	cancel()
	<-done
	if st := w.status("app"); st[puller.AnnotationAttempted] != "" {
		t.Fatalf("the marker stayed: %v", st)
	}
}

// An operator's reconcile request made while no puller led (a restart, a handover: the
// informer of the new leader sees it as already there) is handled at the first poll,
// not after a start spread over the interval.
func TestRunHandlesARequestMadeWhileItWasDown(t *testing.T) {
	w := newWorld(t, registry.Options{})
	p := w.newPuller(puller.Options{Now: time.Now})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	src.Interval = metav1.Duration{Duration: time.Hour}
	if _, err := p.Sync(w.Ctx, src); err != nil {
		t.Fatal(err)
	}
	token := w.requestReconcile("app")
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() {
		done <- w.newPuller(puller.Options{Now: time.Now}).Run(ctx, []puller.Source{src}, puller.RunOptions{SpreadStart: true})
	}()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(w.Ctx, 15*time.Second)
	defer wcancel()
	if _, err := w.control().WaitReconciled(wctx, "app", token); err != nil {
		t.Fatalf("the request made before the start: %v", err)
	}
}

// An upgrade is not a burst: a source whose parent was written by a puller from before
// the spec was recorded (no AnnotationSpec) and last succeeded has its first poll
// spread over its interval, as one up to date is, while a source never synced syncs at
// once; that first sync then applies it again and records the spec.
func TestRunSpreadsSourcesAppliedByAnOlderPuller(t *testing.T) {
	w := newWorld(t, registry.Options{})
	p := w.newPuller(puller.Options{Now: time.Now})
	w.pushSigned("old", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	w.pushSigned("fresh", "v1", t1, map[string]string{"b.yaml": cm("b", "1")})
	old, fresh := w.source("old", "old", "v1"), w.source("fresh", "fresh", "v1")
	old.Interval = metav1.Duration{Duration: 24 * time.Hour}
	fresh.Interval = old.Interval
	if _, err := p.Sync(w.Ctx, old); err != nil {
		t.Fatal(err)
	}
	// The parent as the older puller left it: the same status without the spec.
	w.rewriteParent("old", func(ann map[string]string) {
		if ann[puller.AnnotationSpec] == "" {
			t.Fatalf("no spec recorded: %v", ann)
		}
		delete(ann, puller.AnnotationSpec)
	})
	if w.status("old")[puller.AnnotationSpec] != "" {
		t.Fatal("the spec is still recorded")
	}

	// Spread over 24 h, the first poll comes in the first 3 s once in about 30,000 runs.
	if n := w.firstPolls(w.newPuller(puller.Options{Now: time.Now}), fresh, old); n != 0 {
		t.Fatalf("the source the older puller applied synced at once (%d syncs)", n)
	}
	res := w.mustSync(old)
	if res.Outcome != puller.Applied || w.status("old")[puller.AnnotationSpec] == "" {
		t.Fatalf("its first sync: %s, spec %q; want it applied again and the spec recorded", res.Outcome, w.status("old")[puller.AnnotationSpec])
	}
}

// A source whose spec was recorded without its identity (the puller's own then, a
// tenant's now: a lockdown set since, or a puller from before the spec had the
// identity) is spread as well; its first sync applies it again, as its new identity.
func TestRunSpreadsSourcesRecordedWithoutTheirIdentity(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("acct", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	w.pushSigned("fresh", "v1", t1, map[string]string{"b.yaml": cm("b", "1")})
	acct, fresh := w.source("acct", "acct", "v1"), w.source("fresh", "fresh", "v1")
	acct.Interval = metav1.Duration{Duration: 24 * time.Hour}
	fresh.Interval = acct.Interval
	acct.TargetNamespace, fresh.TargetNamespace = w.Target, w.Target
	w.mustSync(acct)
	spec := w.status("acct")[puller.AnnotationSpec]

	locked := w.newPuller(puller.Options{Now: time.Now, Tenancy: puller.Tenancy{DefaultServiceAccount: "tenant"}})
	if n := w.firstPolls(locked, fresh, acct); n != 0 {
		t.Fatalf("the source recorded without its identity synced at once (%d syncs)", n)
	}
	if _, err := w.Kube.RbacV1().RoleBindings(w.Target).Create(w.Ctx, w.tenantAccount(w.Target), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var res *puller.Result
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if res, err = locked.Sync(w.Ctx, acct); err == nil {
			break // the binding is in force
		}
	}
	if err != nil || res.Outcome != puller.Applied || w.status("acct")[puller.AnnotationSpec] == spec {
		t.Fatalf("its first sync as the tenant: %+v, %v; want it applied again and a new spec recorded", res, err)
	}
}

// firstPolls runs p with SpreadStart on fresh, never synced, and spread, each with a
// long interval, until fresh has synced (at once) and 2 s more, and returns how often
// spread synced meanwhile: 0 unless its first poll was not spread.
func (w *world) firstPolls(p *puller.Puller, fresh, spread puller.Source) int {
	w.t.Helper()
	var mu sync.Mutex
	synced := map[string]int{}
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, []puller.Source{fresh, spread}, puller.RunOptions{SpreadStart: true,
			OnResult: func(r *puller.Result, _ error) {
				mu.Lock()
				defer mu.Unlock()
				synced[r.Source]++
			}})
	}()
	waitUntil(w.t, "the source never synced to sync at once", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return synced[fresh.Name] > 0
	})
	time.Sleep(2 * time.Second) // a first poll not spread would have come
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	return synced[spread.Name]
}

// rewriteParent changes the annotations of the named source's parent with edit, written
// as the puller writes them (its field manager applies the whole of what it owns).
func (w *world) rewriteParent(name string, edit func(ann map[string]string)) {
	w.t.Helper()
	parent, err := w.Kube.CoreV1().ConfigMaps(w.NS).Get(w.Ctx, "gitless-"+name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	ann := parent.Annotations
	edit(ann)
	b, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": parent.Name, "namespace": parent.Namespace, "labels": parent.Labels, "annotations": ann}})
	if _, err := w.Kube.CoreV1().ConfigMaps(w.NS).Patch(w.Ctx, parent.Name, types.ApplyPatchType, b,
		metav1.PatchOptions{FieldManager: apply.FieldManager, Force: ptr(true)}); err != nil {
		w.t.Fatal(err)
	}
}
