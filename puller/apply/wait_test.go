package apply_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/puller/apply"
)

func TestWaitForReadiness(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-wait")
	// No controller-manager runs here: the Deployment never rolls out by itself.
	_, err := f.sync(f.applier, parent, f.objects(v1), apply.SyncOptions{Prune: true, Wait: true, WaitTimeout: 2 * time.Second})
	// The reason is what the object says, not the poll's own deadline.
	if !errors.Is(err, apply.ErrNotReady) || !strings.Contains(err.Error(), "Deployment.apps "+f.Target+"/web") || strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v", err)
	}
	// Until it is ready nothing is pruned: v2 drops b, and b stays while web is not ready.
	_, err = f.sync(f.applier, parent, f.objects(v2), apply.SyncOptions{Prune: true, Wait: true, WaitTimeout: time.Second})
	if !errors.Is(err, apply.ErrNotReady) {
		t.Fatalf("err = %v", err)
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "b"); err != nil {
		t.Fatalf("b was pruned before the set was ready: %v", err)
	}

	// Play the Deployment controller.
	go func() {
		time.Sleep(500 * time.Millisecond)
		d := f.mustGet(pullertest.Deployments, f.Target, "web")
		st := fmt.Sprintf(`{"status":{"observedGeneration":%d,"replicas":1,"updatedReplicas":1,"readyReplicas":1,"availableReplicas":1}}`, d.GetGeneration())
		if _, err := f.Dyn.Resource(pullertest.Deployments).Namespace(f.Target).Patch(f.Ctx, "web", types.MergePatchType, []byte(st), metav1.PatchOptions{}, "status"); err != nil {
			t.Error(err)
		}
	}()
	cs, err := f.sync(f.applier, parent, f.objects(v2), apply.SyncOptions{Prune: true, Wait: true, WaitTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(cs); got["ConfigMap b"] != apply.Pruned {
		t.Fatalf("%v", got)
	}
}

// A rollout that has failed for good (the Deployment controller says its progress
// deadline passed) ends the wait at once, as Flux's does, instead of at the timeout:
// the error names the object and what its controller said, and nothing is pruned.
func TestWaitStopsAtAFailedRollout(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-wait-failed")
	f.mustSync(f.applier, parent, f.objects(v1), apply.SyncOptions{Prune: true})

	// Play the Deployment controller: the rollout of v2's generation gave up.
	go func() {
		time.Sleep(500 * time.Millisecond)
		d := f.mustGet(pullertest.Deployments, f.Target, "web")
		st := fmt.Sprintf(`{"status":{"observedGeneration":%d,"replicas":1,"updatedReplicas":1,"conditions":[
			{"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded","message":"ReplicaSet \"web-1\" has timed out progressing."}]}}`, d.GetGeneration())
		if _, err := f.Dyn.Resource(pullertest.Deployments).Namespace(f.Target).Patch(f.Ctx, "web", types.MergePatchType, []byte(st), metav1.PatchOptions{}, "status"); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	_, err := f.sync(f.applier, parent, f.objects(v2), apply.SyncOptions{Prune: true, Wait: true, WaitTimeout: time.Minute})
	took := time.Since(start)
	if !errors.Is(err, apply.ErrNotReady) || !strings.Contains(err.Error(), "Deployment.apps "+f.Target+"/web") ||
		!strings.Contains(err.Error(), `failed: Progressing ProgressDeadlineExceeded: ReplicaSet "web-1" has timed out progressing.`) {
		t.Fatalf("err = %v", err)
	}
	if took > 20*time.Second {
		t.Fatalf("the wait went on %s after the rollout failed", took)
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "b"); err != nil {
		t.Fatalf("b was pruned though the rollout failed: %v", err)
	}
}

// A Job removed while the sync waits for it (its ttlSecondsAfterFinished, when it
// completes quickly) counts as done, as Flux counts it, instead of a timeout.
func TestWaitCountsAJobGoneAsDone(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-wait-ttl")
	go func() {
		time.Sleep(time.Second)
		bg := metav1.DeletePropagationBackground
		f.Kube.BatchV1().Jobs(f.Target).Delete(f.Ctx, "migrate", metav1.DeleteOptions{PropagationPolicy: &bg})
	}()
	_, err := f.sync(f.applier, parent, f.objects(job("migrate", "busybox:1", "", "")), apply.SyncOptions{Wait: true, WaitTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
}

// A wait as long as the sync's own deadline ends a little before it: the error names
// what is not ready (a sync's timeout, as Flux's wait has all of it), rather than the
// end of the context with nothing said of the objects.
func TestWaitEndsBeforeTheSyncsDeadline(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-wait-deadline")
	ctx, cancel := context.WithTimeout(f.Ctx, 5*time.Second)
	defer cancel()
	st, err := f.applier.ReadParent(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.applier.Apply(ctx, st, f.objects(v1), apply.SyncOptions{Wait: true, WaitTimeout: 5 * time.Second})
	if !errors.Is(err, apply.ErrNotReady) || !strings.Contains(err.Error(), "Deployment.apps "+f.Target+"/web") || ctx.Err() != nil {
		t.Fatalf("err = %v (ctx: %v)", err, ctx.Err())
	}
}

// Health checks (WaitHealthy) name objects that may not be of the set: a Job that is
// not there is not ready (a Job of the set gone through its TTL counts as done, one
// that never existed does not); a namespaced object named without a namespace, whose
// CRD comes during the wait, is looked for in the namespace given once its kind is
// known.
func TestWaitHealthy(t *testing.T) {
	f := newFixture(t)
	err := f.applier.WaitHealthy(f.Ctx, []apply.ObjectRef{{Group: "batch", Version: "v1", Kind: "Job", Namespace: f.Target, Name: "migrate"}}, "", 2*time.Second)
	if !errors.Is(err, apply.ErrNotReady) || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("a Job that is not there: err = %v, want not ready", err)
	}

	group := strings.TrimPrefix(f.Target, "apps-") + ".late.example.com"
	go func() {
		time.Sleep(time.Second)
		for _, doc := range []string{pullertest.OpenCRD(group, "Gadget"), fmt.Sprintf("apiVersion: %s/v1\nkind: Gadget\nmetadata: {name: db, namespace: %s}\n", group, f.Target)} {
			for try := 0; ; try++ {
				_, err := f.sync(f.applier, f.parent("gitless-late-"+fmt.Sprint(try)), f.objects(doc), apply.SyncOptions{})
				if err == nil {
					break
				}
				if try == 20 {
					t.Error(err)
					return
				}
				time.Sleep(250 * time.Millisecond)
			}
		}
	}()
	err = f.applier.WaitHealthy(f.Ctx, []apply.ObjectRef{{Group: group, Version: "v1", Kind: "Gadget", Name: "db"}}, f.Target, 30*time.Second)
	if err != nil {
		t.Fatalf("a Gadget in %s, its CRD created during the wait: %v", f.Target, err)
	}
}
