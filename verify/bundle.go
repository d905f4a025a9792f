package verify

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
)

// verifyBundle checks one sigstore bundle (cosign v3's default format) with sigstore-go:
// against every key of the policy when it carries a public key hint, against the
// trusted root and the identities when it carries a certificate.
func (st *verifyState) verifyBundle(ctx context.Context, what string, b *sgbundle.Bundle) *Result {
	artifactPolicy := sgverify.WithArtifactDigest(st.ref.Digest.Algorithm().String(), digestBytes(st.ref.Digest))
	var tlog *TlogEntry
	entries, _ := b.TlogEntries()
	if len(entries) > 0 && st.cp.requireTlog && !st.ensureRoot(ctx) {
		return nil
	}
	if len(entries) > 0 {
		e := entries[0]
		tlog = &TlogEntry{LogIndex: e.LogIndex(), LogID: hex.EncodeToString([]byte(e.LogKeyID())),
			IntegratedTime: e.IntegratedTime().UTC(), Verified: st.cp.requireTlog}
	}
	result := func(s Signer) *Result {
		return &Result{Reference: st.ref, Digest: st.ref.Digest, Format: FormatBundle, Signer: s, Tlog: tlog, Signatures: st.found}
	}
	cert := leafCertificate(b)
	if cert == nil {
		if len(st.cp.keys) == 0 {
			st.reject(what, errors.New("signed with a key, and the policy has no keys"))
			return nil
		}
		for _, k := range st.cp.keys {
			var opts []sgverify.VerifierOption
			if st.cp.requireTlog {
				opts = append(opts, sgverify.WithTransparencyLog(1))
			}
			opts = append(opts, sgverify.WithNoObserverTimestamps())
			err := guard(func() error {
				v, err := sgverify.NewVerifier(st.keyMaterial(k), opts...)
				if err != nil {
					return err
				}
				_, err = v.Verify(b, sgverify.NewPolicy(artifactPolicy, sgverify.WithKey()))
				return err
			})
			if err == nil {
				return result(Signer{Key: k.ref, KeyID: k.id})
			}
			st.reject(fmt.Sprintf("%s, key %s", what, k.ref), err)
		}
		return nil
	}
	if len(st.cp.identities) == 0 {
		st.reject(what, errors.New("keyless signature, and the policy has no identities"))
		return nil
	}
	var opts []sgverify.VerifierOption
	if st.cp.requireSCT {
		opts = append(opts, sgverify.WithSignedCertificateTimestamps(1))
	}
	if st.cp.requireTlog {
		// The certificate is checked at a time someone vouches for: Rekor v1's integrated
		// time, or a timestamp authority's (what Rekor v2 entries come with).
		opts = append(opts, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
	} else {
		opts = append(opts, sgverify.WithCurrentTime())
	}
	err := guard(func() error {
		v, err := sgverify.NewVerifier(st.cp.trusted, opts...)
		if err != nil {
			return err
		}
		// Identities are matched below, anchored, against the verified certificate.
		_, err = v.Verify(b, sgverify.NewPolicy(artifactPolicy, sgverify.WithoutIdentitiesUnsafe()))
		return err
	})
	if err != nil {
		st.reject(what+", certificate", fmt.Errorf("%w%s", err, caHint(cert, st.cp.trusted)))
		return nil
	}
	signer, err := st.checkIdentity(ctx, cert)
	if err != nil {
		if errors.Is(err, ErrUnavailable) && st.transient == nil {
			st.transient = err
		}
		st.reject(what, err)
		return nil
	}
	return result(signer)
}

// keyMaterial is the trusted material for verifying a key bundle: the key, plus the
// trusted root's transparency logs when the policy has one.
func (st *verifyState) keyMaterial(k *publicKey) root.TrustedMaterial {
	key := root.NewExpiringKey(k.verifier, time.Time{}, time.Time{})
	km := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	if st.cp.trusted == nil {
		return km
	}
	return root.TrustedMaterialCollection{st.cp.trusted, km}
}
