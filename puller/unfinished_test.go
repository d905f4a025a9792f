package puller_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
)

// markAsStopped writes, as the puller writes its parent, the mark that n puller
// processes (the last one "dead-pod/1") left when they stopped while syncing d under
// spec: what a puller killed by the artifact it syncs (out of memory) leaves.
func (w *world) markAsStopped(name, d, spec string, n int) {
	w.t.Helper()
	parent, err := w.Kube.CoreV1().ConfigMaps(w.NS).Get(w.Ctx, "gitless-"+name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	mark, _ := json.Marshal(map[string]any{"digest": d, "spec": spec, "process": "dead-pod/1", "starts": n})
	ann := parent.Annotations
	ann[puller.AnnotationSyncing] = string(mark)
	body, _ := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": parent.Name, "namespace": parent.Namespace, "labels": parent.Labels, "annotations": ann}})
	if _, err := w.Kube.CoreV1().ConfigMaps(w.NS).Patch(w.Ctx, parent.Name, types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: apply.FieldManager, Force: ptr(true)}); err != nil {
		w.t.Fatal(err)
	}
}

// An artifact whose syncs never end (the puller killed, out of memory, each time it
// syncs it) is refused once MaxUnfinishedSyncs processes stopped while syncing it, by
// every puller process after (the count is on the parent), with the digest named and
// the last good state kept; fewer stops are tried again. An operator's reconcile
// request tries it once more, and a sync that ends clears the mark. A sync of the new
// digest is marked on the parent before it fetches the artifact.
func TestArtifactWhoseSyncsNeverEndIsRefused(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)
	spec := w.status("app")[puller.AnnotationSpec]

	// Two processes stopped: the third tries, and its sync ends.
	v2 := w.pushSigned("app", "v1", t2, map[string]string{"a.yaml": cm("a", "2")})
	w.markAsStopped("app", v2.Digest.String(), spec, puller.MaxUnfinishedSyncs-1)
	if res := w.mustSync(src); res.Outcome != puller.Applied || w.CMData("a", "k") != "2" {
		t.Fatalf("after %d stops: %+v", puller.MaxUnfinishedSyncs-1, res)
	}
	if st := w.status("app"); st[puller.AnnotationSyncing] != "" {
		t.Fatalf("the mark outlived the sync: %s", st[puller.AnnotationSyncing])
	}

	// Three processes stopped on v3: refused, by this puller and by a new one.
	t3 := t2.Add(time.Hour)
	v3 := w.pushSigned("app", "v1", t3, map[string]string{"a.yaml": cm("a", "3")})
	w.markAsStopped("app", v3.Digest.String(), spec, puller.MaxUnfinishedSyncs)
	for i, p := range []*puller.Puller{w.p, w.p, w.newPuller(puller.Options{})} {
		res, err := p.Sync(w.Ctx, src)
		if !errors.Is(err, puller.ErrUnfinishedSyncs) || !strings.Contains(err.Error(), v3.Digest.String()) || res.Outcome != puller.Failed {
			t.Fatalf("try %d: %v (%+v)", i, err, res)
		}
	}
	st := w.status("app")
	if w.CMData("a", "k") != "2" || st[puller.AnnotationDigest] != v2.Digest.String() || st[puller.AnnotationResult] != string(puller.Failed) ||
		!strings.Contains(st[puller.AnnotationMessage], v3.Digest.String()) || st[puller.AnnotationSyncing] == "" {
		t.Fatalf("the refusal: v2 kept, recorded, named, the mark kept: %v", st)
	}

	// An operator asks: tried once more, and it ends.
	w.requestReconcile("app")
	if res := w.mustSync(src); res.Outcome != puller.Applied || w.CMData("a", "k") != "3" || w.status("app")[puller.AnnotationSyncing] != "" {
		t.Fatalf("after the operator's request: %+v", res)
	}
}

// holdingFirstBlob returns a world whose registry, once armed, holds the first blob
// GET after it (fetching is closed then) until release is closed. With an unsigned
// source and no verification, the first blob fetched is the artifact's.
func holdingFirstBlob(t *testing.T) (w *world, armed *atomic.Bool, fetching, release chan struct{}) {
	armed = new(atomic.Bool)
	fetching, release = make(chan struct{}), make(chan struct{})
	w = newWorld(t, registry.Options{Wrap: func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") && armed.CompareAndSwap(true, false) {
				close(fetching)
				<-release
			}
			h.ServeHTTP(rw, r)
		})
	}})
	return w, armed, fetching, release
}

// A sync of a new digest marks its parent, with the digest and one start, before it
// fetches the artifact, so that a puller killed while fetching, extracting, building
// or applying it leaves the mark; the sync's end clears it.
func TestSyncOfANewDigestIsMarkedWhileItFetches(t *testing.T) {
	w, armed, fetching, release := holdingFirstBlob(t)
	w.push("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	src.InsecureSkipVerify, src.Verify = true, nil
	w.mustSync(src)
	v2 := w.push("app", "v1", t2, map[string]string{"a.yaml": cm("a", "2")})
	armed.Store(true)
	done := make(chan error)
	go func() { _, err := w.sync(src); done <- err }()
	select {
	case <-fetching:
	case err := <-done:
		t.Fatalf("the sync ended without fetching a blob: %v", err)
	}
	var mark struct {
		Digest string
		Starts int
	}
	raw := w.status("app")[puller.AnnotationSyncing]
	close(release)
	if err := json.Unmarshal([]byte(raw), &mark); err != nil || mark.Digest != v2.Digest.String() || mark.Starts != 1 {
		t.Fatalf("the mark while the artifact is fetched: %q", raw)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := w.status("app"); st[puller.AnnotationSyncing] != "" || w.CMData("a", "k") != "2" {
		t.Fatalf("after the sync: %v", st)
	}
}

// An operator's reconcile request lets a refused digest be tried once: the process
// that takes it records it as handled when it marks the sync, so that when the
// artifact kills that process too, the next refuses the digest again instead of
// taking the request for pending and trying it in a crash loop.
func TestRequestedSyncThatNeverEndsIsNotTriedAgain(t *testing.T) {
	w, armed, fetching, release := holdingFirstBlob(t)
	w.push("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	src.InsecureSkipVerify, src.Verify = true, nil
	w.mustSync(src)
	spec := w.status("app")[puller.AnnotationSpec]
	v2 := w.push("app", "v1", t2, map[string]string{"a.yaml": cm("a", "2")})
	w.markAsStopped("app", v2.Digest.String(), spec, puller.MaxUnfinishedSyncs)
	token := w.requestReconcile("app")

	// The process taking the request is killed while it fetches: its context ends
	// and nothing after the mark is written, as when the kernel kills it.
	armed.Store(true)
	ctx, kill := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() { _, err := w.newPuller(puller.Options{}).Sync(ctx, src); done <- err }()
	select {
	case <-fetching:
	case err := <-done:
		t.Fatalf("the requested sync ended without fetching: %v", err)
	}
	st := w.status("app")
	kill()
	close(release)
	<-done
	if st[puller.AnnotationReconcileHandled] != token {
		t.Fatalf("the request is not recorded as handled when the sync is marked: %v", st)
	}
	w.markAsStopped("app", v2.Digest.String(), spec, puller.MaxUnfinishedSyncs+1) // what the killed process left

	res, err := w.newPuller(puller.Options{}).Sync(w.Ctx, src)
	if !errors.Is(err, puller.ErrUnfinishedSyncs) || w.CMData("a", "k") != "1" {
		t.Fatalf("the next process: %v (%+v)", err, res)
	}
}
