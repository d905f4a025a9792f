package verify_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/internal/testenv/sigstoretest"
	"github.com/gitless-dev/gitless/verify"
)

var updateTestdata = flag.Bool("update-testdata", false, "capture verify/testdata from the cosign CLIs and the local Sigstore")

// Captured is signature material as it was in the registry: the seeds of the fuzz tests
// and the input of TestCapturedMaterial, which checks offline that what the real tools
// made keeps verifying.
type Captured struct {
	Tool        string             `json:"tool"`
	Digest      string             `json:"digest"`      // the artifact digest signed
	PublicKey   string             `json:"publicKey"`   // PEM, for key signatures
	TrustedRoot json.RawMessage    `json:"trustedRoot"` // for keyless signatures
	Identity    *verify.Identity   `json:"identity,omitempty"`
	Layer       ocispec.Descriptor `json:"layer"`   // cosign format: the signature layer
	Payload     string             `json:"payload"` // and its payload
	Bundle      json.RawMessage    `json:"bundle"`  // bundle format
}

// TestCaptureTestdata refreshes verify/testdata with -update-testdata (needs the peers).
func TestCaptureTestdata(t *testing.T) {
	if !*updateTestdata {
		t.Skip("run with -update-testdata to capture verify/testdata")
	}
	bin := peersBin(t, "cosign", "cosign2")
	reg := registry.NewT(t, registry.Options{})
	ctx := context.Background()
	env := []string{"COSIGN_PASSWORD=pw"}
	priv, pub := keyPair(t, "pw")
	pubPEM := string(must(os.ReadFile(pub)))

	capture := func(name string, cp Captured, ref artifact.Reference) {
		cp.Digest = ref.Digest.String()
		repo := repoOf(t, ref)
		if cp.Bundle == nil {
			desc, rc, err := repo.Manifests().FetchReference(ctx, verify.SignatureTag(ref.Digest))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := content.ReadAll(rc, desc)
			rc.Close()
			var m ocispec.Manifest
			json.Unmarshal(b, &m)
			cp.Layer = m.Layers[len(m.Layers)-1]
			rc2, err := repo.Blobs().Fetch(ctx, cp.Layer)
			if err != nil {
				t.Fatal(err)
			}
			p, _ := content.ReadAll(rc2, cp.Layer)
			rc2.Close()
			cp.Payload = string(p)
		}
		b, _ := json.MarshalIndent(cp, "", "  ")
		if err := os.WriteFile(filepath.Join("testdata", name+".json"), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bundleOf := func(ref artifact.Reference) json.RawMessage {
		repo := repoOf(t, ref)
		var found []ocispec.Descriptor
		repo.Referrers(ctx, ocispec.Descriptor{Digest: ref.Digest}, "", func(r []ocispec.Descriptor) error { found = append(found, r...); return nil })
		desc, rc, err := repo.Manifests().FetchReference(ctx, found[0].Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := content.ReadAll(rc, desc)
		rc.Close()
		var m ocispec.Manifest
		json.Unmarshal(b, &m)
		rc2, _ := repo.Blobs().Fetch(ctx, m.Layers[0])
		bb, _ := content.ReadAll(rc2, m.Layers[0])
		rc2.Close()
		return bb
	}

	ref := pushArtifact(t, reg, "capture/cosign2", "v1", "cosign2")
	peer(t, filepath.Join(bin, "cosign2"), env, true, "sign", "--key", priv, "-y", "--tlog-upload=false", strings.TrimPrefix(ref.String(), "oci://"))
	capture("cosign2-key", Captured{Tool: "cosign v2.6.5 sign --key --tlog-upload=false", PublicKey: pubPEM}, ref)

	ref = pushArtifact(t, reg, "capture/cosign3", "v1", "cosign3")
	peer(t, filepath.Join(bin, "cosign"), env, true, "sign", "--key", priv, "-y", "--tlog-upload=false", "--use-signing-config=false", strings.TrimPrefix(ref.String(), "oci://"))
	capture("cosign3-bundle-key", Captured{Tool: "cosign v3.1.3 sign --key --tlog-upload=false --use-signing-config=false", PublicKey: pubPEM, Bundle: bundleOf(ref)}, ref)

	ss := sigstoretest.Start(t, sigstoretest.Options{CertValidity: 100 * 365 * 24 * time.Hour, CANotAfter: farFuture()})
	root, err := ss.TrustedRoot(sigstoretest.RootOptions{})
	if err != nil {
		t.Fatal(err)
	}
	id := acmeIdentity()
	for _, f := range []verify.Format{verify.FormatCosign, verify.FormatBundle} {
		ref = pushArtifact(t, reg, "capture/keyless-"+string(f), "v1", "keyless-"+string(f))
		keylessSign(t, ss, ref, acme, f, true)
		cp := Captured{Tool: "gitless sign (keyless, local Fulcio and Rekor), format " + string(f), TrustedRoot: root, Identity: &id}
		if f == verify.FormatBundle {
			cp.Bundle = bundleOf(ref)
		}
		capture("gitless-keyless-rekor-"+string(f), cp, ref)
	}
}

func farFuture() time.Time { return time.Now().Add(100 * 365 * 24 * time.Hour) }
