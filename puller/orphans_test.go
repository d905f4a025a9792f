package puller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
)

// record is the removal record on a source's parent ("" when there is none).
func (w *world) record(name string) map[string]any {
	w.t.Helper()
	raw := w.status(name)[puller.AnnotationRemoval]
	if raw == "" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		w.t.Fatalf("%s's removal record %q: %v", name, raw, err)
	}
	return m
}

func (w *world) parentExists(name string) bool {
	_, err := w.Get(pullertest.ConfigMaps, w.NS, "gitless-"+name)
	return err == nil
}

// runUntil runs p.Run on sources with opts until every source has a result and until
// holds, then stops it. updates, when not nil, are sent once every source has a result.
func (w *world) runUntil(p *puller.Puller, sources []puller.Source, opts puller.RunOptions, what string, until func() bool, updates ...puller.Update) {
	w.t.Helper()
	var mu sync.Mutex
	outcomes := map[string]puller.Outcome{}
	opts.OnResult = func(r *puller.Result, err error) {
		mu.Lock()
		defer mu.Unlock()
		outcomes[r.Source] = r.Outcome
	}
	ch := make(chan puller.Update)
	opts.Updates, opts.MinRetry = ch, 200*time.Millisecond
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() { done <- p.Run(ctx, sources, opts) }()
	defer func() { cancel(); <-done }()
	waitUntil(w.t, "every source synced", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range sources {
			if outcomes[s.Name] != puller.Applied && outcomes[s.Name] != puller.UpToDate {
				return false
			}
		}
		return true
	})
	for _, u := range updates {
		ch <- u
	}
	waitUntil(w.t, what, until)
}

// A source taken out of the configuration while no puller ran is removed at the next
// start of the installation that applied it, when that start's file prunes and is
// newer than every file the installation ran, or has the newest one's content. Left alone: a source whose parent the
// one-shot sync wrote last, another installation's, one applied with no file (run
// --url), every source while another puller of the installation has run a newer file
// (a replica whose file the kubelet has not updated yet; a source that left and came
// back in a file it never saw), one recorded under a newer file even when that
// installation's time was lost, and one taken out while pruning was off (its objects
// stay for good, even once pruning is turned on).
func TestSourcesRemovedWhileNoPullerRan(t *testing.T) {
	w := newWorld(t, registry.Options{})
	src := map[string]puller.Source{}
	for _, n := range []string{"a", "b", "k", "m", "c", "d", "e", "z"} {
		w.pushSigned(n, "v1", t1, map[string]string{n + ".yaml": cm(n, "1")})
		src[n] = w.source(n, n, "v1")
	}
	list := func(names ...string) []puller.Source {
		var out []puller.Source
		for _, n := range names {
			out = append(out, src[n])
		}
		return out
	}
	var logs pullertest.LogBuffer
	p := w.newPuller(puller.Options{Now: time.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	now := time.Now()
	f0, f1, f2, f3 := now.Add(-4*time.Hour), now.Add(-3*time.Hour), now.Add(-2*time.Hour), now
	always := func() bool { return true }
	intact := func(names ...string) {
		t.Helper()
		time.Sleep(time.Second) // a removal started with the others would have ended
		for _, n := range names {
			if w.CMData(n, "k") != "1" || !w.parentExists(n) {
				t.Errorf("%s lost its objects or its parent", n)
			}
		}
	}

	w.runUntil(p, list("a", "b", "k", "c"), puller.RunOptions{Owner: "x", ConfigTime: f0, ConfigDigest: "d0"}, "", always)
	// e is added by a newer file; the others keep the time recorded first.
	w.runUntil(p, list("a", "b", "k", "c", "e"), puller.RunOptions{Owner: "x", ConfigTime: f2, ConfigDigest: "d2"}, "", always)
	if rec := w.record("b"); rec["owner"] != "x" || rec["serviceAccount"] != nil || rec["configTime"] != f0.UTC().Format(time.RFC3339Nano) {
		t.Fatalf("b's removal record: %v", rec)
	}
	// c is synced by the one-shot sync since: up to date, its record is cleared.
	if res := w.mustSync(src["c"]); res.Outcome != puller.UpToDate {
		t.Fatalf("c: %s", res.Outcome)
	}
	if rec := w.record("c"); rec != nil {
		t.Fatalf("c's record after a one-shot sync: %v", rec)
	}
	w.runUntil(p, list("d"), puller.RunOptions{Owner: "y", ConfigTime: f0}, "", always)
	w.runUntil(p, list("z"), puller.RunOptions{Owner: "x"}, "", always)
	if rec := w.record("z"); rec != nil {
		t.Fatalf("z, applied from no file, has a removal record: %v", rec)
	}

	// A replica whose file (f1) is older than the newest the installation ran (f2), and
	// has other content, removes nothing, not even b, recorded under an older file
	// still (f0).
	w.runUntil(p, list("a"), puller.RunOptions{Owner: "x", ConfigTime: f1, ConfigDigest: "d1", PruneRemoved: true}, "the stale replica to say why it removes nothing", func() bool {
		return strings.Contains(logs.String(), "has run a newer configuration file")
	})
	intact("b", "k", "e", "z")
	// With the newest file's content, written on its node before (each kubelet writes
	// its own copy), it is as current as the newest: b goes.
	w.runUntil(p, list("a", "k", "e"), puller.RunOptions{Owner: "x", ConfigTime: f1, ConfigDigest: "d2", PruneRemoved: true}, "b removed by a replica with the newest content", func() bool {
		return w.CMData("b", "k") == "<absent>" && !w.parentExists("b")
	})
	intact("a", "k", "e", "z")

	// Pruning off, the installation's time lost: k, taken out offline, and m, taken out
	// by an update, are kept for good (their records cleared); e, recorded under a
	// newer file, is not looked at.
	if err := w.Kube.CoreV1().ConfigMaps(w.NS).Delete(w.Ctx, "x.config-time", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w.runUntil(p, list("a", "m"), puller.RunOptions{Owner: "x", ConfigTime: f1, ConfigDigest: "d1"}, "k and m kept", func() bool {
		return w.record("k") == nil && w.record("m") == nil
	}, puller.Update{Sources: list("a"), ConfigTime: f1.Add(time.Second), ConfigDigest: "d1b"})
	if w.record("e") == nil {
		t.Fatal("e's record was cleared by a puller whose file is older than the one e was applied under")
	}
	if w.record("d")["owner"] != "y" {
		t.Fatal("d's record was cleared by another installation")
	}

	// Pruning on, a newer file: e goes; k and m (kept), c (one-shot), d (another owner)
	// and z (no file) stay.
	w.runUntil(p, list("a"), puller.RunOptions{Owner: "x", ConfigTime: f3, ConfigDigest: "d3", PruneRemoved: true}, "e removed", func() bool {
		return w.CMData("e", "k") == "<absent>" && !w.parentExists("e")
	})
	intact("a", "k", "m", "c", "d", "z")
}

// A source removed while no puller ran is removed as the identity it was applied as,
// resolved then: its service account, named or the lockdown's default, whatever the
// lockdown says now. One applied as the puller itself is left while the lockdown names
// a default account.
func TestSourceRemovedWhileNoPullerRanIsRemovedAsItsIdentity(t *testing.T) {
	w := newWorld(t, registry.Options{})
	ns := w.Target
	binding := w.tenantAccount(ns)
	cfg := rest.CopyConfig(w.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":tenant"}
	asTenant, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bind := func(on bool) {
		t.Helper()
		var err error
		if on {
			_, err = w.Kube.RbacV1().RoleBindings(ns).Create(w.Ctx, binding.DeepCopy(), metav1.CreateOptions{})
		} else {
			err = w.Kube.RbacV1().RoleBindings(ns).Delete(w.Ctx, "tenant", metav1.DeleteOptions{})
		}
		if err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the tenant's rights to follow its binding", func() bool {
			_, err := asTenant.CoreV1().ConfigMaps(ns).List(w.Ctx, metav1.ListOptions{})
			return (err == nil) == on
		})
	}
	bind(true)
	for _, n := range []string{"named", "dflt", "own", "moved"} {
		w.pushSigned(n, "v1", t1, map[string]string{n + ".yaml": cm(n, "1")})
	}
	named := w.source("named", "named", "v1")
	named.ServiceAccountName, named.TargetNamespace = "tenant", ns
	dflt := w.source("dflt", "dflt", "v1")
	dflt.TargetNamespace = ns
	own := w.source("own", "own", "v1")
	own.TargetNamespace = ns
	moved := w.source("moved", "moved", "v1")
	moved.TargetNamespace = ns
	t0 := time.Now().Add(-time.Hour)
	open := w.newPuller(puller.Options{Now: time.Now})
	locked := func(account string) *puller.Puller {
		return w.newPuller(puller.Options{Now: time.Now, Tenancy: puller.Tenancy{DefaultServiceAccount: account}})
	}
	always := func() bool { return true }
	w.runUntil(open, []puller.Source{named, own, moved}, puller.RunOptions{Owner: "x", ConfigTime: t0}, "", always)
	w.runUntil(locked("tenant"), []puller.Source{dflt}, puller.RunOptions{Owner: "x", ConfigTime: t0}, "", always)
	for _, n := range []string{"named", "dflt"} {
		if rec := w.record(n); rec["serviceAccount"] != ns+"/tenant" || rec["targetNamespace"] != ns {
			t.Fatalf("%s's removal record: %v", n, rec)
		}
	}
	// A lockdown set at a restart applies moved again as the account it now acts as,
	// and its record follows; lifted, moved is applied again as the puller. A record
	// never names an identity its objects were not applied as.
	spec := func() string { return w.status("moved")[puller.AnnotationSpec] }
	asPuller := spec()
	w.runUntil(locked("tenant"), []puller.Source{moved}, puller.RunOptions{Owner: "x", ConfigTime: t0}, "moved's record to name the tenant", func() bool {
		return w.record("moved")["serviceAccount"] == ns+"/tenant"
	})
	if spec() == asPuller {
		t.Fatal("moved's record names the tenant, but moved was not applied again as the tenant")
	}
	w.runUntil(open, []puller.Source{moved}, puller.RunOptions{Owner: "x", ConfigTime: t0}, "moved's record to name the puller", func() bool {
		return w.record("moved")["serviceAccount"] == nil
	})
	if spec() != asPuller {
		t.Fatal("moved, applied as the puller again, does not record the spec it had as the puller")
	}
	refusedAsTenant := func(n string) bool {
		st := w.status(n)
		return st[puller.AnnotationResult] == string(puller.Failed) && strings.Contains(st[puller.AnnotationMessage], "system:serviceaccount:"+ns+":tenant")
	}

	// The account loses its rights: a removal as it fails, and says who it was. Under
	// a lockdown, what the puller applied as itself is left.
	bind(false)
	w.runUntil(locked("deployer"), nil, puller.RunOptions{Owner: "x", ConfigTime: time.Now(), PruneRemoved: true},
		"the removals as the tenant refused", func() bool { return refusedAsTenant("named") && refusedAsTenant("dflt") })
	time.Sleep(time.Second) // a removal of own started with theirs would have ended
	if st := w.status("own"); st[puller.AnnotationResult] != string(puller.Applied) {
		t.Fatalf("own, applied as the puller itself, was removed as another identity: %s", st[puller.AnnotationMessage])
	}
	for _, o := range []string{"named", "dflt", "own"} {
		if w.CMData(o, "k") != "1" {
			t.Fatalf("%s lost its objects", o)
		}
	}
	if w.record("own") == nil {
		t.Fatal("own, applied as the puller itself, was kept for good under a lockdown that forbids acting as the puller")
	}

	// Without the lockdown, dflt is still removed as the account it was applied as,
	// never as the puller; own, applied as the puller, is removed as it.
	w.runUntil(open, nil, puller.RunOptions{Owner: "x", ConfigTime: time.Now(), PruneRemoved: true},
		"own removed", func() bool { return w.CMData("own", "k") == "<absent>" && !w.parentExists("own") })
	time.Sleep(time.Second) // a removal of dflt started with own's would have ended
	if w.CMData("dflt", "k") != "1" || !refusedAsTenant("dflt") {
		t.Fatal("dflt, applied as the lockdown's default account, was removed as another identity")
	}

	bind(true)
	w.runUntil(open, nil, puller.RunOptions{Owner: "x", ConfigTime: time.Now(), PruneRemoved: true}, "named and dflt removed as the tenant", func() bool {
		return w.CMData("named", "k") == "<absent>" && w.CMData("dflt", "k") == "<absent>" && !w.parentExists("named") && !w.parentExists("dflt")
	})
}

// A source taken out of the configuration while pruning is off keeps its objects, and
// the record that would have a later start remove them is cleared; a clearing the
// apiserver refuses (an admission policy on the parent) is tried again, with backoff,
// until it is let through, and the objects stay all along.
func TestKeepOfARemovedSourceIsTriedAgain(t *testing.T) {
	w := newWorld(t, registry.Options{})
	for _, n := range []string{"a", "m"} {
		w.pushSigned(n, "v1", t1, map[string]string{n + ".yaml": cm(n, "1")})
	}
	a, m := w.source("a", "a", "v1"), w.source("m", "m", "v1")
	var logs pullertest.LogBuffer
	p := w.newPuller(puller.Options{Now: time.Now, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	var synced sync.Map
	updates := make(chan puller.Update)
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, []puller.Source{a, m}, puller.RunOptions{Owner: "x", ConfigTime: time.Now(), ConfigDigest: "d0",
			Updates: updates, MinRetry: 200 * time.Millisecond,
			OnResult: func(r *puller.Result, err error) {
				if err == nil {
					synced.Store(r.Source, true)
				}
			}})
	}()
	defer func() { cancel(); <-done }()
	waitUntil(t, "both sources synced", func() bool {
		_, okA := synced.Load("a")
		_, okM := synced.Load("m")
		return okA && okM
	})
	if w.record("m") == nil {
		t.Fatal("m has no removal record after its sync")
	}

	parent := "gitless-m"
	probe := []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":%q}}`, parent, w.NS))
	policy := "deny-keep-" + w.NS
	denyWhen(t, w, policy, fmt.Sprintf("object.metadata.namespace == %q && object.metadata.name == %q", w.NS, parent), w.NS, parent, probe)
	updates <- puller.Update{Sources: []puller.Source{a}, ConfigTime: time.Now(), ConfigDigest: "d1"}
	const warning = "recording that the objects of a source taken out of the configuration stay"
	waitUntil(t, "two refused tries", func() bool { return strings.Count(logs.String(), warning) >= 2 })
	if w.record("m") == nil {
		t.Fatal("m's record was cleared through the policy")
	}
	if err := w.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(w.Ctx, policy, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "m's record cleared once the policy is gone", func() bool { return w.record("m") == nil })
	if w.CMData("m", "k") != "1" || !w.parentExists("m") || w.CMData("a", "k") != "1" {
		t.Fatal("the kept source lost its objects or its parent")
	}
}

// A record signed with another key than the run's (one a process fell back to when the
// key's Secret could not be kept) is signed again by the next sync, so that removal at
// start works once the key is there; one signed with the run's key is not rewritten.
func TestRecordsAreSignedAgainWithTheRunsKey(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("a", "v1.0.0", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("a", "a", "v1.0.0")
	p := w.newPuller(puller.Options{Now: time.Now})
	f0 := time.Now().Add(-time.Hour)
	k1, k2 := []byte(strings.Repeat("1", 32)), []byte(strings.Repeat("2", 32))
	w.runUntil(p, []puller.Source{src}, puller.RunOptions{Owner: "x", ConfigTime: f0, ConfigDigest: "d", RemovalKey: k1}, "a signed record",
		func() bool { r := w.record("a"); return r != nil && r["mac"] != nil })
	mac1 := w.record("a")["mac"]
	w.runUntil(p, []puller.Source{src}, puller.RunOptions{Owner: "x", ConfigTime: f0, ConfigDigest: "d", RemovalKey: k2}, "a signed again",
		func() bool { r := w.record("a"); return r != nil && r["mac"] != nil && r["mac"] != mac1 })
	rv := func() string {
		u, err := w.Get(pullertest.ConfigMaps, w.NS, "gitless-a")
		if err != nil {
			t.Fatal(err)
		}
		return u.GetResourceVersion()
	}
	before := rv()
	w.runUntil(p, []puller.Source{src}, puller.RunOptions{Owner: "x", ConfigTime: f0, ConfigDigest: "d", RemovalKey: k2}, "a synced", func() bool { return true })
	time.Sleep(time.Second)
	if rv() != before {
		t.Fatal("a record signed with the run's key was written again")
	}
}
