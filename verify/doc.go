// Package verify verifies the signatures of gitless artifacts, in the formats of the
// cosign CLI, so that what cosign (v2 and v3), Flux and gitless (package sign) sign,
// gitless accepts; and it holds the types both sides share (Format, Signer, TlogEntry,
// Limits).
//
// Verification takes a Policy: plain, serialisable data (public keys, keyless identities
// matched exactly or by anchored regular expressions, GitHub claims, a trusted root for
// offline use, whether a transparency-log proof is required). Verify reads both formats
// (cosign's sha256-<hex>.sig image, and sigstore bundles stored as OCI 1.1 referrers,
// cosign v3's default), bounded by Limits, through artifact/remote (every registry call),
// and returns the verified digest and who signed it. Its errors tell a security event
// (ErrVerificationFailed: never apply) from a check that could not be made
// (ErrUnavailable: retry) and from a wrong policy (ErrInvalidPolicy). The public Sigstore
// root, when a policy needs it and names no other, is fetched through TUF (tuf.go).
//
// The signature checks themselves (cosign's format, sigstore bundles, Fulcio
// identities) are internal/sigstore's, which package sign runs on what it makes before
// pushing it. The formats, defaults and the reasons for them are in docs/signing.md.
//
// Example, in the cluster: verify the digest the tag resolved to, then fetch exactly
// that digest.
//
//	c := verify.New(verify.Options{Credentials: chain})
//	policy := &verify.Policy{Keys: []string{"/etc/gitless/cosign.pub"}}
//	res, err := c.Verify(ctx, ref.WithDigest(d), policy)
//	switch {
//	case errors.Is(err, verify.ErrVerificationFailed):
//		// alert; never apply
//	case errors.Is(err, verify.ErrUnavailable):
//		// retry later
//	case err == nil:
//		// apply res.Digest; res.Signer says who signed
//	}
package verify
