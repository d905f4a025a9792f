package sigstore

import (
	"encoding/hex"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// BundleTlog is the first transparency-log entry a bundle carries, nil without one.
// Verified is set to c.RequireTlog: the entry is checked exactly when it is required.
func BundleTlog(b *sgbundle.Bundle, c Checks) *TlogEntry {
	entries, _ := b.TlogEntries()
	if len(entries) == 0 {
		return nil
	}
	e := entries[0]
	return &TlogEntry{LogIndex: e.LogIndex(), LogID: hex.EncodeToString([]byte(e.LogKeyID())),
		IntegratedTime: e.IntegratedTime().UTC(), Verified: c.RequireTlog}
}

// VerifyKeyBundle checks a bundle signed with a key (sigstore-go): the signature by v
// over the artifact digest d and, when c.RequireTlog, its log entry against c.Trusted.
func VerifyKeyBundle(b *sgbundle.Bundle, d digest.Digest, v signature.Verifier, c Checks) error {
	var opts []sgverify.VerifierOption
	if c.RequireTlog {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	opts = append(opts, sgverify.WithNoObserverTimestamps())
	return Guard(func() error {
		sv, err := sgverify.NewVerifier(keyMaterial(v, c.Trusted), opts...)
		if err != nil {
			return err
		}
		_, err = sv.Verify(b, sgverify.NewPolicy(artifactPolicy(d), sgverify.WithKey()))
		return err
	})
}

// VerifyCertBundle checks a keyless bundle against c.Trusted (sigstore-go): the
// signature over d, the certificate's chain, its SCT when c.RequireSCT, and with
// c.RequireTlog the log entry, the certificate being checked at a time someone vouches
// for (Rekor v1's integrated time, or a timestamp authority's, what Rekor v2 entries
// come with). The certificate's identity is the caller's to match.
func VerifyCertBundle(b *sgbundle.Bundle, d digest.Digest, c Checks) error {
	var opts []sgverify.VerifierOption
	if c.RequireSCT {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	if c.RequireTlog {
		opts = append(opts, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
	} else {
		opts = append(opts, sgverify.WithCurrentTime())
	}
	err := Guard(func() error {
		sv, err := sgverify.NewVerifier(c.Trusted, opts...)
		if err != nil {
			return err
		}
		_, err = sv.Verify(b, sgverify.NewPolicy(artifactPolicy(d), sgverify.WithoutIdentitiesUnsafe()))
		return err
	})
	if err != nil {
		if cert := LeafCertificate(b); cert != nil {
			return fmt.Errorf("%w%s", err, CAHint(cert, c.Trusted))
		}
	}
	return err
}

func artifactPolicy(d digest.Digest) sgverify.ArtifactPolicyOption {
	raw, _ := hex.DecodeString(d.Encoded())
	return sgverify.WithArtifactDigest(d.Algorithm().String(), raw)
}

// keyMaterial is the trusted material for verifying a key bundle: the key, plus the
// trusted root's transparency logs when there is a root.
func keyMaterial(v signature.Verifier, trusted root.TrustedMaterial) root.TrustedMaterial {
	key := root.NewExpiringKey(v, time.Time{}, time.Time{})
	km := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	if trusted == nil {
		return km
	}
	return root.TrustedMaterialCollection{trusted, km}
}

// Guard runs a verification step on untrusted input, turning a panic in a library
// into an error.
func Guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("verifier failed on malformed input: %v", r)
		}
	}()
	return f()
}
