package verify

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

// This file is cosign's original signature format (the cosign v2 CLI's default): what a
// layer of a sha256-<hex>.sig image holds, and how cosign checks it
// (github.com/sigstore/cosign pkg/cosign verifyInternal), rebuilt on sigstore-go and
// sigstore so that the verify package does not link the cosign library (which links a
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

// cosignSignature is one parsed signature layer.
type cosignSignature struct {
	payload []byte
	sig     []byte
	cert    *x509.Certificate // nil for key signatures
	bundle  *rekorBundle      // nil without a transparency-log entry
	digest  string            // the docker-manifest-digest the payload claims
}

// rekorBundle is cosign's dev.sigstore.cosign/bundle annotation
// (cosign pkg/cosign/bundle.RekorBundle).
type rekorBundle struct {
	SignedEntryTimestamp []byte
	Payload              rekorPayload
}

type rekorPayload struct {
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

// parseCosignSignature reads one signature layer: its payload (already digest-checked)
// and its annotations. Everything here is untrusted.
func parseCosignSignature(payload []byte, ann map[string]string) (*cosignSignature, error) {
	b64 := ann[annSignature]
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
	s := &cosignSignature{payload: payload, sig: sig, digest: ss.Critical.Image.DockerManifestDigest}
	if c := ann[annCert]; c != "" {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(c))
		if err != nil {
			return nil, fmt.Errorf("certificate annotation: %w", err)
		}
		if len(certs) != 1 {
			return nil, fmt.Errorf("certificate annotation holds %d certificates, want 1", len(certs))
		}
		s.cert = certs[0]
	}
	if bj := ann[annBundle]; bj != "" {
		rb, err := parseRekorBundle([]byte(bj))
		if err != nil {
			return nil, fmt.Errorf("bundle annotation: %w", err)
		}
		s.bundle = rb
	}
	return s, nil
}

// parseRekorBundle reads the dev.sigstore.cosign/bundle annotation.
func parseRekorBundle(b []byte) (*rekorBundle, error) {
	var rb rekorBundle
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

// checkCosign verifies a cosign-format signature over digest d with verifier v (the
// policy key, or the certificate's key), as cosign does: the payload's claimed digest,
// the signature, and, when the policy requires it, the Rekor entry (its signed entry
// timestamp against the trusted root, and that it records this signature, key and
// payload). For a certificate it then checks the chain to the trusted root, the SCT when
// the root has CT logs, and the certificate's validity at the entry's time (or now,
// without a log). It returns the time the signature is known to have existed, if any.
func checkCosign(s *cosignSignature, d digest.Digest, v signature.Verifier, cp *compiled) (*TlogEntry, error) {
	if s.digest != d.String() {
		return nil, fmt.Errorf("the signature is for %q, not %s", s.digest, d)
	}
	if err := v.VerifySignature(bytes.NewReader(s.sig), bytes.NewReader(s.payload)); err != nil {
		return nil, fmt.Errorf("invalid signature: %w", err)
	}
	var tl *TlogEntry
	if cp.requireTlog {
		if s.bundle == nil {
			return nil, fmt.Errorf("%w, and the policy requires one", ErrNoTlogEntry)
		}
		pub, err := v.PublicKey()
		if err != nil {
			return nil, err
		}
		if err := checkRekorBundle(s, pub, cp.trusted); err != nil {
			return nil, fmt.Errorf("transparency log: %w", err)
		}
		tl = &TlogEntry{LogIndex: s.bundle.Payload.LogIndex, LogID: s.bundle.Payload.LogID,
			IntegratedTime: time.Unix(s.bundle.Payload.IntegratedTime, 0).UTC(), Verified: true}
	}
	if s.cert == nil {
		return tl, nil
	}
	if cp.trusted == nil {
		return nil, errors.New("a keyless signature needs a trusted root")
	}
	chains, err := sgverify.VerifyLeafCertificate(s.cert.NotBefore, s.cert, cp.trusted)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w%s", err, caHint(s.cert, cp.trusted))
	}
	if cp.requireSCT {
		if err := sgverify.VerifySignedCertificateTimestamp(chains, 1, cp.trusted); err != nil {
			return nil, fmt.Errorf("certificate transparency: %w", err)
		}
	}
	at, how := time.Now(), "now"
	if tl != nil {
		at, how = tl.IntegratedTime, "when it was logged"
	}
	if at.Before(s.cert.NotBefore) || at.After(s.cert.NotAfter) {
		return nil, fmt.Errorf("certificate not valid %s (%s): it is valid from %s to %s",
			how, at.Format(time.RFC3339), s.cert.NotBefore.Format(time.RFC3339), s.cert.NotAfter.Format(time.RFC3339))
	}
	return tl, nil
}

// checkRekorBundle checks the Rekor entry attached to a signature: the signed entry
// timestamp by a log of the trusted root, and that the entry records this signature, this
// key or certificate, and the payload's hash.
func checkRekorBundle(s *cosignSignature, pub crypto.PublicKey, trusted root.TrustedMaterial) error {
	if trusted == nil || len(trusted.RekorLogs()) == 0 {
		return errors.New("the trusted root has no transparency log")
	}
	p := s.bundle.Payload
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
	if got, err := base64.StdEncoding.DecodeString(e.Spec.Signature.Content); err != nil || !bytes.Equal(got, s.sig) {
		return errors.New("the entry records another signature")
	}
	keyPEM, err := base64.StdEncoding.DecodeString(e.Spec.Signature.PublicKey.Content)
	if err != nil {
		return errors.New("the entry's public key is not base64")
	}
	if s.cert != nil {
		certs, err := cryptoutils.UnmarshalCertificatesFromPEM(keyPEM)
		if err != nil || len(certs) == 0 || !bytes.Equal(certs[0].Raw, s.cert.Raw) {
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
	sum := sha256.Sum256(s.payload)
	if e.Spec.Data.Hash.Algorithm != "sha256" || e.Spec.Data.Hash.Value != hex.EncodeToString(sum[:]) {
		return errors.New("the entry records another payload")
	}
	logID, _ := hex.DecodeString(p.LogID) // checked when parsed
	entry, err := tlog.NewEntry(body, p.IntegratedTime, p.LogIndex, logID, s.bundle.SignedEntryTimestamp, nil)
	if err != nil {
		return fmt.Errorf("entry: %w", err)
	}
	if err := tlog.VerifySET(entry, trusted.RekorLogs()); err != nil {
		return fmt.Errorf("signed entry timestamp: %w", err)
	}
	return nil
}

// caHint explains a certificate that does not chain to the trusted root when the reason
// is the root's validity: every certificate authority's period ended (or had not
// started) when the certificate was issued.
func caHint(cert *x509.Certificate, trusted root.TrustedMaterial) string {
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
