// Package verify signs gitless artifacts and verifies their signatures, in the formats
// of the cosign CLI so that cosign, Flux and gitless all read each other's signatures.
//
// Signing always covers a manifest digest, never a tag: Sign resolves a tag once and says
// which digest it signed. Keys are cosign key pairs (GenerateKeyPair, LoadSigningKey with
// COSIGN_PASSWORD, env://VAR, or a KMS URI); keyless signing gets a short-lived Fulcio
// certificate for the CI's OIDC token (DetectIDToken reads GitHub Actions' and GitLab's)
// and records the signature in Rekor, unless SignOptions.TlogUpload is off for air-gapped
// setups.
//
// Verification takes a Policy: plain, serialisable data (public keys, keyless identities
// matched exactly or by anchored regular expressions, GitHub claims, a trusted root for
// offline use, whether a transparency-log proof is required). Verify reads both formats
// (cosign's sha256-<hex>.sig image, and sigstore bundles stored as OCI 1.1 referrers,
// cosign v3's default), bounded by Limits, and returns the verified digest and who signed
// it. Its errors tell a security event (ErrVerificationFailed: never apply) from a check
// that could not be made (ErrUnavailable: retry) and from a wrong policy
// (ErrInvalidPolicy).
//
// The formats, defaults and the reasons for them are in docs/signing.md.
//
// Example, in CI and in the cluster:
//
//	// CI: sign what was pushed
//	key, err := verify.LoadSigningKey(ctx, "cosign.key", verify.KeyOptions{}) // COSIGN_PASSWORD
//	if err != nil {
//		return err
//	}
//	c := verify.New(verify.Options{Credentials: chain})
//	opts := verify.DefaultSignOptions()
//	opts.Key = key
//	signed, err := c.Sign(ctx, ref, opts) // signed.Digest is what was signed
//
//	// cluster: verify the digest the tag resolved to, then fetch exactly that digest
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
