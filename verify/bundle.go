package verify

import (
	"context"
	"errors"
	"fmt"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/gitless-dev/gitless/internal/sigstore"
)

// verifyBundle checks one sigstore bundle (cosign v3's default format) with sigstore-go:
// against every key of the policy when it carries a public key hint, against the
// trusted root and the identities when it carries a certificate.
func (st *verifyState) verifyBundle(ctx context.Context, what string, b *sgbundle.Bundle) *Result {
	entries, _ := b.TlogEntries()
	if len(entries) > 0 && st.cp.requireTlog && !st.ensureRoot(ctx) {
		return nil
	}
	checks := st.cp.checks()
	tlog := tlogEntry(sigstore.BundleTlog(b, checks))
	result := func(s Signer) *Result {
		return &Result{Reference: st.ref, Digest: st.ref.Digest, Format: FormatBundle, Signer: s, Tlog: tlog, Signatures: st.found}
	}
	cert := sigstore.LeafCertificate(b)
	if cert == nil {
		if len(st.cp.keys) == 0 {
			st.reject(what, errors.New("signed with a key, and the policy has no keys"))
			return nil
		}
		for _, k := range st.keysFor(what) {
			err := sigstore.VerifyKeyBundle(b, st.ref.Digest, k.verifier, checks)
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
	// Identities are matched below, anchored, against the verified certificate.
	if err := sigstore.VerifyCertBundle(b, st.ref.Digest, checks); err != nil {
		st.reject(what+", certificate", err)
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
