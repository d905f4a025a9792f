package verify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-openapi/strfmt"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	rekorclient "github.com/sigstore/rekor/pkg/client"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/internal/testenv/sigstoretest"
	"github.com/gitless-dev/gitless/verify"
)

// A blob the policy's key signed for another purpose (cosign sign-blob, with its own
// Rekor hashedrekord entry) is not a cosign image signature, whatever digest it quotes:
// cosign refuses a payload of another type, and so does gitless, with the log required
// or not.
func TestPayloadOfAnotherTypeIsNotAnImageSignature(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	withLog := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{})
	c := verify.New(verify.Options{})

	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	pub := filepath.Join(t.TempDir(), "cosign.pub")
	if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ref := pushArtifact(t, reg, "confuse/app", "v1", "confuse")
	repo := repoOf(t, ref)
	cfg := pushBlob(t, repo, ocispec.MediaTypeImageConfig, []byte("{}"))

	for name, blob := range map[string]string{
		"another type":             `{"critical":{"identity":{"docker-reference":"x"},"image":{"docker-manifest-digest":"` + ref.Digest.String() + `"},"type":"release checksum manifest"}}`,
		"no type, other key cases": `{"kind":"BuildRecord","Critical":{"IMAGE":{"Docker-Manifest-Digest":"` + ref.Digest.String() + `"}},"notes":"anything"}`,
	} {
		t.Run(name, func(t *testing.T) {
			sum := sha256.Sum256([]byte(blob))
			sig, _ := ecdsa.SignASN1(rand.Reader, priv, sum[:])
			rc, err := rekorclient.GetRekorClient(ss.RekorURL)
			if err != nil {
				t.Fatal(err)
			}
			algo, hexsum, v := models.HashedrekordV001SchemaDataHashAlgorithmSha256, hex.EncodeToString(sum[:]), "0.0.1"
			resp, err := rc.Entries.CreateLogEntry(entries.NewCreateLogEntryParamsWithContext(ctx).WithProposedEntry(&models.Hashedrekord{
				APIVersion: &v,
				Spec: models.HashedrekordV001Schema{
					Data:      &models.HashedrekordV001SchemaData{Hash: &models.HashedrekordV001SchemaDataHash{Algorithm: &algo, Value: &hexsum}},
					Signature: &models.HashedrekordV001SchemaSignature{Content: strfmt.Base64(sig), PublicKey: &models.HashedrekordV001SchemaSignaturePublicKey{Content: strfmt.Base64(pubPEM)}},
				},
			}))
			if err != nil {
				t.Fatal(err)
			}
			var rb []byte
			for _, e := range resp.Payload {
				rb, _ = json.Marshal(map[string]any{"SignedEntryTimestamp": e.Verification.SignedEntryTimestamp,
					"Payload": map[string]any{"body": e.Body, "integratedTime": *e.IntegratedTime, "logIndex": *e.LogIndex, "logID": *e.LogID}})
			}
			l := pushBlob(t, repo, "application/vnd.dev.cosign.simplesigning.v1+json", []byte(blob))
			l.Annotations = map[string]string{"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sig), "dev.sigstore.cosign/bundle": string(rb)}
			pushJSON(t, repo, ocispec.MediaTypeImageManifest, ocispec.Manifest{Versioned: specsV2, MediaType: ocispec.MediaTypeImageManifest, Config: cfg, Layers: []ocispec.Descriptor{l}}, verify.SignatureTag(ref.Digest))

			for _, p := range []*verify.Policy{
				{Keys: []string{pub}, InsecureIgnoreTlog: true},
				{Keys: []string{pub}, TrustedRoot: withLog},
			} {
				if res, err := c.Verify(ctx, ref, p); err == nil {
					t.Errorf("accepted (log required: %v): %s, signer %s", !p.InsecureIgnoreTlog, res.Digest, res.Signer)
				}
			}
		})
	}
}
