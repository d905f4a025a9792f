package puller_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
)

// seed pushes the layout of the issue: infra-controllers (a CRD) → infra-configs (a
// resource of that CRD) → apps.
func seed(w *world) []puller.Source {
	group := w.Target + ".example.com"
	crd := pullertest.CRD(group, "Issuer")
	w.pushSigned("infra-controllers", "v1", t1, map[string]string{"crd.yaml": crd})
	w.pushSigned("infra-configs", "v1", t1, map[string]string{"issuer.yaml": "apiVersion: " + group + "/v1\nkind: Issuer\nmetadata:\n  name: letsencrypt\n  namespace: NS\nspec: {acme: true}\n"})
	w.pushSigned("apps", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	controllers := w.source("infra-controllers", "infra-controllers", "v1")
	configs := w.source("infra-configs", "infra-configs", "v1")
	configs.DependsOn = []string{"infra-controllers"}
	apps := w.source("apps", "apps", "v1")
	apps.DependsOn = []string{"infra-configs"}
	return []puller.Source{apps, configs, controllers}
}

// seededRun is a world with seed's sources, polled every interval, and a puller on the
// real clock to Run them.
func seededRun(t *testing.T, interval time.Duration) (*world, *puller.Puller, []puller.Source) {
	t.Helper()
	w := newWorld(t, registry.Options{})
	w.clock = &clock{t: time.Now()}
	p := w.newPuller(puller.Options{Now: time.Now})
	sources := seed(w)
	for i := range sources {
		sources[i].Interval = metav1.Duration{Duration: interval}
	}
	return w, p, sources
}

func TestDependsOnOrder(t *testing.T) {
	w := newWorld(t, registry.Options{})
	sources := seed(w)
	results, err := w.p.SyncAll(w.Ctx, sources)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range results {
		order = append(order, r.Source)
		if r.Outcome != puller.Applied || r.Created != 1 {
			t.Fatalf("%+v", r)
		}
	}
	if !slices.Equal(order, []string{"infra-controllers", "infra-configs", "apps"}) {
		t.Fatalf("order %v", order)
	}

	// Applied alone, the configs fail (their kind does not exist yet), and what
	// depends on a failed source is not run.
	w2 := newWorld(t, registry.Options{})
	sources = seed(w2)
	sources[1].DependsOn = nil // configs no longer wait for the controllers
	results, err = w2.p.SyncAll(w2.Ctx, sources[:2])
	if !errors.Is(err, puller.ErrDependency) || len(results) != 2 || results[1].Source != "apps" || !strings.Contains(results[1].Error, "infra-configs") {
		t.Fatalf("%v %+v", err, results)
	}
	if w2.CMData("a", "k") != "<absent>" {
		t.Fatal("apps ran after its dependency failed")
	}

	// A cycle or an unknown name is a configuration error naming the field.
	sources = seed(w)
	sources[2].DependsOn = []string{"apps"}
	if _, err := puller.Order(sources); !errors.Is(err, puller.ErrInvalidSource) || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("err = %v", err)
	}
	sources[2].DependsOn = []string{"nope"}
	if _, err := puller.Order(sources); err == nil || !strings.Contains(err.Error(), "sources[2].dependsOn[0]") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunKeepsSourcesSynced(t *testing.T) {
	w, p, sources := seededRun(t, time.Second)
	ctx, cancel := context.WithCancel(w.Ctx)
	var mu sync.Mutex
	var results []*puller.Result
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, sources, puller.RunOptions{OnResult: func(r *puller.Result, err error) {
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}})
	}()
	waitUntil(t, "all sources ready", func() bool { ok, _ := p.Health().Ready(); return ok })
	waitUntil(t, "a poll that finds nothing new", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(results, func(r *puller.Result) bool { return r.Outcome == puller.UpToDate })
	})
	// A new artifact is picked up at the next poll.
	w.pushSigned("apps", "v1", t2, map[string]string{"a.yaml": cm("a", "2")})
	waitUntil(t, "the new artifact", func() bool { return w.CMData("a", "k") == "2" })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	upToDate := 0
	for _, r := range results {
		if r.Outcome == puller.UpToDate {
			upToDate++
			if r.Requests.APIWrites != 0 || r.Requests.Registry != 1 {
				t.Fatalf("%+v", r)
			}
		}
	}
	if upToDate == 0 {
		t.Fatal("no poll found the sources up to date")
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	pullertest.WaitUntil(t, 30*time.Second, what, cond)
}

// Health.Trigger (what a webhook receiver calls) syncs a source at once, not at its
// next poll; an unknown source is reported as such.
func TestTriggerSyncsAtOnce(t *testing.T) {
	w, p, sources := seededRun(t, time.Hour)
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() { done <- p.Run(ctx, sources, puller.RunOptions{}) }()
	waitUntil(t, "all sources ready", func() bool { ok, _ := p.Health().Ready(); return ok })
	w.pushSigned("apps", "v1", t2, map[string]string{"a.yaml": cm("a", "2")})
	if !p.Health().Trigger("apps") {
		t.Fatal("apps is a known source")
	}
	if p.Health().Trigger("nope") {
		t.Fatal("nope is not a source")
	}
	waitUntil(t, "the triggered sync", func() bool { return w.CMData("a", "k") == "2" })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
