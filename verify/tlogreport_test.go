package verify_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/internal/testenv/sigstoretest"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

// A bundle's log entries are not covered by its signature: one pushed with a forged
// entry before the real one must not have the forged one reported as verified (it is
// refused: cosign and gitless write one entry).
func TestBundleWithAForgedLogEntryIsRefused(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	withLog := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{})
	priv, pub := keyPair(t, "")

	signed := pushArtifact(t, reg, "tlogreport/orig", "v1", "same")
	sr, err := sign.New(sign.ClientOptions{}).Sign(ctx, signed, sign.Options{Key: loadKey(t, priv, ""), TlogUpload: true, RekorURL: ss.RekorURL, Format: verify.FormatBundle})
	if err != nil {
		t.Fatal(err)
	}
	repo := repoOf(t, signed)
	m := signatureManifest(t, repo, sr)
	brc, _ := repo.Blobs().Fetch(ctx, m.Layers[0])
	bb, _ := content.ReadAll(brc, m.Layers[0])
	brc.Close()

	var b map[string]any
	if err := json.Unmarshal(bb, &b); err != nil {
		t.Fatal(err)
	}
	vm := b["verificationMaterial"].(map[string]any)
	real := vm["tlogEntries"].([]any)[0].(map[string]any)
	fake := map[string]any{}
	fb, _ := json.Marshal(real)
	json.Unmarshal(fb, &fake)
	fake["logIndex"] = "424242"
	fake["logId"] = map[string]any{"keyId": base64.StdEncoding.EncodeToString([]byte("an unknown log, 32 bytes long!!!"))}
	vm["tlogEntries"] = []any{fake, real}
	nb, _ := json.Marshal(b)

	victim := pushArtifact(t, reg, "tlogreport/copy", "v1", "same") // the same digest, with the doctored referrer only
	if victim.Digest != signed.Digest {
		t.Fatalf("digests differ")
	}
	vrepo := repoOf(t, victim)
	cfg := pushBlob(t, vrepo, "application/vnd.oci.empty.v1+json", []byte("{}"))
	layer := pushBlob(t, vrepo, verify.BundleMediaType, nb)
	subj, err := vrepo.Resolve(ctx, victim.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	pushJSON(t, vrepo, ocispec.MediaTypeImageManifest, ocispec.Manifest{Versioned: specsV2, MediaType: ocispec.MediaTypeImageManifest,
		ArtifactType: verify.BundleMediaType, Config: cfg, Layers: []ocispec.Descriptor{layer},
		Subject: &ocispec.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size}}, "")

	res, err := verify.New(verify.Options{}).Verify(ctx, victim, &verify.Policy{Keys: []string{pub}, TrustedRoot: withLog})
	if err == nil {
		t.Fatalf("accepted, reporting %+v (the trusted log is %s)", res.Tlog, ss.Log.LogID())
	}
}
