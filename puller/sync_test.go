package puller_test

import (
	"errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

var (
	t1 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 = t1.Add(time.Hour)
)

func TestSyncAppliesThenUpdatesAndPrunes(t *testing.T) {
	w := newWorld(t, registry.Options{})
	v1 := w.pushSigned("app", "v1.0.0", t1, map[string]string{"a.yaml": cm("a", "1"), "b.yaml": cm("b", "1")})
	src := w.source("app", "app", "v1.0.0")
	res := w.mustSync(src)
	if res.Outcome != puller.Applied || res.Created != 2 || res.Digest != v1.Digest || !strings.HasPrefix(res.Signer, "key ") || res.Revision == "" {
		t.Fatalf("v1: %+v", res)
	}
	st := w.status("app")
	if st[puller.AnnotationDigest] != v1.Digest.String() || st[puller.AnnotationResult] != "Applied" || st[puller.AnnotationSigner] != res.Signer || st[puller.AnnotationTag] != "v1.0.0" {
		t.Fatalf("status %v", st)
	}
	if countPrefix(w.events("app"), "Normal Applied") != 1 {
		t.Fatalf("events %v", w.events("app"))
	}

	v2 := w.pushSigned("app", "v2.0.0", t2, map[string]string{"a.yaml": cm("a", "2"), "c.yaml": cm("c", "1")})
	src.Ref.Tag = "v2.0.0"
	res = w.mustSync(src)
	if res.Created != 1 || res.Configured != 1 || res.Pruned != 1 || res.Digest != v2.Digest {
		t.Fatalf("v2: %+v", res)
	}
	if w.CMData("a", "k") != "2" || w.CMData("b", "k") != "<absent>" || w.CMData("c", "k") != "1" {
		t.Fatal("cluster does not hold v2")
	}
}

func TestNoChangePollIsOneRequestAndNoWrite(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "latest", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "latest")
	w.mustSync(src)
	for i := range 3 {
		w.clock.add(time.Minute)
		res := w.mustSync(src)
		if res.Outcome != puller.UpToDate || res.Requests.Registry != 1 || res.Requests.APIWrites != 0 {
			t.Fatalf("poll %d: %+v", i, res)
		}
	}
	// A fresh puller (a new process, `sync --once`) knows the applied digest from the
	// parent: the same single request.
	res, err := w.newPuller(puller.Options{}).Sync(w.Ctx, src)
	if err != nil || res.Outcome != puller.UpToDate || res.Requests.Registry != 1 || res.Requests.APIWrites != 0 {
		t.Fatalf("fresh puller: %+v %v", res, err)
	}
}

func TestUnsignedAndWronglySignedArtifactsAreNeverApplied(t *testing.T) {
	w := newWorld(t, registry.Options{})
	unsigned := w.push("app", "unsigned", t1, map[string]string{"a.yaml": cm("a", "0")})
	src := w.source("app", "app", "unsigned")
	res, err := w.sync(src)
	if !errors.Is(err, verify.ErrVerificationFailed) || !errors.Is(err, verify.ErrNoSignatures) || res.Outcome != puller.Failed {
		t.Fatalf("unsigned: %v %+v", err, res)
	}
	if w.CMData("a", "k") != "<absent>" {
		t.Fatal("an unsigned artifact was applied")
	}
	if got := w.events("app"); countPrefix(got, "Warning VerificationFailed") != 1 {
		t.Fatalf("events %v", got)
	}
	if st := w.status("app"); st[puller.AnnotationResult] != "Failed" || st[puller.AnnotationDigest] != "" {
		t.Fatalf("status %v", st)
	}
	// No retry storm: not retried before the next poll (Retry false), and the event is
	// not repeated. A digest without any signature is looked at again at the next
	// poll, though: CI tags before it signs, and the signature may follow.
	res, err = w.sync(src)
	if !errors.Is(err, verify.ErrNoSignatures) || res.Requests.APIWrites != 0 || puller.Retry(err) || w.CMData("a", "k") != "<absent>" {
		t.Fatalf("second poll: %v %+v", err, res)
	}
	if got := w.events("app"); countPrefix(got, "Warning VerificationFailed") != 1 {
		t.Fatalf("events %v", got)
	}
	w.Sign(unsigned)
	if res := w.mustSync(src); res.Outcome != puller.Applied || w.CMData("a", "k") != "0" {
		t.Fatalf("signed since: %+v", res)
	}
	if err := w.Kube.CoreV1().ConfigMaps(w.Target).Delete(w.Ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}

	// Signed, but by another key.
	other, _ := newKey(t)
	ref := w.push("app", "other-key", t1, map[string]string{"a.yaml": cm("a", "1")})
	if _, err := w.Signer.Sign(w.Ctx, ref, sign.Options{Key: other, Format: verify.FormatCosign}); err != nil {
		t.Fatal(err)
	}
	src.Ref.Tag = "other-key"
	if _, err := w.sync(src); !errors.Is(err, verify.ErrVerificationFailed) || errors.Is(err, verify.ErrNoSignatures) {
		t.Fatalf("wrong key: %v", err)
	}
	if w.CMData("a", "k") != "<absent>" {
		t.Fatal("a wrongly signed artifact was applied")
	}
}
