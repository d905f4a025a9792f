package remote_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/auth"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

var meta = artifact.Metadata{
	Source:   "https://github.com/stefanprodan/podinfo",
	Revision: "master@sha1:eec06d1e41b1b2d1b1e1f3c2b5ff0c2a1d7e4b10",
	Created:  time.Date(2026, 7, 22, 0, 0, 0, 0, time.UTC),
}

func mustRef(t testing.TB, s string) artifact.Reference {
	t.Helper()
	r, err := artifact.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func buildDir(t testing.TB, dir string) *artifact.Layer {
	t.Helper()
	l, err := artifact.Build(context.Background(), dir, artifact.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func buildFiles(t testing.TB, files map[string]string) *artifact.Layer {
	t.Helper()
	m := map[string][]byte{}
	for k, v := range files {
		m[k] = []byte(v)
	}
	l, err := artifact.BuildFromFiles(m)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestPushPullRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, reg := range []struct{ name, host string }{
		{"distribution", registry.NewT(t, registry.Options{}).Host()},
		{"ggcr", registry.NewGGCR(t)},
	} {
		t.Run(reg.name, func(t *testing.T) {
			c := remote.New(remote.Options{})
			layer := buildDir(t, "testdata/podinfo")
			ref := mustRef(t, "oci://"+reg.host+"/apps/podinfo:eec06d1")
			res, err := c.Push(ctx, ref, layer, meta, remote.DefaultPushOptions())
			if err != nil {
				t.Fatal(err)
			}
			if res.Unchanged || res.Uploaded != 2 || len(res.Tags) != 1 || !res.Tags[0].Changed {
				t.Fatalf("first push: %+v", res)
			}
			m, _ := artifact.NewManifest(layer.Descriptor, meta)
			if res.Digest != m.Descriptor.Digest {
				t.Fatalf("pushed %s, the manifest digest is %s", res.Digest, m.Descriptor.Digest)
			}

			dir := filepath.Join(t.TempDir(), "out")
			pr, err := c.Pull(ctx, ref, dir, remote.PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if pr.Artifact.Descriptor.Digest != res.Digest || pr.Artifact.Metadata.Revision != meta.Revision {
				t.Fatalf("pulled %+v", pr.Artifact)
			}
			if ch := artifact.DiffTrees(layer.Files, pr.Files); len(ch) != 0 {
				t.Fatalf("pulled tree differs: %+v", ch)
			}
			if again := buildDir(t, dir); again.Descriptor.Digest != layer.Descriptor.Digest {
				t.Fatal("pulled tree rebuilds to another digest")
			}

			// the same content again: a no-op that uploads nothing
			res2, err := c.Push(ctx, ref, layer, meta, remote.DefaultPushOptions())
			if err != nil || !res2.Unchanged || res2.Uploaded != 0 {
				t.Fatalf("second push: %+v %v", res2, err)
			}
			// pull by digest
			if _, err := c.Pull(ctx, ref.WithDigest(res.Digest), filepath.Join(t.TempDir(), "bydigest"), remote.PullOptions{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTagsAreImmutable(t *testing.T) {
	ctx := context.Background()
	host := registry.NewT(t, registry.Options{}).Host()
	c := remote.New(remote.Options{})
	ref := mustRef(t, "oci://"+host+"/app:1a2b3c4")
	a := buildFiles(t, map[string]string{"a.yaml": "a: 1\n"})
	b := buildFiles(t, map[string]string{"a.yaml": "a: 2\n"})

	ra, err := c.Push(ctx, ref, a, meta, remote.PushOptions{Tags: []string{"latest", "staging"}, Policy: artifact.TagPolicy{Moving: []string{"latest"}}})
	if err != nil {
		t.Fatal(err)
	}
	// b under the same commit tag: refused, and no tag moved (latest would have)
	_, err = c.Push(ctx, ref, b, meta, remote.DefaultPushOptions())
	var tc *artifact.TagConflictError
	if !errors.As(err, &tc) || tc.Tag != "1a2b3c4" || tc.Existing != ra.Digest {
		t.Fatalf("want a tag conflict on 1a2b3c4, got %v", err)
	}
	if !strings.Contains(err.Error(), "immutable") {
		t.Errorf("message does not say why: %v", err)
	}
	for _, tag := range []string{"1a2b3c4", "latest", "staging"} {
		if d, _ := c.Resolve(ctx, ref.WithTag(tag)); d.Digest != ra.Digest {
			t.Fatalf("%s moved to %s after a refused push", tag, d.Digest)
		}
	}
	// a new commit tag with latest: latest moves by the default rule
	rb, err := c.Push(ctx, ref.WithTag("5d6e7f8"), b, meta, remote.PushOptions{Tags: []string{"latest"}, Policy: artifact.TagPolicy{Moving: artifact.DefaultMovingTags}})
	if err != nil {
		t.Fatal(err)
	}
	if u := rb.Tags[1]; u.Tag != "latest" || !u.Changed || u.Previous != ra.Digest {
		t.Fatalf("latest: %+v", u)
	}
	// staging is not a moving tag for push ...
	if _, err := c.Push(ctx, ref.WithTag("staging"), b, meta, remote.DefaultPushOptions()); !errors.As(err, &tc) {
		t.Fatalf("staging moved on push: %v", err)
	}
	// ... but gitless tag promotes to it
	tr, err := c.Tag(ctx, ref.WithTag("5d6e7f8"), []string{"staging"}, remote.DefaultTagOptions())
	if err != nil || !tr.Tags[0].Changed || tr.Tags[0].Previous != ra.Digest {
		t.Fatalf("tag staging: %+v %v", tr, err)
	}
	// and never onto a commit tag without overwrite
	if _, err := c.Tag(ctx, ref.WithTag("5d6e7f8"), []string{"1a2b3c4"}, remote.DefaultTagOptions()); !errors.As(err, &tc) {
		t.Fatalf("tag onto an immutable tag: %v", err)
	}
	opts := remote.DefaultTagOptions()
	opts.Policy.AllowOverwrite = true
	if _, err := c.Tag(ctx, ref.WithTag("5d6e7f8"), []string{"1a2b3c4"}, opts); err != nil {
		t.Fatal(err)
	}
	if d, _ := c.Resolve(ctx, ref); d.Digest != rb.Digest {
		t.Fatal("overwrite did not move the tag")
	}
}

// failingTransport fails requests that match, as a network fault would.
type failingTransport struct {
	match func(*http.Request) bool
	hits  atomic.Int32
}

func (f *failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.match(r) {
		f.hits.Add(1)
		return nil, errors.New("injected network failure")
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestFailedPushLeavesTagWhereItWas(t *testing.T) {
	ctx := context.Background()
	host := registry.NewT(t, registry.Options{}).Host()
	ref := mustRef(t, "oci://"+host+"/app:latest")
	good, err := remote.New(remote.Options{}).Push(ctx, ref, buildFiles(t, map[string]string{"a.yaml": "v: 1\n"}), meta, remote.DefaultPushOptions())
	if err != nil {
		t.Fatal(err)
	}
	ft := &failingTransport{match: func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
	}}
	c := remote.New(remote.Options{HTTPClient: &http.Client{Transport: ft}})
	_, err = c.Push(ctx, ref, buildFiles(t, map[string]string{"a.yaml": "v: 2\n"}), meta, remote.DefaultPushOptions())
	if err == nil || ft.hits.Load() == 0 {
		t.Fatalf("push did not fail: %v", err)
	}
	if d, _ := remote.New(remote.Options{}).Resolve(ctx, ref); d.Digest != good.Digest {
		t.Fatalf("tag moved to %s after a failed push", d.Digest)
	}
}

func TestAuth(t *testing.T) {
	ctx := context.Background()
	layer := buildFiles(t, map[string]string{"a.yaml": "a: 1\n"})
	for _, mode := range []registry.Auth{registry.AuthBasic, registry.AuthToken} {
		t.Run(mode.String(), func(t *testing.T) {
			reg := registry.NewT(t, registry.Options{Auth: mode})
			ref := mustRef(t, "oci://"+reg.Host()+"/team/app:v1.0.0")
			good := auth.Chain{auth.Static(reg.Host(), auth.Credential{Username: reg.Username, Password: reg.Password}, "--creds")}
			c := remote.New(remote.Options{Credentials: good})
			if _, err := c.Push(ctx, ref, layer, meta, remote.DefaultPushOptions()); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Pull(ctx, ref, filepath.Join(t.TempDir(), "o"), remote.PullOptions{}); err != nil {
				t.Fatal(err)
			}
			if mode == registry.AuthToken && reg.TokenRequests() == 0 {
				t.Fatal("the client never went to the token endpoint")
			}

			const wrongPassword = "hunter2-not-the-password"
			bad := auth.Chain{auth.Static(reg.Host(), auth.Credential{Username: reg.Username, Password: wrongPassword}, "GITHUB_TOKEN (env)")}
			_, err := remote.New(remote.Options{Credentials: bad}).Push(ctx, ref.WithTag("v2.0.0"), layer, meta, remote.DefaultPushOptions())
			var ae *remote.AuthError
			if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized || ae.Source != "GITHUB_TOKEN (env)" {
				t.Fatalf("wrong password: %v", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, reg.Host()) || !strings.Contains(msg, "GITHUB_TOKEN (env)") || strings.Contains(msg, wrongPassword) || strings.Contains(msg, reg.Password) {
				t.Fatalf("message must name the registry and the source, never the secret: %s", msg)
			}

			_, err = remote.New(remote.Options{}).Fetch(ctx, ref)
			if !errors.As(err, &ae) || ae.Source != "" || !strings.Contains(err.Error(), "no credentials were found") {
				t.Fatalf("anonymous: %v", err)
			}
		})
	}
}

func TestUnreachableRegistry(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := remote.New(remote.Options{HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	_, err = c.Push(context.Background(), mustRef(t, "oci://"+addr+"/app:v1"), buildFiles(t, map[string]string{"a": "b"}), meta, remote.DefaultPushOptions())
	if err == nil || !strings.Contains(err.Error(), "cannot reach registry "+addr) {
		t.Fatalf("got %v", err)
	}
}

func TestTamperedLayerIsRefused(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	host := registry.NewT(t, registry.Options{RootDir: root}).Host()
	c := remote.New(remote.Options{})
	layer := buildDir(t, "testdata/podinfo")
	ref := mustRef(t, "oci://"+host+"/app:v1.0.0")
	if _, err := c.Push(ctx, ref, layer, meta, remote.DefaultPushOptions()); err != nil {
		t.Fatal(err)
	}
	// Flip the blob's bytes on the registry's disk, keeping its size: a registry that
	// serves what it stores, as most do, now serves tampered content.
	hex := layer.Descriptor.Digest.Encoded()
	var blob string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "data" && strings.Contains(p, hex) {
			blob = p
		}
		return nil
	})
	if blob == "" {
		t.Fatal("layer blob not found on disk")
	}
	size := int(layer.Descriptor.Size)
	fit := func(data []byte) []byte { // the layer's size exactly, as a careful liar serves
		if len(data) > size {
			return data[:size]
		}
		return append(data, make([]byte, size-len(data))...)
	}
	other, err := artifact.BuildFromFiles(map[string][]byte{"deployment.yaml": []byte(strings.Repeat("x", size))})
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-6] ^= 0xff // the gzip trailer's checksum
	// Bytes that would be refused for what they are (a path out of the tree), were
	// they the artifact signed: the refusal must not be taken for the artifact's.
	var unsafe bytes.Buffer
	gz := gzip.NewWriter(&unsafe)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: "../escape.yaml", Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
	_, _ = tw.Write([]byte("x"))
	_ = tw.Close()
	_ = gz.Close()
	for name, data := range map[string][]byte{"other files": other.Data, "a corrupt stream": corrupt, "an unsafe archive": unsafe.Bytes()} {
		if err := os.WriteFile(blob, fit(data), 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		_, err = c.Pull(ctx, ref, out, remote.PullOptions{})
		if !errors.Is(err, remote.ErrDigestMismatch) || errors.Is(err, artifact.ErrUnsafeArchive) || errors.Is(err, artifact.ErrTooLarge) {
			t.Fatalf("%s: %v, want only a digest mismatch", name, err)
		}
		if !strings.Contains(err.Error(), layer.Descriptor.Digest.String()) {
			t.Fatalf("%s: error does not name the layer digest: %v", name, err)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("%s: a failed pull left the output directory behind", name)
		}
		if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".gitless-pull-*")); len(leftovers) > 0 {
			t.Fatalf("%s: temporary directories left: %v", name, leftovers)
		}
	}
}

func TestInspectListDiff(t *testing.T) {
	ctx := context.Background()
	host := registry.NewT(t, registry.Options{}).Host()
	c := remote.New(remote.Options{})
	repo := mustRef(t, "oci://"+host+"/app")
	v1 := buildFiles(t, map[string]string{"a.yaml": "a: 1\n", "b.yaml": "b: 1\n"})
	v2 := buildFiles(t, map[string]string{"a.yaml": "a: 2\n", "c.yaml": "c: 1\n"})
	for i, p := range []struct {
		tag   string
		layer *artifact.Layer
	}{{"v1.0.0", v1}, {"v1.1.0", v2}, {"v2.0.0", v2}, {"latest", v2}} {
		m := meta
		m.Revision = fmt.Sprintf("main@sha1:%040d", i)
		if _, err := c.Push(ctx, repo.WithTag(p.tag), p.layer, m, remote.DefaultPushOptions()); err != nil {
			t.Fatal(err)
		}
	}
	in, err := c.Inspect(ctx, repo.WithTag("v1.0.0"), true)
	if err != nil {
		t.Fatal(err)
	}
	if in.Layer.Digest != v1.Descriptor.Digest || len(in.Files) != 2 || in.Metadata.Source != meta.Source {
		t.Fatalf("inspect: %+v", in)
	}

	all, err := c.List(ctx, repo, remote.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, ti := range all.Tags {
		tags = append(tags, ti.Tag)
		if ti.Err != "" || ti.Digest == "" || ti.Revision == "" {
			t.Errorf("tag %+v", ti)
		}
	}
	if strings.Join(tags, ",") != "v2.0.0,v1.1.0,v1.0.0,latest" || all.More != 0 {
		t.Fatalf("tags %v, %d more", tags, all.More)
	}
	in1, err := c.List(ctx, repo, remote.ListOptions{SemVer: ">=1.0.0 <2.0.0"})
	if err != nil || len(in1.Tags) != 2 || in1.Tags[0].Tag != "v1.1.0" || in1.Tags[1].Tag != "v1.0.0" {
		t.Fatalf("semver list: %+v %v", in1, err)
	}
	// Each tag read is a manifest request: a limit reads the newest versions only, and
	// counts the rest.
	two, err := c.List(ctx, repo, remote.ListOptions{Limit: 2})
	if err != nil || len(two.Tags) != 2 || two.Tags[0].Tag != "v2.0.0" || two.Tags[1].Tag != "v1.1.0" || two.More != 2 || two.Tags[1].Digest == "" {
		t.Fatalf("limited list: %+v %v", two, err)
	}
	if _, err := c.List(ctx, repo, remote.ListOptions{SemVer: "not a range"}); err == nil {
		t.Fatal("a bad range must be an error")
	}

	d, err := c.Diff(ctx, repo.WithTag("v1.0.0"), v2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ch := range d.Changes {
		got = append(got, string(ch.Change)+" "+ch.Path)
	}
	if strings.Join(got, ",") != "modified a.yaml,removed b.yaml,added c.yaml" {
		t.Fatalf("diff %v", got)
	}
	if d, err := c.Diff(ctx, repo.WithTag("v1.1.0"), v2); err != nil || d.Differs() {
		t.Fatalf("same content differs: %+v %v", d, err)
	}
	if d, err := c.Diff(ctx, repo.WithTag("nope"), v2); err != nil || len(d.Changes) != 2 {
		t.Fatalf("missing tag: %+v %v", d, err)
	}
	if _, err := c.Fetch(ctx, repo.WithTag("nope")); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("fetch of a missing tag: %v", err)
	}
}

// A cap set on one field leaves the others at their defaults: a layer over 1 MiB pulls
// with only MaxEntries given.
func TestPartialLimitsKeepDefaults(t *testing.T) {
	ctx := context.Background()
	host := registry.NewT(t, registry.Options{})
	c := remote.New(remote.Options{})
	big := make([]byte, 3<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	l, err := artifact.BuildFromFiles(map[string][]byte{"blob.bin": big})
	if err != nil {
		t.Fatal(err)
	}
	if l.Descriptor.Size < 1<<20 {
		t.Fatalf("layer is only %d bytes", l.Descriptor.Size)
	}
	ref := mustRef(t, "oci://"+host.Host()+"/big:v1.0.0")
	if _, err := c.Push(ctx, ref, l, meta, remote.DefaultPushOptions()); err != nil {
		t.Fatal(err)
	}
	a, err := c.Fetch(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExtractTo(ctx, a, filepath.Join(t.TempDir(), "o"), artifact.ExtractOptions{MaxEntries: 5}); err != nil {
		t.Fatal(err)
	}
}

// StartPush reads the tags and uploads the config while the caller builds; Finish
// decides the tags against what they held when the push began, and uploads the rest.
func TestStartPushFinishAndAbort(t *testing.T) {
	ctx := context.Background()
	host := registry.NewT(t, registry.Options{}).Host()
	c := remote.New(remote.Options{})
	ref := mustRef(t, "oci://"+host+"/pending:1a2b3c4")
	meta := artifact.Metadata{Created: time.Unix(1, 0)}

	p := c.StartPush(ctx, ref, remote.DefaultPushOptions())
	layer := buildFiles(t, map[string]string{"a.yaml": "a: 1\n"})
	res, err := p.Finish(ctx, layer, meta)
	if err != nil || res.Uploaded != 2 || res.Unchanged {
		t.Fatalf("%+v %v", res, err)
	}
	// the same content: nothing to do
	res, err = c.StartPush(ctx, ref, remote.DefaultPushOptions()).Finish(ctx, layer, meta)
	if err != nil || !res.Unchanged || res.Uploaded != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	// other content under the commit tag: refused at Finish, nothing moved
	other := buildFiles(t, map[string]string{"a.yaml": "a: 2\n"})
	_, err = c.StartPush(ctx, ref, remote.DefaultPushOptions()).Finish(ctx, other, meta)
	var tc *artifact.TagConflictError
	if !errors.As(err, &tc) {
		t.Fatalf("want a tag conflict, got %v", err)
	}
	// a bad tag is reported by Finish; Abort returns once the start has stopped
	bad := remote.DefaultPushOptions()
	bad.Tags = []string{"not a tag"}
	if _, err := c.StartPush(ctx, ref, bad).Finish(ctx, other, meta); err == nil {
		t.Fatal("a bad tag was accepted")
	}
	c.StartPush(ctx, ref, remote.DefaultPushOptions()).Abort()
	if d, err := c.Resolve(ctx, ref); err != nil || d.Digest != res.Digest {
		t.Fatalf("the tag moved: %v %v", d.Digest, err)
	}
}

// A retried CI job builds the same artifact but for its run URL: the commit tag keeps
// the first try's artifact, which is returned (for the caller to sign), and the moving
// tags point at it; other content, or other metadata, under the tag is still refused.
func TestRetriedRunKeepsTheArtifactOfTheFirstTry(t *testing.T) {
	ctx := context.Background()
	host := registry.NewT(t, registry.Options{}).Host()
	c := remote.New(remote.Options{})
	ref := mustRef(t, "oci://"+host+"/app:1a2b3c4")
	layer := buildFiles(t, map[string]string{"a.yaml": "a: 1\n"})
	opts := remote.PushOptions{Tags: []string{"latest"}, Policy: artifact.TagPolicy{Moving: []string{"latest"}}}
	first, second := meta, meta
	first.BuildURL, second.BuildURL = "https://gitlab.example/acme/app/-/jobs/1", "https://gitlab.example/acme/app/-/jobs/2"

	r1, err := c.Push(ctx, ref, layer, first, remote.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.Push(ctx, ref, layer, second, opts)
	if err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if r2.Digest != r1.Digest || r2.BuiltBy != first.BuildURL {
		t.Fatalf("the retry: digest %s built by %q, want %s built by %q", r2.Digest, r2.BuiltBy, r1.Digest, first.BuildURL)
	}
	if d, _ := c.Resolve(ctx, ref.WithTag("latest")); d.Digest != r1.Digest {
		t.Fatalf("latest points at %s, want the kept %s", d.Digest, r1.Digest)
	}
	var tc *artifact.TagConflictError
	other := buildFiles(t, map[string]string{"a.yaml": "a: 2\n"})
	if _, err := c.Push(ctx, ref, other, second, remote.PushOptions{}); !errors.As(err, &tc) {
		t.Fatalf("other content under the commit tag: %v", err)
	}
	moved := second
	moved.Revision = "main@sha1:" + strings.Repeat("9", 40)
	if _, err := c.Push(ctx, ref, layer, moved, remote.PushOptions{}); !errors.As(err, &tc) {
		t.Fatalf("other metadata under the commit tag: %v", err)
	}
}

// A moving tag does not move back to an artifact created before the one it names (a
// re-run of an old pipeline, a hotfix of an older line released after a newer one): it
// stays, and says why, while the push's other tags are pushed; AllowRollback (or
// AllowOverwrite) moves it.
func TestMovingTagDoesNotMoveBack(t *testing.T) {
	ctx := context.Background()
	host := registry.NewT(t, registry.Options{})
	c := remote.New(remote.Options{})
	newer, older := meta, meta
	newer.Created = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	older.Created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	opts := remote.PushOptions{Tags: []string{"latest"}, Policy: artifact.TagPolicy{Moving: artifact.DefaultMovingTags}}
	rn, err := c.Push(ctx, mustRef(t, "oci://"+host.Host()+"/app:v1.2.0"), buildFiles(t, map[string]string{"a.yaml": "a: 2\n"}), newer, opts)
	if err != nil {
		t.Fatal(err)
	}
	hotfix := mustRef(t, "oci://"+host.Host()+"/app:v1.1.5")
	a := buildFiles(t, map[string]string{"a.yaml": "a: 1\n"})
	res, err := c.Push(ctx, hotfix, a, older, opts)
	if err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, u := range res.Tags {
		if u.Tag == "latest" {
			kept = !u.Changed && strings.Contains(u.Kept, "not moved back") && strings.Contains(u.Kept, rn.Digest.String())
		}
	}
	if !kept || res.Unchanged {
		t.Fatalf("tags %+v: want latest kept, saying why, and the rest pushed", res.Tags)
	}
	if d, _ := c.Resolve(ctx, hotfix.WithTag("latest")); d.Digest != rn.Digest {
		t.Fatalf("latest moved back to %s", d.Digest)
	}
	if d, err := c.Resolve(ctx, hotfix); err != nil || d.Digest != res.Digest {
		t.Fatalf("the hotfix's own tag: %v %v", d.Digest, err)
	}
	opts.Policy.AllowRollback = true
	ro, err := c.Push(ctx, hotfix, a, older, opts)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := c.Resolve(ctx, hotfix.WithTag("latest")); d.Digest != ro.Digest {
		t.Fatalf("with AllowRollback, latest is %s, want %s", d.Digest, ro.Digest)
	}
}

// Two pushes set one new immutable tag at once and the registry keeps the other's: the
// push that lost reads the tag back and fails, rather than report a tag it does not hold.
func TestPushThatLostARaceForATagFails(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	c := remote.New(remote.Options{})
	// The other push's artifact, already in the repository under another tag.
	other, err := c.Push(ctx, mustRef(t, "oci://"+reg.Host()+"/app:seed"), buildFiles(t, map[string]string{"a.yaml": "other: 1\n"}), meta, remote.PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, otherBytes, err := c.FetchManifest(ctx, other.Reference, other.Digest.String(), 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	upstream := "http://" + reg.Host()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.RequestURI(), r.Body)
		req.Header = r.Header.Clone()
		req.ContentLength = r.ContentLength
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifests/3333333") {
			// the other push's write lands just after this one's
			put, _ := http.NewRequest(http.MethodPut, upstream+r.URL.Path, bytes.NewReader(otherBytes))
			put.Header.Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
			if r2, err := http.DefaultClient.Do(put); err == nil {
				r2.Body.Close()
			}
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		if loc := resp.Header.Get("Location"); loc != "" {
			w.Header().Set("Location", strings.Replace(loc, upstream, "http://"+r.Host, 1))
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	ref := mustRef(t, "oci://"+strings.TrimPrefix(proxy.URL, "http://")+"/app:3333333")
	_, err = c.Push(ctx, ref, buildFiles(t, map[string]string{"a.yaml": "mine: 1\n"}), meta, remote.PushOptions{})
	var tc *artifact.TagConflictError
	if !errors.As(err, &tc) || !tc.Concurrent || tc.Existing != other.Digest || !strings.Contains(err.Error(), "at the same time") {
		t.Fatalf("err = %v, want the lost race reported", err)
	}
}
