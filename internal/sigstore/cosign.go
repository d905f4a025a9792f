package sigstore

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// ErrNoTlogEntry: a signature without the transparency-log entry the checks require.
var ErrNoTlogEntry = errors.New("no transparency-log entry")

// This file is cosign's original signature format (the cosign v2 CLI's default): what a
// layer of a sha256-<hex>.sig image holds, and how cosign checks it
// (github.com/sigstore/cosign pkg/cosign verifyInternal), rebuilt on sigstore-go and
// sigstore so that packages sign and verify do not link the cosign library (which links a
// CLI framework through Rekor's PKCS #7 support).
//
// A layer is a simple-signing payload (media type
// application/vnd.dev.cosign.simplesigning.v1+json) with annotations:
//
//	dev.cosignproject.cosign/signature  base64 signature over the payload bytes
//	dev.sigstore.cosign/certificate     PEM signing certificate (keyless)
//	dev.sigstore.cosign/chain           PEM chain up to the root (keyless)
//	dev.sigstore.cosign/bundle          JSON Rekor bundle: the entry and its signed
//	                                    entry timestamp (with a transparency log)

// CosignSignature is one parsed signature layer.
type CosignSignature struct {
	Payload []byte
	Sig     []byte
	Cert    *x509.Certificate // nil for key signatures
	Bundle  *RekorBundle      // nil without a transparency-log entry
	Digest  string            // the docker-manifest-digest the payload claims
}

// RekorBundle is cosign's dev.sigstore.cosign/bundle annotation
// (cosign pkg/cosign/bundle.RekorBundle).
type RekorBundle struct {
	SignedEntryTimestamp []byte
	Payload              RekorPayload
}

// RekorPayload is the entry a RekorBundle carries.
type RekorPayload struct {
	Body           string `json:"body"` // base64 of the canonical Rekor entry
	IntegratedTime int64  `json:"integratedTime"`
	LogIndex       int64  `json:"logIndex"`
	LogID          string `json:"logID"`
}

// simpleSigning is the part of the payload verification reads.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
	Optional map[string]any `json:"optional"`
}

// cosignSignatureType is the type of cosign's simple-signing payloads.
const cosignSignatureType = "cosign container image signature"

// ParseCosignSignature reads one signature layer: its payload (already digest-checked)
// and its annotations. Everything here is untrusted.
func ParseCosignSignature(payload []byte, ann map[string]string) (*CosignSignature, error) {
	b64 := ann[AnnSignature]
	if b64 == "" {
		return nil, errors.New("no signature annotation")
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("signature annotation: %w", err)
	}
	var ss simpleSigning
	if err := json.Unmarshal(payload, &ss); err != nil {
		return nil, fmt.Errorf("payload is not a simple-signing document: %w", err)
	}
	// As cosign: a document the key signed for something else (a blob with
	// `cosign sign-blob`, another tool's record) is no signature of an image, whatever
	// digest it quotes.
	if ss.Critical.Type != cosignSignatureType {
		return nil, fmt.Errorf("payload type %.80q is not %q: not an image signature", ss.Critical.Type, cosignSignatureType)
	}
	s := &CosignSignature{Payload: payload, Sig: sig, Digest: ss.Critical.Image.DockerManifestDigest}
	if c := ann[AnnCert]; c != "" {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(c))
		if err != nil {
			return nil, fmt.Errorf("certificate annotation: %w", err)
		}
		if len(certs) != 1 {
			return nil, fmt.Errorf("certificate annotation holds %d certificates, want 1", len(certs))
		}
		s.Cert = certs[0]
	}
	if bj := ann[AnnBundle]; bj != "" {
		rb, err := ParseRekorBundle([]byte(bj))
		if err != nil {
			return nil, fmt.Errorf("bundle annotation: %w", err)
		}
		s.Bundle = rb
	}
	return s, nil
}

// ParseRekorBundle reads the dev.sigstore.cosign/bundle annotation.
func ParseRekorBundle(b []byte) (*RekorBundle, error) {
	var rb RekorBundle
	if err := json.Unmarshal(b, &rb); err != nil {
		return nil, err
	}
	if _, err := base64.StdEncoding.DecodeString(rb.Payload.Body); err != nil || rb.Payload.Body == "" {
		return nil, errors.New("body is not base64")
	}
	if len(rb.SignedEntryTimestamp) == 0 {
		return nil, errors.New("no signed entry timestamp")
	}
	if _, err := hex.DecodeString(rb.Payload.LogID); err != nil {
		return nil, fmt.Errorf("log ID: %w", err)
	}
	return &rb, nil
}

// rekorEntryBody is what verification reads of a hashedrekord (or rekord) v0.0.1 entry.
type rekorEntryBody struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Data struct {
			Hash struct {
				Algorithm string `json:"algorithm"`
				Value     string `json:"value"`
			} `json:"hash"`
		} `json:"data"`
		Signature struct {
			Content   string `json:"content"`
			PublicKey struct {
				Content string `json:"content"`
			} `json:"publicKey"`
		} `json:"signature"`
	} `json:"spec"`
}

// Checks are what a signature is checked against: the trusted root (nil when the
// policy has only keys and no log to check), and which proofs are required.
type Checks struct {
	Trusted     root.TrustedMaterial
	RequireTlog bool // a transparency-log entry signed by a log of Trusted
	RequireSCT  bool // a certificate transparency timestamp in the certificate
}

// TlogEntry is the transparency-log entry a signature carried.
type TlogEntry struct {
	LogIndex       int64
	LogID          string
	IntegratedTime time.Time
	Verified       bool // its proof was checked against the trusted root
}

// CheckCosign verifies a cosign-format signature over digest d with verifier v (a
// policy key, or the certificate's key), as cosign does: the payload's claimed digest,
// the signature, and, when required, the Rekor entry (its signed entry timestamp against
// the trusted root, and that it records this signature, key and payload). For a
// certificate it then checks the chain to the trusted root, the SCT when required, and
// the certificate's validity at the entry's time (or now, without a log). It returns the
// entry, when one was checked.
func CheckCosign(s *CosignSignature, d digest.Digest, v signature.Verifier, c Checks) (*TlogEntry, error) {
	if s.Digest != d.String() {
		return nil, fmt.Errorf("the signature is for %.80q, not %s", s.Digest, d) // the payload's claim, bounded
	}
	if err := v.VerifySignature(bytes.NewReader(s.Sig), bytes.NewReader(s.Payload)); err != nil {
		return nil, fmt.Errorf("invalid signature: %w", err)
	}
	var tl *TlogEntry
	if c.RequireTlog {
		if s.Bundle == nil {
			return nil, fmt.Errorf("%w, and the policy requires one", ErrNoTlogEntry)
		}
		pub, err := v.PublicKey()
		if err != nil {
			return nil, err
		}
		if err := CheckRekorBundle(s, pub, c.Trusted); err != nil {
			return nil, fmt.Errorf("transparency log: %w", err)
		}
		tl = &TlogEntry{LogIndex: s.Bundle.Payload.LogIndex, LogID: s.Bundle.Payload.LogID,
			IntegratedTime: time.Unix(s.Bundle.Payload.IntegratedTime, 0).UTC(), Verified: true}
	}
	if s.Cert == nil {
		return tl, nil
	}
	if c.Trusted == nil {
		return nil, errors.New("a keyless signature needs a trusted root")
	}
	chains, err := sgverify.VerifyLeafCertificate(s.Cert.NotBefore, s.Cert, c.Trusted)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w%s", err, CAHint(s.Cert, c.Trusted))
	}
	if c.RequireSCT {
		if err := sgverify.VerifySignedCertificateTimestamp(chains, 1, c.Trusted); err != nil {
			return nil, fmt.Errorf("certificate transparency: %w", err)
		}
	}
	at, how := time.Now(), "now"
	if tl != nil {
		at, how = tl.IntegratedTime, "when it was logged"
	}
	if at.Before(s.Cert.NotBefore) || at.After(s.Cert.NotAfter) {
		return nil, fmt.Errorf("certificate not valid %s (%s): it is valid from %s to %s",
			how, at.Format(time.RFC3339), s.Cert.NotBefore.Format(time.RFC3339), s.Cert.NotAfter.Format(time.RFC3339))
	}
	return tl, nil
}

// CheckRekorBundle checks the Rekor entry attached to a signature: the signed entry
// timestamp by a log of the trusted root, and that the entry records this signature, this
// key or certificate, and the payload's hash.
func CheckRekorBundle(s *CosignSignature, pub crypto.PublicKey, trusted root.TrustedMaterial) error {
	if trusted == nil || len(trusted.RekorLogs()) == 0 {
		return errors.New("the trusted root has no transparency log")
	}
	p := s.Bundle.Payload
	body, err := base64.StdEncoding.DecodeString(p.Body)
	if err != nil {
		return fmt.Errorf("entry body: %w", err)
	}
	var e rekorEntryBody
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("entry body: %w", err)
	}
	if e.Kind != "hashedrekord" && e.Kind != "rekord" {
		return fmt.Errorf("entry kind %q, want hashedrekord", e.Kind)
	}
	if got, err := base64.StdEncoding.DecodeString(e.Spec.Signature.Content); err != nil || !bytes.Equal(got, s.Sig) {
		return errors.New("the entry records another signature")
	}
	keyPEM, err := base64.StdEncoding.DecodeString(e.Spec.Signature.PublicKey.Content)
	if err != nil {
		return errors.New("the entry's public key is not base64")
	}
	if s.Cert != nil {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM(keyPEM)
		if err != nil || len(certs) == 0 || !bytes.Equal(certs[0].Raw, s.Cert.Raw) {
			return errors.New("the entry records another certificate")
		}
	} else {
		logged, err := cryptoutils.UnmarshalPEMToPublicKey(keyPEM)
		if err != nil {
			return errors.New("the entry's public key does not parse")
		}
		if err := cryptoutils.EqualKeys(logged, pub); err != nil {
			return errors.New("the entry records another key")
		}
	}
	sum := sha256.Sum256(s.Payload)
	if e.Spec.Data.Hash.Algorithm != "sha256" || e.Spec.Data.Hash.Value != hex.EncodeToString(sum[:]) {
		return errors.New("the entry records another payload")
	}
	logID, _ := hex.DecodeString(p.LogID) // checked when parsed
	entry, err := tlog.NewEntry(body, p.IntegratedTime, p.LogIndex, logID, s.Bundle.SignedEntryTimestamp, nil)
	if err != nil {
		return fmt.Errorf("entry: %w", err)
	}
	if err := tlog.VerifySET(entry, trusted.RekorLogs()); err != nil {
		return fmt.Errorf("signed entry timestamp: %w", err)
	}
	return nil
}

// CAHint explains a certificate that does not chain to the trusted root when the reason
// is the root's validity: every certificate authority's period ended (or had not
// started) when the certificate was issued.
func CAHint(cert *x509.Certificate, trusted root.TrustedMaterial) string {
	cas := trusted.FulcioCertificateAuthorities()
	if len(cas) == 0 {
		return " (the trusted root has no certificate authority)"
	}
	for _, ca := range cas {
		f, ok := ca.(*root.FulcioCertificateAuthority)
		if !ok {
			return ""
		}
		inPeriod := !cert.NotBefore.Before(f.ValidityPeriodStart) && (f.ValidityPeriodEnd.IsZero() || !cert.NotBefore.After(f.ValidityPeriodEnd))
		if inPeriod {
			return " (no chain to the trusted root's certificate authorities)"
		}
	}
	return fmt.Sprintf(" (issued %s, when no certificate authority of the trusted root was valid: expired or outdated trusted root?)", cert.NotBefore.UTC().Format(time.RFC3339))
}
