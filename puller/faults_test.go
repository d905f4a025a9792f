package puller_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/verify"
)

func TestRegistryDownOrTagDeletedKeepsTheLastState(t *testing.T) {
	dir := t.TempDir()
	w := newWorld(t, registry.Options{RootDir: dir})
	w.pushSigned("app", "prod", t1, map[string]string{"a.yaml": cm("a", "1"), "b.yaml": cm("b", "1")})
	src := w.source("app", "app", "prod")
	w.mustSync(src)
	before := w.status("app")[puller.AnnotationDigest]

	// The registry goes away.
	host := w.Reg.Host()
	if err := w.Reg.Close(); err != nil {
		t.Fatal(err)
	}
	w.clock.add(time.Hour) // a drift check is due too
	res, err := w.sync(src)
	if err == nil || !puller.Retry(err) || res.Outcome != puller.Failed || !strings.Contains(err.Error(), "cannot reach registry") {
		t.Fatalf("registry down: %v %+v", err, res)
	}
	if w.CMData("a", "k") != "1" || w.CMData("b", "k") != "1" {
		t.Fatal("objects changed while the registry was down")
	}
	st := w.status("app")
	if st[puller.AnnotationDigest] != before || st[puller.AnnotationResult] != "Failed" {
		t.Fatalf("status %v", st)
	}

	// It comes back, with a new artifact on the tag: the puller recovers.
	reg, err := registry.Start(w.Ctx, registry.Options{RootDir: dir, Addr: host})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	w.Reg = reg
	w.pushSigned("app", "prod", t2, map[string]string{"a.yaml": cm("a", "2")})
	res = w.mustSync(src)
	if res.Configured != 1 || res.Pruned != 1 || w.CMData("b", "k") != "<absent>" {
		t.Fatalf("recovered: %+v", res)
	}

	// The tag is deleted: nothing is pruned, the state is kept.
	req, _ := http.NewRequestWithContext(w.Ctx, http.MethodDelete, reg.URL()+"/v2/app/manifests/prod", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting the tag: %v %v", err, resp)
	}
	resp.Body.Close()
	w.clock.add(time.Hour)
	_, err = w.sync(src)
	if !errors.Is(err, remote.ErrNotFound) || !puller.Retry(err) {
		t.Fatalf("tag deleted: %v", err)
	}
	if w.CMData("a", "k") != "2" {
		t.Fatal("objects changed after the tag was deleted")
	}
}

// swapVerifier verifies with the real verifier, then moves the tag to another artifact
// before the puller fetches: a registry (or someone with push rights) racing the check.
type swapVerifier struct {
	real puller.Verifier
	swap func()
}

func (v swapVerifier) Verify(ctx context.Context, ref artifact.Reference, p *verify.Policy) (*verify.Result, error) {
	res, err := v.real.Verify(ctx, ref, p)
	v.swap()
	return res, err
}

func TestTagSwappedBetweenVerifyAndFetch(t *testing.T) {
	w := newWorld(t, registry.Options{})
	good := w.pushSigned("app", "prod", t1, map[string]string{"a.yaml": cm("a", "good")})
	var evil artifact.Reference
	p := w.newPuller(puller.Options{NewVerifier: func(o puller.VerifierOptions) puller.Verifier {
		real := verify.New(verify.Options{Credentials: o.Credentials, Insecure: o.Insecure, HTTPClient: o.HTTPClient})
		return swapVerifier{real: real, swap: func() {
			evil = w.push("app", "prod", t2, map[string]string{"a.yaml": cm("a", "evil"), "x.yaml": cm("x", "evil")})
		}}
	}})
	res, err := p.Sync(w.Ctx, w.source("app", "app", "prod"))
	if err != nil {
		t.Fatal(err)
	}
	if evil.Digest == "" || evil.Digest == good.Digest {
		t.Fatal("the tag was not swapped")
	}
	if res.Digest != good.Digest || w.CMData("a", "k") != "good" || w.CMData("x", "k") != "<absent>" {
		t.Fatalf("applied %s (%s), want the verified %s", res.Digest, w.CMData("a", "k"), good.Digest)
	}
	// The next poll sees the swapped tag, and the unsigned artifact is refused.
	if _, err := p.Sync(w.Ctx, w.source("app", "app", "prod")); !errors.Is(err, verify.ErrVerificationFailed) {
		t.Fatalf("err = %v", err)
	}
	if w.CMData("a", "k") != "good" {
		t.Fatal("the swapped artifact was applied")
	}
}

func TestInvalidObjectNothingAppliedAndNamed(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)
	// v2: a changed, plus an object of a kind the cluster does not serve.
	w.pushSigned("app", "v2", t2, map[string]string{"a.yaml": cm("a", "2"),
		"w.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: NS\n"})
	src.Ref.Tag = "v2"
	_, err := w.sync(src)
	if !errors.Is(err, apply.ErrInvalidObject) || !strings.Contains(err.Error(), "Widget.example.com "+w.Target+"/w") {
		t.Fatalf("err = %v", err)
	}
	if w.CMData("a", "k") != "1" {
		t.Fatal("a was changed")
	}
	if msg := w.status("app")[puller.AnnotationMessage]; !strings.Contains(msg, "Widget.example.com "+w.Target+"/w") {
		t.Fatalf("status message %q", msg)
	}
	// A document without metadata.name is refused by the build, with its file and line.
	w.pushSigned("app", "v3", t2, map[string]string{"a.yaml": cm("a", "3"), "bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"})
	src.Ref.Tag = "v3"
	if _, err := w.sync(src); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Fatalf("err = %v", err)
	}
	if w.CMData("a", "k") != "1" {
		t.Fatal("a was changed")
	}
}

func TestEmptyArtifactRefusedUnlessAllowed(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)
	w.pushSigned("app", "v2", t2, map[string]string{"README.md": "nothing to apply\n"})
	src.Ref.Tag = "v2"
	if _, err := w.sync(src); !errors.Is(err, render.ErrEmpty) {
		t.Fatalf("err = %v", err)
	}
	if w.CMData("a", "k") != "1" {
		t.Fatal("a was pruned by an empty artifact")
	}
	src.AllowEmpty = true
	res := w.mustSync(src)
	if res.Pruned != 1 || w.CMData("a", "k") != "<absent>" {
		t.Fatalf("%+v", res)
	}
}

// hostile pushes (and signs: the signer is compromised, not the registry) an artifact
// whose layer holds the given tar entries.
func (w *world) hostile(tag string, entries func(tw *tar.Writer)) artifact.Reference {
	w.t.Helper()
	return w.hostileLevel(tag, gzip.DefaultCompression, entries)
}

// hostileLevel is hostile with the gzip level given (BestSpeed for huge archives).
func (w *world) hostileLevel(tag string, level int, entries func(tw *tar.Writer)) artifact.Reference {
	w.t.Helper()
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, level)
	tw := tar.NewWriter(gz)
	tw.WriteHeader(&tar.Header{Name: "a.yaml", Mode: 0o644, Size: int64(len(cm("a", "hostile"))), Typeflag: tar.TypeReg})
	tw.Write([]byte(strings.ReplaceAll(cm("a", "hostile"), "NS", w.Target)))
	entries(tw)
	tw.Close()
	gz.Close()
	data := buf.Bytes()
	m, err := artifact.NewManifest(ocispec.Descriptor{MediaType: artifact.ContentMediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}, artifact.Metadata{Created: t2})
	if err != nil {
		w.t.Fatal(err)
	}
	ref, _ := artifact.ParseReference(w.URL("app") + ":" + tag)
	res, err := w.Client.PushManifest(w.Ctx, ref, m, data, remote.PushOptions{Policy: artifact.TagPolicy{AllowOverwrite: true}})
	if err != nil {
		w.t.Fatal(err)
	}
	w.Sign(res.Reference)
	return res.Reference
}

func TestHostileTarIsRefused(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)
	for _, tc := range []struct {
		name    string
		entries func(*tar.Writer)
		want    error
	}{
		{"traversal", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "../../etc/evil.yaml", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
			tw.Write([]byte("x"))
		}, artifact.ErrUnsafeArchive},
		{"absolute", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "/etc/evil.yaml", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
			tw.Write([]byte("x"))
		}, artifact.ErrUnsafeArchive},
		{"symlink-escape", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "link", Linkname: "/etc/passwd", Typeflag: tar.TypeSymlink})
		}, artifact.ErrUnsafeArchive},
		{"hardlink", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "hard", Linkname: "a.yaml", Typeflag: tar.TypeLink})
		}, artifact.ErrUnsafeArchive},
		{"fifo", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "fifo", Typeflag: tar.TypeFifo})
		}, artifact.ErrUnsafeArchive},
		{"bomb", func(tw *tar.Writer) {
			// 40 MiB of zeros, a few dozen KiB compressed, over the 32 MiB per-file cap.
			const n = 40 << 20
			tw.WriteHeader(&tar.Header{Name: "bomb.yaml", Mode: 0o644, Size: n, Typeflag: tar.TypeReg})
			tw.Write(make([]byte, n))
		}, artifact.ErrTooLarge},
		// Refused by the extraction, not left to the file system's "file exists" or
		// "file name too long", which would be tried (and downloaded) again.
		{"file-under-file", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: "x", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
			tw.Write([]byte("x"))
			tw.WriteHeader(&tar.Header{Name: "x/y.yaml", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
			tw.Write([]byte("y"))
		}, artifact.ErrUnsafeArchive},
		{"long-name", func(tw *tar.Writer) {
			tw.WriteHeader(&tar.Header{Name: strings.Repeat("n", 300) + ".yaml", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
			tw.Write([]byte("x"))
		}, artifact.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.t = t
			w.hostile(tc.name, tc.entries)
			s := src
			s.Ref.Tag = tc.name
			_, err := w.sync(s)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if w.CMData("a", "k") != "1" {
				t.Fatal("the hostile artifact was applied")
			}
			// Refused for what it holds: the next poll is the tag's HEAD only, not a
			// verification and a download again.
			w.clock.add(time.Minute)
			res, err := w.sync(s)
			if !errors.Is(err, tc.want) || res.Requests.Registry != 1 {
				t.Fatalf("the next poll: err = %v, %d registry requests, want the same refusal after 1", err, res.Requests.Registry)
			}
		})
	}
}

// A signed manifest that is not an artifact (another tool's image, signed with the same
// key) is refused for what its digest holds: the next poll is the tag's HEAD only, not a
// verification and a manifest fetch again.
func TestSignedImageThatIsNoArtifactIsRefusedOnce(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)
	ref, err := artifact.ParseReference(w.URL("app") + ":img")
	if err != nil {
		t.Fatal(err)
	}
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	cd := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: digest.FromBytes(cfg), Size: int64(len(cfg))}
	if err := w.Client.PushBlob(w.Ctx, ref, cd, cfg); err != nil {
		t.Fatal(err)
	}
	mb := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[]}`,
		ocispec.MediaTypeImageManifest, cd.MediaType, cd.Digest, cd.Size))
	md := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
	if err := w.Client.PutManifest(w.Ctx, ref, md, mb, "img"); err != nil {
		t.Fatal(err)
	}
	w.Sign(ref.WithDigest(md.Digest))
	src.Ref.Tag = "img"
	for i, want := range []int64{-1, 1} {
		res, err := w.sync(src)
		if !errors.Is(err, artifact.ErrInvalidManifest) || !strings.Contains(err.Error(), "not a Flux/gitless artifact") {
			t.Fatalf("poll %d: err = %v, want the image refused as no artifact", i+1, err)
		}
		if want > 0 && res.Requests.Registry != want {
			t.Fatalf("poll %d: %d registry requests, want %d", i+1, res.Requests.Registry, want)
		}
		w.clock.add(time.Minute)
	}
	if w.CMData("a", "k") != "1" {
		t.Fatal("the last good state was lost")
	}
}

// An artifact (of a source acting as the puller, which may write in the puller's
// namespace) that holds another source's ApplySet parent, or what the puller keeps for
// itself, is refused before anything is applied: taken over by the same field manager,
// the parent would lose its ID, tooling and last good digest, and be pruned with the set.
func TestArtifactCannotTakeOverThePullersOwnObjects(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("other", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	other := w.source("other", "other", "v1")
	w.mustSync(other)
	digest := w.status("other")[puller.AnnotationDigest]
	own := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "owner.config-time", Namespace: w.NS,
		Labels: map[string]string{apply.LabelManagedBy: apply.ToolName}}, Data: map[string]string{"configTime": "x"}}
	if _, err := w.Kube.CoreV1().ConfigMaps(w.NS).Create(w.Ctx, own, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{w.p.Parent("other").Name, own.Name} {
		tag := strings.ReplaceAll(name, ".", "-")
		taken := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  k: taken\n", name, w.NS)
		w.pushSigned("mine", tag, t1, map[string]string{"taken.yaml": taken, "b.yaml": cm("b", "mine")})
		_, err := w.sync(w.source("mine", "mine", tag))
		if !errors.Is(err, apply.ErrForeignObject) || !strings.Contains(err.Error(), "ConfigMap "+w.NS+"/"+name) {
			t.Fatalf("%s: err = %v, want it refused as another's", name, err)
		}
		if w.CMData("b", "k") != "<absent>" {
			t.Fatalf("%s: the rest of the set was applied", name)
		}
	}
	parent, err := w.Get(pullertest.ConfigMaps, w.NS, w.p.Parent("other").Name)
	if err != nil || parent.GetLabels()[apply.LabelID] != w.p.Parent("other").ID() || parent.GetAnnotations()[puller.AnnotationDigest] != digest {
		t.Fatalf("the other source's parent changed: %v %v", err, parent)
	}
	w.clock.add(time.Hour)
	w.mustSync(other)
}

func TestObjectOfAnotherSourceIsUntouched(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("one", "v1", t1, map[string]string{"shared.yaml": cm("shared", "one")})
	w.pushSigned("two", "v1", t1, map[string]string{"shared.yaml": cm("shared", "two"), "b.yaml": cm("b", "two")})
	w.mustSync(w.source("one", "one", "v1"))
	_, err := w.sync(w.source("two", "two", "v1"))
	if !errors.Is(err, apply.ErrForeignObject) || !strings.Contains(err.Error(), "ConfigMap "+w.Target+"/shared") {
		t.Fatalf("err = %v", err)
	}
	if w.CMData("shared", "k") != "one" || w.CMData("b", "k") != "<absent>" {
		t.Fatal("the other source's object was touched")
	}
}

func TestAdmissionDenialOnTheFifthObjectIsNamedAndNothingPruned(t *testing.T) {
	w := newWorld(t, registry.Options{})
	files := map[string]string{}
	for _, n := range []string{"1", "2", "3", "4", "old"} {
		files["cm-"+n+".yaml"] = cm("cm-"+n, "v1")
	}
	w.pushSigned("app", "v1", t1, files)
	src := w.source("app", "app", "v1")
	w.mustSync(src)
	denyConfigMap(t, w, "fifth")

	// v2 changes four objects, drops one, and adds a fifth that admission denies.
	files = map[string]string{"cm-5.yaml": cm("fifth", "v2")}
	for _, n := range []string{"1", "2", "3", "4"} {
		files["cm-"+n+".yaml"] = cm("cm-"+n, "v2")
	}
	w.pushSigned("app", "v2", t2, files)
	src.Ref.Tag = "v2"
	res, err := w.sync(src)
	if !errors.Is(err, apply.ErrDryRun) || res.Requests.APIWrites > 3 { // the mark of the sync (AnnotationSyncing), the status annotation and the event
		t.Fatalf("err = %v, %+v", err, res.Requests)
	}
	msg := w.status("app")[puller.AnnotationMessage]
	if !strings.Contains(msg, "ConfigMap "+w.Target+"/fifth") || !strings.Contains(msg, "denied") {
		t.Fatalf("status message %q", msg)
	}
	// Tried again, failing the same way: nothing written (the mark stays, ended).
	if res, err := w.sync(src); !errors.Is(err, apply.ErrDryRun) || res.Requests.APIWrites != 0 {
		t.Fatalf("the retry: err = %v, %+v", err, res.Requests)
	}
	for _, n := range []string{"1", "2", "3", "4", "old"} {
		if got := w.CMData("cm-"+n, "k"); got != "v1" {
			t.Fatalf("cm-%s is %q", n, got)
		}
	}
}

// The last write of a sync, the parent's new status, is refused after every object was
// applied and pruned: the parent records the failure on top of the last good state (the
// digest applied before, the new one as attempted; the wider scope), not a mixed one
// that names the new digest as applied; a move of the tag back to the digest recorded
// is applied again, not taken for up to date; the next sync of the new one records it.
func TestFinalParentWriteRefusedKeepsTheLastGoodStatus(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1"), "b.yaml": cm("b", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)
	before := w.status("app")[puller.AnnotationDigest]

	v2 := w.pushSigned("app", "v2", t2, map[string]string{"a.yaml": cm("a", "2")})
	parent := "gitless-app"
	probe := fmt.Appendf(nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":%q,"annotations":{%q:%q}}}`,
		parent, w.NS, puller.AnnotationDigest, v2.Digest)
	cond := fmt.Sprintf("object.metadata.namespace == %q && object.metadata.name == %q && has(object.metadata.annotations) && "+
		"%q in object.metadata.annotations && object.metadata.annotations[%q] == %q",
		w.NS, parent, puller.AnnotationDigest, puller.AnnotationDigest, v2.Digest.String())
	policy := "deny-parent-" + w.Target
	denyWhen(t, w, policy, cond, w.NS, parent, probe)

	src.Ref.Tag = "v2"
	_, err := w.sync(src)
	if err == nil || !strings.Contains(err.Error(), "writing ApplySet parent") {
		t.Fatalf("err = %v", err)
	}
	if w.CMData("a", "k") != "2" || w.CMData("b", "k") != "<absent>" {
		t.Fatal("the objects were not applied and pruned before the parent write")
	}
	st := w.status("app")
	if st[puller.AnnotationResult] != string(puller.Failed) || st[puller.AnnotationDigest] != before ||
		st[puller.AnnotationAttempted] != v2.Digest.String() || !strings.Contains(st[puller.AnnotationMessage], "denied") {
		t.Fatalf("status after the refused write: %v", st)
	}

	// The tag goes back to v1, the digest the parent records as applied, within the
	// drift interval: the last sync failed, so v1 is applied again (not UpToDate over
	// v2's objects).
	src.Ref.Tag = "v1"
	res, err := w.sync(src)
	if err != nil || res.Outcome != puller.Applied || w.CMData("a", "k") != "1" || w.CMData("b", "k") != "1" {
		t.Fatalf("back to v1: %v %+v; a=%s b=%s", err, res, w.CMData("a", "k"), w.CMData("b", "k"))
	}

	// The policy goes: v2 again is applied and recorded.
	if err := w.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(w.Ctx, policy, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	src.Ref.Tag = "v2"
	for deadline := time.Now().Add(20 * time.Second); ; {
		_, err := w.sync(src)
		if err == nil {
			if w.CMData("a", "k") != "2" || w.CMData("b", "k") != "<absent>" {
				t.Fatal("v2 again: not applied")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retry: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st := w.status("app"); st[puller.AnnotationDigest] != v2.Digest.String() || st[puller.AnnotationResult] != string(puller.Applied) {
		t.Fatalf("status after the retry: %v", st)
	}
}

// A sync cut short after it began writing objects, with no failure recorded (the
// failure write refused too, as a kill or an apiserver lost for good would leave it):
// the parent still says the last digest was applied, but names the one attempted, so a
// puller started afresh does not take a move of the tag back to the recorded digest for
// up to date over the other's objects.
func TestSyncCutShortIsNotTakenForUpToDate(t *testing.T) {
	w := newWorld(t, registry.Options{})
	v1 := w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1"), "b.yaml": cm("b", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)

	v2 := w.pushSigned("app", "v2", t2, map[string]string{"a.yaml": cm("a", "2")})
	parent := "gitless-app"
	probe := fmt.Appendf(nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":%q,"annotations":{%q:%q}}}`,
		parent, w.NS, puller.AnnotationDigest, v2.Digest)
	has := func(key, value string) string {
		return fmt.Sprintf("(%q in object.metadata.annotations && object.metadata.annotations[%q] == %q)", key, key, value)
	}
	// The parent's last write (v2 applied) and the failure record are refused.
	cond := fmt.Sprintf("object.metadata.namespace == %q && object.metadata.name == %q && has(object.metadata.annotations) && (%s || %s)",
		w.NS, parent, has(puller.AnnotationDigest, v2.Digest.String()), has(puller.AnnotationResult, string(puller.Failed)))
	policy := "deny-parent-" + w.Target
	denyWhen(t, w, policy, cond, w.NS, parent, probe)

	src.Ref.Tag = "v2"
	if _, err := w.sync(src); err == nil {
		t.Fatal("the sync of v2 succeeded")
	}
	if w.CMData("a", "k") != "2" || w.CMData("b", "k") != "<absent>" {
		t.Fatal("v2 was not applied and pruned before the parent write")
	}
	st := w.status("app")
	if st[puller.AnnotationResult] != string(puller.Applied) || st[puller.AnnotationDigest] != v1.Digest.String() ||
		st[puller.AnnotationAttempted] != v2.Digest.String() {
		t.Fatalf("status of the sync cut short: %v", st)
	}

	// A puller started afresh, the tag back at v1 within the drift interval.
	src.Ref.Tag = "v1"
	res, err := w.newPuller(puller.Options{}).Sync(w.Ctx, src)
	if err != nil || res.Outcome != puller.Applied || w.CMData("a", "k") != "1" || w.CMData("b", "k") != "1" {
		t.Fatalf("back to v1: %v %+v; a=%s b=%s", err, res, w.CMData("a", "k"), w.CMData("b", "k"))
	}
	if st := w.status("app"); st[puller.AnnotationAttempted] != "" || st[puller.AnnotationResult] != string(puller.Applied) {
		t.Fatalf("status after v1 again: %v", st)
	}
	// And now it is up to date.
	if res, err := w.newPuller(puller.Options{}).Sync(w.Ctx, src); err != nil || res.Outcome != puller.UpToDate {
		t.Fatalf("v1 once more: %v %+v", err, res)
	}
}
