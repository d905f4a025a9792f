package verify_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/auth"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

func repoOf(t testing.TB, ref artifact.Reference) *orasremote.Repository {
	t.Helper()
	r, err := orasremote.NewRepository(ref.Repo())
	if err != nil {
		t.Fatal(err)
	}
	r.PlainHTTP = true
	return r
}

// signatureManifest reads the image manifest of the signature a sign.Result names
// ("REPO@DIGEST").
func signatureManifest(t testing.TB, repo *orasremote.Repository, sr *sign.Result) ocispec.Manifest {
	t.Helper()
	d := digest.Digest(sr.Signature[strings.LastIndex(sr.Signature, "@")+1:])
	desc, rc, err := repo.Manifests().FetchReference(context.Background(), d.String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := content.ReadAll(rc, desc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// copyManifest pushes the manifest src names under tag in the same repository.
func copyManifest(t testing.TB, repo *orasremote.Repository, src, tag string) {
	t.Helper()
	ctx := context.Background()
	desc, rc, err := repo.Manifests().FetchReference(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := content.ReadAll(rc, desc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Manifests().PushReference(ctx, desc, bytes.NewReader(b), tag); err != nil {
		t.Fatal(err)
	}
}

func pushJSON(t testing.TB, repo *orasremote.Repository, mediaType string, v any, tag string) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	desc := content.NewDescriptorFromBytes(mediaType, b)
	if tag == "" {
		err = repo.Manifests().Push(context.Background(), desc, bytes.NewReader(b))
	} else {
		err = repo.Manifests().PushReference(context.Background(), desc, bytes.NewReader(b), tag)
	}
	if err != nil {
		t.Fatal(err)
	}
	return desc
}

func pushBlob(t testing.TB, repo *orasremote.Repository, mediaType string, b []byte) ocispec.Descriptor {
	t.Helper()
	desc := content.NewDescriptorFromBytes(mediaType, b)
	if err := repo.Blobs().Push(context.Background(), desc, bytes.NewReader(b)); err != nil && !strings.Contains(err.Error(), "exists") {
		t.Fatal(err)
	}
	return desc
}

func wantFailed(t *testing.T, err error, msg string) {
	t.Helper()
	if !errors.Is(err, verify.ErrVerificationFailed) || errors.Is(err, verify.ErrUnavailable) || errors.Is(err, verify.ErrInvalidPolicy) {
		t.Fatalf("error %v, want only ErrVerificationFailed", err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %q does not say %q", err, msg)
	}
}

// A valid signature of one artifact, copied next to another: it must not verify the
// other digest, in either format.
func TestSignatureOverAnotherDigest(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	c := verify.New(verify.Options{})
	priv, pub := keyPair(t, "")
	key := loadKey(t, priv, "")
	policy := &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true}

	signed := pushArtifact(t, reg, "replay/app", "v1", "signed")
	victim := pushArtifact(t, reg, "replay/app", "v2", "victim")
	keySign(t, signed, key, verify.FormatCosign)
	repo := repoOf(t, signed)
	copyManifest(t, repo, verify.SignatureTag(signed.Digest), verify.SignatureTag(victim.Digest))
	_, err := c.Verify(ctx, victim, policy)
	wantFailed(t, err, "the signature is for \""+signed.Digest.String())

	// bundle: the referrer of one artifact, re-pointed at the other
	bsigned := pushArtifact(t, reg, "replay/bundle", "v1", "bsigned")
	bvictim := pushArtifact(t, reg, "replay/bundle", "v2", "bvictim")
	sr := keySign(t, bsigned, key, verify.FormatBundle)
	brepo := repoOf(t, bsigned)
	m := signatureManifest(t, brepo, sr)
	vdesc, err := brepo.Resolve(ctx, bvictim.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	m.Subject = &ocispec.Descriptor{MediaType: vdesc.MediaType, Digest: vdesc.Digest, Size: vdesc.Size}
	pushJSON(t, brepo, ocispec.MediaTypeImageManifest, m, "")
	_, err = c.Verify(ctx, bvictim, policy)
	wantFailed(t, err, "none of the 1 signature")
}

// The signature covers the manifest; the manifest names the layer by digest. A layer
// whose bytes were swapped in the registry's storage passes verification (the manifest
// is intact) and is caught by the digest check of the pull that follows.
func TestTamperedLayerIsCaughtByTheDigestCheck(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	reg := registry.NewT(t, registry.Options{RootDir: dir})
	c := verify.New(verify.Options{})
	priv, pub := keyPair(t, "")
	ref := pushArtifact(t, reg, "tamper/app", "v1", "original")
	keySign(t, ref, loadKey(t, priv, ""), verify.FormatCosign)

	rc := remote.New(remote.Options{})
	a, err := rc.Fetch(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the layer's blob in the registry's filesystem storage.
	hexd := a.Layer.Digest.Encoded()
	blob := filepath.Join(dir, "docker/registry/v2/blobs/sha256", hexd[:2], hexd, "data")
	orig, err := os.ReadFile(blob)
	if err != nil {
		t.Fatal(err)
	}
	// A valid tar+gzip of other content, padded (gzip header extra field) to the
	// original's length, so that only the digest tells them apart.
	data := forgedLayer(t, len(orig))
	if err := os.WriteFile(blob, data, 0o644); err != nil {
		t.Fatal(err)
	}

	res, err := c.Verify(ctx, ref, &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true})
	if err != nil {
		t.Fatalf("the manifest signature is intact and must verify: %v", err)
	}
	_, err = rc.Pull(ctx, ref.WithDigest(res.Digest), filepath.Join(t.TempDir(), "out"), remote.PullOptions{})
	if !errors.Is(err, remote.ErrDigestMismatch) {
		t.Fatalf("pulling the tampered layer: %v", err)
	}
	t.Log(err)
}

// 10,000 signatures on one artifact: refused with a clear error, in bounded time and
// memory, without fetching any of them.
func TestTenThousandSignatures(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	c := verify.New(verify.Options{})
	priv, pub := keyPair(t, "")
	ref := pushArtifact(t, reg, "many/app", "v1", "many")
	keySign(t, ref, loadKey(t, priv, ""), verify.FormatCosign) // a valid one is there too
	repo := repoOf(t, ref)
	tag := verify.SignatureTag(ref.Digest)
	desc, rc, err := repo.Manifests().FetchReference(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := content.ReadAll(rc, desc)
	rc.Close()
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	valid := m.Layers[0]
	m.Layers = nil
	for i := range 10000 {
		l := valid
		l.Annotations = map[string]string{"dev.cosignproject.cosign/signature": fmt.Sprintf("MEUCIQD%055d", i)}
		m.Layers = append(m.Layers, l)
	}
	m.Layers = append(m.Layers, valid)
	pushJSON(t, repo, ocispec.MediaTypeImageManifest, m, tag)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err = c.Verify(ctx, ref, &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true})
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	wantFailed(t, err, "10001 signature(s)")
	if !errors.Is(err, verify.ErrTooManySignatures) || !strings.Contains(err.Error(), "over the limit of 100") {
		t.Fatalf("error %v", err)
	}
	if took > 5*time.Second {
		t.Errorf("took %s", took)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 128<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
	t.Logf("refused in %s, %d KiB allocated: %v", took, (after.TotalAlloc-before.TotalAlloc)>>10, err)

	// More bundle referrers than the limit: the same.
	small := verify.New(verify.Options{Limits: verify.Limits{MaxSignatures: 3}})
	bref := pushArtifact(t, reg, "many/bundles", "v1", "bundles")
	key := loadKey(t, priv, "")
	for range 4 {
		keySign(t, bref, key, verify.FormatBundle)
	}
	_, err = small.Verify(ctx, bref, &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true})
	if !errors.Is(err, verify.ErrTooManySignatures) {
		t.Fatalf("bundles over the limit: %v", err)
	}
}

// Signature material that does not parse is a rejected signature, never a crash, and
// never "could not check".
func TestMalformedSignatureMaterial(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	c := verify.New(verify.Options{})
	_, pub := keyPair(t, "")
	policy := &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true}
	ref := pushArtifact(t, reg, "malformed/app", "v1", "malformed")
	repo := repoOf(t, ref)
	tag := verify.SignatureTag(ref.Digest)
	cfg := pushBlob(t, repo, ocispec.MediaTypeImageConfig, []byte("{}"))
	good := []byte(`{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"` + ref.Digest.String() + `"},"type":"cosign container image signature"},"optional":null}`)

	layer := func(payload []byte, ann map[string]string) ocispec.Descriptor {
		d := pushBlob(t, repo, "application/vnd.dev.cosign.simplesigning.v1+json", payload)
		d.Annotations = ann
		return d
	}
	cases := []struct {
		name   string
		layers []ocispec.Descriptor
		msg    string
	}{
		{"no signature annotation", []ocispec.Descriptor{layer(good, nil)}, "no signature annotation"},
		{"signature not base64", []ocispec.Descriptor{layer(good, map[string]string{"dev.cosignproject.cosign/signature": "%%%"})}, "signature annotation"},
		{"payload not JSON", []ocispec.Descriptor{layer([]byte("not json"), map[string]string{"dev.cosignproject.cosign/signature": "AAAA"})}, "simple-signing"},
		{"certificate not PEM", []ocispec.Descriptor{layer(good, map[string]string{"dev.cosignproject.cosign/signature": "AAAA", "dev.sigstore.cosign/certificate": "garbage"})}, "certificate annotation"},
		{"bundle body not a string", []ocispec.Descriptor{layer(good, map[string]string{"dev.cosignproject.cosign/signature": "AAAA", "dev.sigstore.cosign/bundle": `{"SignedEntryTimestamp":"AA==","Payload":{"body":123}}`})}, "bundle annotation"},
		{"other media type", []ocispec.Descriptor{func() ocispec.Descriptor { d := pushBlob(t, repo, "text/plain", []byte("hi")); return d }()}, "not a cosign signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pushJSON(t, repo, ocispec.MediaTypeImageManifest, ocispec.Manifest{
				Versioned: specsV2, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: tc.layers,
			}, tag)
			_, err := c.Verify(ctx, ref, policy)
			wantFailed(t, err, tc.msg)
		})
	}
}

// Registry trouble is "could not check": retry, never a verdict.
func TestRegistryProblemsAreUnavailable(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthToken})
	_, pub := keyPair(t, "")
	policy := &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true}
	ref := mustParse(t, "oci://"+reg.Host()+"/private/app@sha256:"+strings.Repeat("a", 64))

	wrong := verify.New(verify.Options{Credentials: auth.Chain{auth.Static(reg.Host(), auth.Credential{Username: reg.Username, Password: "wrong"}, "test")}})
	_, err := wrong.Verify(ctx, ref, policy)
	if !errors.Is(err, verify.ErrUnavailable) || !errors.Is(err, remote.ErrUnauthorized) || errors.Is(err, verify.ErrVerificationFailed) {
		t.Fatalf("refused credentials: %v", err)
	}

	down := mustParse(t, "oci://127.0.0.1:1/app@sha256:"+strings.Repeat("a", 64))
	_, err = verify.New(verify.Options{}).Verify(ctx, down, policy)
	if !errors.Is(err, verify.ErrUnavailable) || errors.Is(err, verify.ErrVerificationFailed) {
		t.Fatalf("registry down: %v", err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = verify.New(verify.Options{}).Verify(cancelled, mustParse(t, "oci://"+reg.Host()+"/x@sha256:"+strings.Repeat("b", 64)), policy)
	if !errors.Is(err, verify.ErrUnavailable) {
		t.Fatalf("cancelled: %v", err)
	}

	// with the right credentials: a verdict (nothing is signed)
	right := verify.New(verify.Options{Credentials: auth.Chain{auth.Static(reg.Host(), auth.Credential{Username: reg.Username, Password: reg.Password}, "test")}})
	_, err = right.Verify(ctx, ref, policy)
	if !errors.Is(err, verify.ErrNoSignatures) {
		t.Fatalf("with credentials: %v", err)
	}
}

func TestInvalidPolicies(t *testing.T) {
	_, pub := keyPair(t, "")
	ref := mustParse(t, "oci://127.0.0.1:1/app@sha256:"+strings.Repeat("a", 64))
	id := verify.Identity{Issuer: "https://i", Subject: "s"}
	cases := []struct {
		name   string
		policy *verify.Policy
		field  string
	}{
		{"nil", nil, "policy"},
		{"empty", &verify.Policy{}, "keys"},
		{"empty key", &verify.Policy{Keys: []string{" "}}, "keys[0]"},
		{"missing key file", &verify.Policy{Keys: []string{"/nonexistent.pub"}, InsecureIgnoreTlog: true}, "keys[0]"},
		{"not a key", &verify.Policy{Keys: []string{pub, writeFile(t, "hello")}, InsecureIgnoreTlog: true}, "keys[1]"},
		{"unset env key", &verify.Policy{Keys: []string{"env://GITLESS_TEST_UNSET_KEY"}, InsecureIgnoreTlog: true}, "keys[0]"},
		{"unknown kms", &verify.Policy{Keys: []string{"nokms://key"}, InsecureIgnoreTlog: true}, "keys[0]"},
		{"identity without issuer", &verify.Policy{Identities: []verify.Identity{{Subject: "s"}}}, "identities[0].issuer"},
		{"identity without subject", &verify.Policy{Identities: []verify.Identity{{Issuer: "https://i"}}}, "identities[0].subject"},
		{"subject and regexp", &verify.Policy{Identities: []verify.Identity{id, {Issuer: "i", Subject: "s", SubjectRegexp: "s"}}}, "identities[1]"},
		{"bad regexp", &verify.Policy{Identities: []verify.Identity{{Issuer: "i", SubjectRegexp: "(("}}}, "identities[0].subjectRegexp"},
		{"matchRevision without identities", &verify.Policy{Keys: []string{pub}, MatchRevision: true}, "matchRevision"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verify.New(verify.Options{}).Verify(context.Background(), ref, tc.policy)
			var pe *verify.PolicyError
			if !errors.Is(err, verify.ErrInvalidPolicy) || !errors.As(err, &pe) || pe.Field != tc.field {
				t.Fatalf("error %v, want a PolicyError on %s", err, tc.field)
			}
		})
	}
	// a reference without digest is a usage error
	_, err := verify.Verify(context.Background(), mustParse(t, "oci://127.0.0.1:1/app:v1"), &verify.Policy{Keys: []string{pub}})
	if !errors.Is(err, artifact.ErrInvalidReference) {
		t.Fatalf("tag reference: %v", err)
	}
}

func forgedLayer(t *testing.T, size int) []byte {
	t.Helper()
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	body := []byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: evil\n")
	tw.WriteHeader(&tar.Header{Name: "cm.yaml", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	gz := func(extra int) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Extra = make([]byte, extra)
		zw.Write(tarBuf.Bytes())
		zw.Close()
		return b.Bytes()
	}
	base := len(gz(1)) - 1
	if base >= size {
		t.Fatalf("forged layer of %d bytes does not fit in %d", base, size)
	}
	out := gz(size - base)
	if len(out) != size {
		t.Fatalf("forged layer %d bytes, want %d", len(out), size)
	}
	return out
}

// Signing next to an oversized signature image fails as a signing error, never as a
// verification verdict.
func TestSignNextToOversizedSignatures(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	priv, _ := keyPair(t, "")
	ref := pushArtifact(t, reg, "oversized/app", "v1", "oversized")
	keySign(t, ref, loadKey(t, priv, ""), verify.FormatCosign)
	priv2, _ := keyPair(t, "")
	small := sign.New(sign.ClientOptions{Limits: verify.Limits{MaxManifestSize: 512}})
	_, err := small.Sign(context.Background(), ref, sign.Options{Key: loadKey(t, priv2, "")})
	if !errors.Is(err, sign.ErrSigning) || errors.Is(err, verify.ErrVerificationFailed) {
		t.Fatalf("error %v", err)
	}
}

func TestCheckPolicyAtLoadTime(t *testing.T) {
	ctx := context.Background()
	c := verify.New(verify.Options{})
	_, pub := keyPair(t, "")
	if err := c.CheckPolicy(ctx, &verify.Policy{Keys: []string{pub}}); err != nil {
		t.Fatalf("valid keys-only policy: %v", err)
	}
	var pe *verify.PolicyError
	err := c.CheckPolicy(ctx, &verify.Policy{Keys: []string{pub}, TrustedRoot: "/nonexistent/root.json"})
	if !errors.As(err, &pe) || pe.Field != "trustedRoot" {
		t.Fatalf("missing root: %v", err)
	}
	err = c.CheckPolicy(ctx, &verify.Policy{Keys: []string{pub, "/nonexistent.pub"}, InsecureIgnoreTlog: true})
	if !errors.As(err, &pe) || pe.Field != "keys[1]" {
		t.Fatalf("missing key: %v", err)
	}
}

// A registry whose referrers listing never ends (and holds no signature) cannot keep
// the verifier busy: the listing stops at the list limits, and the artifact is refused
// as signature material over the limits (a verification failure, not "could not
// check"). Without the referrer page cap the verifier pages until its deadline.
func TestEndlessReferrersStopAtTheListLimits(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	_, pub := keyPair(t, "")
	pushed := pushArtifact(t, reg, "endless/app", "v1", "endless")
	hostile := registry.NewEndlessPager(t, reg, registry.EndlessPages{PerPage: 50})
	ref := mustParse(t, "oci://"+hostile.Host+"/endless/app@"+pushed.Digest.String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := verify.New(verify.Options{Lists: remote.ListLimits{MaxPages: 200}})
	start := time.Now()
	_, err := c.Verify(ctx, ref, &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true})
	took := time.Since(start)
	if !errors.Is(err, verify.ErrTooManySignatures) || !strings.Contains(err.Error(), "200 pages") {
		t.Fatalf("after %s and %d pages: %v", took, hostile.Pages.Load(), err)
	}
	if n := hostile.Pages.Load(); n > 200 || took > 10*time.Second {
		t.Fatalf("%d pages in %s", n, took)
	}
	t.Logf("refused after %d pages in %s: %v", hostile.Pages.Load(), took, err)
}

// A TUF mirror that accepts the connection and never answers cannot hang the check of
// a keyless policy (which the puller runs at start): the fetch of the public trusted
// root stops at TUFTimeout, or at the caller's deadline, as "could not check". Go-tuf's
// own fetcher has neither; with it this call waits as long as the mirror does.
func TestStallingTUFMirrorTimesOut(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	policy := &verify.Policy{Identities: []verify.Identity{{Issuer: "https://token.actions.githubusercontent.com", Subject: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"}}}
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		ctx     time.Duration
	}{{"TUFTimeout", time.Second, time.Minute}, {"the caller's deadline", time.Hour, time.Second}} {
		t.Run(tc.name, func(t *testing.T) {
			c := verify.New(verify.Options{TUFMirror: srv.URL, TUFCacheDir: t.TempDir(), TUFTimeout: tc.timeout})
			ctx, cancel := context.WithTimeout(context.Background(), tc.ctx)
			defer cancel()
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- c.CheckPolicy(ctx, policy) }()
			select {
			case err := <-done:
				if !errors.Is(err, verify.ErrUnavailable) {
					t.Fatalf("got %v, want could-not-check", err)
				}
				if took := time.Since(start); took > 10*time.Second {
					t.Fatalf("took %s", took)
				}
				t.Logf("after %s: %v", time.Since(start), err)
			case <-time.After(20 * time.Second):
				t.Fatal("the trusted root fetch is still waiting for the mirror after 20 s")
			}
		})
	}
}

// What a signature claims is quoted in the error only in part: anyone who can write the
// signature tag (no key needed) fills twenty signatures with a megabyte of claimed
// digest each, and the puller logs the error at every poll.
func TestVerificationErrorIsBounded(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	_, pub := keyPair(t, "")
	policy := &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true}
	ref := pushArtifact(t, reg, "big/app", "v1", "big")
	repo := repoOf(t, ref)
	cfg := pushBlob(t, repo, ocispec.MediaTypeImageConfig, []byte("{}"))
	var layers []ocispec.Descriptor
	for i := range 20 {
		junk := fmt.Sprintf("%02d", i) + strings.Repeat("A", 1000*1000) // under the 1 MiB cap on a signature payload
		payload := []byte(`{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"` + junk + `"},"type":"cosign container image signature"}}`)
		d := pushBlob(t, repo, "application/vnd.dev.cosign.simplesigning.v1+json", payload)
		d.Annotations = map[string]string{"dev.cosignproject.cosign/signature": "AAAA"}
		layers = append(layers, d)
	}
	pushJSON(t, repo, ocispec.MediaTypeImageManifest, ocispec.Manifest{Versioned: specsV2, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: layers}, verify.SignatureTag(ref.Digest))
	_, err := verify.New(verify.Options{}).Verify(t.Context(), ref, policy)
	if !errors.Is(err, verify.ErrVerificationFailed) {
		t.Fatalf("err = %v, want a verification failure", err)
	}
	if n := len(err.Error()); n > 16<<10 {
		t.Errorf("the error is %d bytes: it quotes what the signatures claim in full", n)
	}
	if !strings.Contains(err.Error(), `"00AAAA`) {
		t.Errorf("the error does not quote the start of the claim: %.300s", err)
	}
}
