package puller_test

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/heap"
	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/manifest/kustomize"
	"github.com/gitless-dev/gitless/puller"
)

// The bounds the memory tests assert (docs/security.md states them).
const (
	maxHeapEndlessTags = 256 << 20
	maxHeapDirArchive  = 128 << 20
	maxHeapAmplifier   = 128 << 20
)

// A registry that pages its tag list forever (pages of 20,000 tags of 120 bytes, 2.4 MB
// each) cannot grow the puller's memory or hold a semver source: the listing stops at
// the list limits within 10 s, the peak heap stays under 256 MiB, nothing is applied
// and the sync is not retried soon. Before the limits, the puller kept every tag of
// every page until the sync's timeout.
func TestEndlessTagListIsStoppedWithBoundedHeap(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "1.0.0", t1, map[string]string{"a.yaml": cm("a", "1")})
	hostile := registry.NewEndlessPager(t, w.Reg, registry.EndlessPages{PerPage: 50000, TagBytes: 8})
	src := w.source("app", "app", "")
	src.URL = "oci://" + hostile.Host + "/app"
	src.Ref = puller.Ref{SemVer: ">=1.0.0"}
	src.Timeout.Duration = 30 * time.Second

	watch := heap.Watch()
	start := time.Now()
	res, err := w.sync(src)
	took := time.Since(start)
	peak := watch.Stop()
	t.Logf("stopped after %s, %d pages, %d MiB served; peak heap +%d MiB: %v", took, hostile.Pages.Load(), hostile.Bytes.Load()>>20, peak>>20, err)
	var le *remote.ListLimitError
	if !errors.As(err, &le) || puller.Retry(err) || res.Outcome != puller.Failed {
		t.Fatalf("got %v (%+v), want a list limit error that is not retried soon", err, res)
	}
	if took > 10*time.Second {
		t.Errorf("stopping took %s, want under 10 s", took)
	}
	if peak > maxHeapEndlessTags {
		t.Errorf("peak heap +%d MiB, over %d MiB", peak>>20, maxHeapEndlessTags>>20)
	}
	if w.CMData("a", "k") != "<absent>" {
		t.Fatal("applied although the listing failed")
	}
}

// An archive of a million empty directories (a signed artifact of a compromised CI)
// stops at the entry cap: nothing applied, the peak heap under 128 MiB, and the digest
// is remembered, so the next poll costs one request instead of downloading and
// refusing it again. When the tag moves to a good artifact, it is applied.
func TestMillionDirectoryArchiveIsRefusedOnce(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)

	const dirs = 1_000_000
	bad := w.hostileLevel("v2", gzip.BestSpeed, func(tw *tar.Writer) {
		for i := range dirs {
			tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("d/%d/", i), Typeflag: tar.TypeDir, Mode: 0o755})
		}
	})
	src.Ref.Tag = "v2"
	watch := heap.Watch()
	start := time.Now()
	res, err := w.sync(src)
	took := time.Since(start)
	peak := watch.Stop()
	t.Logf("refused %s in %s (%v) with %d registry requests; peak heap +%d MiB: %v", bad.Digest, took, res.Phases, res.Requests.Registry, peak>>20, err)
	if !errors.Is(err, artifact.ErrTooLarge) || !strings.Contains(err.Error(), fmt.Sprintf("more than %d entries", artifact.DefaultMaxEntries)) {
		t.Fatalf("got %v, want the entry cap", err)
	}
	if peak > maxHeapDirArchive {
		t.Errorf("peak heap +%d MiB, over %d MiB", peak>>20, maxHeapDirArchive>>20)
	}
	if w.CMData("a", "k") != "1" {
		t.Fatal("the hostile artifact changed the cluster")
	}

	// The next poll: one HEAD, no download.
	w.clock.add(time.Minute)
	res, err = w.sync(src)
	if !errors.Is(err, artifact.ErrTooLarge) || res.Requests.Registry != 1 {
		t.Fatalf("second poll: %d registry requests, %v", res.Requests.Registry, err)
	}
	// A puller started since (a restart, another replica) reads the refusal from the
	// parent: one HEAD, no download, the parent not written (the one write is its
	// Warning Event, which each process records once).
	rv := func() string {
		u, err := w.Get(pullertest.ConfigMaps, w.NS, "gitless-app")
		if err != nil {
			t.Fatal(err)
		}
		return u.GetResourceVersion()
	}
	before := rv()
	res, err = w.newPuller(puller.Options{}).Sync(w.Ctx, src)
	if !errors.Is(err, artifact.ErrTooLarge) || res.Requests.Registry != 1 || res.Requests.APIWrites > 1 || rv() != before ||
		!strings.Contains(err.Error(), fmt.Sprintf("more than %d entries", artifact.DefaultMaxEntries)) {
		t.Fatalf("a new puller: %d registry requests, %d writes, %v", res.Requests.Registry, res.Requests.APIWrites, err)
	}
	// A puller with other archive caps (raised, to take it) looks at it again.
	res, err = w.newPuller(puller.Options{Extract: artifact.Limits{MaxEntries: artifact.DefaultMaxEntries + 1}}).Sync(w.Ctx, src)
	if !errors.Is(err, artifact.ErrTooLarge) || res.Requests.Registry < 2 {
		t.Fatalf("other caps: %d registry requests, %v", res.Requests.Registry, err)
	}
	// An operator's request downloads it again (and refuses it again).
	w.requestReconcile("app")
	res, err = w.newPuller(puller.Options{}).Sync(w.Ctx, src)
	if !errors.Is(err, artifact.ErrTooLarge) || res.Requests.Registry < 2 {
		t.Fatalf("requested: %d registry requests, %v", res.Requests.Registry, err)
	}

	// The tag moves on: the new artifact is fetched and applied.
	w.pushSigned("app", "v2", t2, map[string]string{"a.yaml": cm("a", "2")})
	w.mustSync(src)
	if w.CMData("a", "k") != "2" || w.status("app")[puller.AnnotationRefused] != "" {
		t.Fatal("the good artifact after the refused one was not applied, or the refusal stayed recorded")
	}
}

// A signed artifact of 1 MiB whose kustomization names that file 300 times in a
// configMapGenerator (kustomize reads it 300 times: gigabytes of heap, minutes of CPU
// under the build lock every source shares) fails its build at the read that goes
// over the artifact's cap on content (16 MiB here): nothing applied, the peak heap
// bounded, the digest remembered as refused, and the error names the artifact.
func TestAmplifyingKustomizationIsRefused(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.p = w.newPuller(puller.Options{Extract: artifact.Limits{MaxTotalSize: 16 << 20}})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)

	var k strings.Builder
	k.WriteString("resources: [a.yaml]\nconfigMapGenerator:\n- name: big\n  namespace: NS\n  files:\n")
	for i := range 300 {
		fmt.Fprintf(&k, "  - k%d=big.txt\n", i)
	}
	bad := w.pushSigned("app", "v2", t2, map[string]string{"a.yaml": cm("a", "2"), "big.txt": strings.Repeat("x", 1<<20), "kustomization.yaml": k.String()})
	src.Ref.Tag = "v2"
	watch := heap.Watch()
	res, err := w.sync(src)
	peak := watch.Stop()
	t.Logf("peak heap +%d MiB: %.300v", peak>>20, err)
	if !errors.Is(err, kustomize.ErrTooLarge) || res.Outcome != puller.Failed || !strings.Contains(err.Error(), bad.Repo()) {
		t.Fatalf("got %v (%+v), want the build budget's error naming %s", err, res.Outcome, bad.Repo())
	}
	if peak > maxHeapAmplifier {
		t.Errorf("peak heap +%d MiB, over %d MiB", peak>>20, maxHeapAmplifier>>20)
	}
	if w.CMData("a", "k") != "1" {
		t.Fatal("the hostile artifact changed the cluster")
	}
	// Refused for what it holds: the next poll does not download it again.
	w.clock.add(time.Minute)
	if res, err = w.sync(src); !errors.Is(err, kustomize.ErrTooLarge) || res.Requests.Registry != 1 {
		t.Fatalf("second poll: %d registry requests, %v", res.Requests.Registry, err)
	}
}
