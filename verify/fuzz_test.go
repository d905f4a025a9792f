package verify

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/sigstore"
)

// captured mirrors verify_test.Captured (testdata/*.json, made by TestCaptureTestdata).
type captured struct {
	Tool        string             `json:"tool"`
	Digest      string             `json:"digest"`
	PublicKey   string             `json:"publicKey"`
	TrustedRoot json.RawMessage    `json:"trustedRoot"`
	Identity    *Identity          `json:"identity,omitempty"`
	Layer       ocispec.Descriptor `json:"layer"`
	Payload     string             `json:"payload"`
	Bundle      json.RawMessage    `json:"bundle"`
}

func loadCaptured(t testing.TB) map[string]captured {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	out := map[string]captured{}
	for _, f := range files {
		var c captured
		if err := json.Unmarshal(must(os.ReadFile(f)), &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if string(c.TrustedRoot) == "null" {
			c.TrustedRoot = nil
		}
		if string(c.Bundle) == "null" {
			c.Bundle = nil
		}
		out[strings.TrimSuffix(filepath.Base(f), ".json")] = c
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// policyFor compiles the policy a captured signature verifies with.
func policyFor(t testing.TB, c captured, requireTlog bool) *compiled {
	t.Helper()
	cp := &compiled{policy: &Policy{}, requireTlog: requireTlog}
	if c.PublicKey != "" {
		k, err := loadPublicKey(context.Background(), 0, c.PublicKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		cp.keys = []*publicKey{k}
	}
	if len(c.TrustedRoot) > 0 {
		tr, err := root.NewTrustedRootFromJSON(c.TrustedRoot)
		if err != nil {
			t.Fatal(err)
		}
		cp.trusted = tr
	}
	if c.Identity != nil {
		cp.policy.Identities = []Identity{*c.Identity}
		ids, err := cp.policy.compileIdentities()
		if err != nil {
			t.Fatal(err)
		}
		cp.identities = ids
	}
	return cp
}

// verifyCaptured runs the per-signature verification of a captured layer or bundle.
func verifyCaptured(cp *compiled, d digest.Digest, payload []byte, ann map[string]string, bundle []byte) (*Result, *verifyState) {
	st := &verifyState{c: New(Options{}), cp: cp, ref: artifact.Reference{Registry: "registry.example", Repository: "app", Digest: d}}
	if bundle != nil {
		b, err := sigstore.ParseBundle(bundle)
		if err != nil {
			st.reject("bundle", err)
			return nil, st
		}
		return st.verifyBundle(context.Background(), "bundle", b), st
	}
	s, err := sigstore.ParseCosignSignature(payload, ann)
	if err != nil {
		st.reject("layer", err)
		return nil, st
	}
	return st.verifyCosignSignature(context.Background(), "layer", s), st
}

// What cosign v2, cosign v3 and gitless made (testdata) verifies offline, and stops
// verifying for another digest or without the log the policy requires.
func TestCapturedMaterial(t *testing.T) {
	for name, c := range loadCaptured(t) {
		t.Run(name, func(t *testing.T) {
			withLog := strings.Contains(name, "rekor")
			cp := policyFor(t, c, withLog)
			var bundle []byte
			if c.Bundle != nil {
				bundle = c.Bundle
			}
			res, st := verifyCaptured(cp, digest.Digest(c.Digest), []byte(c.Payload), c.Layer.Annotations, bundle)
			if res == nil {
				t.Fatalf("%s: does not verify: %v", c.Tool, st.reasons)
			}
			if withLog && (res.Tlog == nil || !res.Tlog.Verified) {
				t.Fatalf("tlog %+v", res.Tlog)
			}
			other := digest.FromString("other")
			if res, _ := verifyCaptured(cp, other, []byte(c.Payload), c.Layer.Annotations, bundle); res != nil {
				t.Fatal("verified for another digest")
			}
		})
	}
}

func seedCaptured(f *testing.F, add func(c captured)) {
	for _, c := range loadCaptured(f) {
		add(c)
	}
}

// FuzzCosignLayer: any payload and annotations (the untrusted content of a .sig layer)
// are parsed and verified against a key and a trusted root without panicking, and never
// verify unless they are the captured signature itself.
func FuzzCosignLayer(f *testing.F) {
	all := loadCaptured(f)
	key := all["cosign2-key"]
	keyless := all["gitless-keyless-rekor-cosign"]
	seedCaptured(f, func(c captured) {
		if c.Bundle == nil {
			f.Add([]byte(c.Payload), string(must(json.Marshal(c.Layer.Annotations))))
		}
	})
	cpKey := policyFor(f, key, false)
	cpKeyless := policyFor(f, keyless, true)
	f.Fuzz(func(t *testing.T, payload []byte, annJSON string) {
		var ann map[string]string
		if json.Unmarshal([]byte(annJSON), &ann) != nil {
			return
		}
		for _, tc := range []struct {
			cp *compiled
			c  captured
		}{{cpKey, key}, {cpKeyless, keyless}} {
			res, _ := verifyCaptured(tc.cp, digest.Digest(tc.c.Digest), payload, ann, nil)
			if res != nil && (string(payload) != tc.c.Payload || ann["dev.cosignproject.cosign/signature"] != tc.c.Layer.Annotations["dev.cosignproject.cosign/signature"]) {
				t.Fatalf("a modified signature verified: payload %q annotations %v", payload, ann)
			}
		}
	})
}

// FuzzBundle: any bytes as a sigstore bundle referrer's layer.
func FuzzBundle(f *testing.F) {
	all := loadCaptured(f)
	key := all["cosign3-bundle-key"]
	keyless := all["gitless-keyless-rekor-bundle"]
	seedCaptured(f, func(c captured) {
		if c.Bundle != nil {
			f.Add([]byte(c.Bundle))
		}
	})
	cpKey := policyFor(f, key, false)
	cpKeyless := policyFor(f, keyless, true)
	f.Fuzz(func(t *testing.T, b []byte) {
		verifyCaptured(cpKey, digest.Digest(key.Digest), nil, nil, b)
		verifyCaptured(cpKeyless, digest.Digest(keyless.Digest), nil, nil, b)
	})
}

// FuzzSignatureManifest: the .sig manifest and bundle referrer manifests.
func FuzzSignatureManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"sha256:` + strings.Repeat("a", 64) + `","size":1}]}`))
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","digest":"sha256:` + strings.Repeat("b", 64) + `","size":2}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if layers, err := sigstore.ParseSignatureManifest(b, 10); err == nil && len(layers) > 10 {
			t.Fatalf("%d layers returned over the limit", len(layers))
		}
		sigstore.ParseBundleManifest(b)
	})
}

// FuzzRekorBundle: cosign's dev.sigstore.cosign/bundle annotation.
func FuzzRekorBundle(f *testing.F) {
	seedCaptured(f, func(c captured) {
		if b := c.Layer.Annotations["dev.sigstore.cosign/bundle"]; b != "" {
			f.Add([]byte(b))
		}
	})
	f.Add([]byte(`{"SignedEntryTimestamp":"AA==","Payload":{"body":123}}`))
	tr := policyFor(f, loadCaptured(f)["gitless-keyless-rekor-cosign"], true).trusted
	f.Fuzz(func(t *testing.T, b []byte) {
		rb, err := sigstore.ParseRekorBundle(b)
		if err != nil {
			return
		}
		s := &sigstore.CosignSignature{Payload: []byte("x"), Sig: []byte("y"), Bundle: rb}
		sigstore.CheckRekorBundle(s, nil, tr)
	})
}

// FuzzCertificateIdentity: Fulcio extensions of any certificate.
func FuzzCertificateIdentity(f *testing.F) {
	seedCaptured(f, func(c captured) {
		if p := c.Layer.Annotations["dev.sigstore.cosign/certificate"]; p != "" {
			s, err := sigstore.ParseCosignSignature([]byte(c.Payload), c.Layer.Annotations)
			if err == nil {
				f.Add(s.Cert.Raw)
			}
		}
	})
	ids, _ := (&Policy{Identities: []Identity{{Issuer: "https://token.actions.githubusercontent.com", SubjectRegexp: "https://github.com/acme/.*", GitHub: GitHubClaims{Repository: "acme/app"}}}}).compileIdentities()
	f.Fuzz(func(t *testing.T, der []byte) {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		if id, err := sigstore.IdentityOf(cert); err == nil {
			matchIdentities(ids, id)
			signerFromCert(cert, id)
		}
	})
}

// FuzzPolicy: policies as the puller reads them from its configuration.
func FuzzPolicy(f *testing.F) {
	f.Add([]byte(`{"keys":["/k.pub"],"identities":[{"issuer":"https://i","subjectRegexp":"a(b|c)*"}],"trustedRoot":"/r.json"}`))
	f.Add([]byte(`{"identities":[{"issuerRegexp":"((","subject":"s","github":{"repository":"a/b"}}],"matchRevision":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Policy
		if json.Unmarshal(b, &p) != nil {
			return
		}
		if err := p.Validate(); err == nil {
			ids, err := p.compileIdentities()
			if err != nil || len(ids) != len(p.Identities) {
				t.Fatalf("valid policy does not compile: %v", err)
			}
		}
	})
}
