// Package sign signs gitless artifacts in the formats of the cosign CLI, so that
// cosign (v2 and v3), Flux and gitless (package verify) all verify them.
//
// Signing always covers a manifest digest, never a tag: Sign resolves a tag once and
// says which digest it signed. Keys are cosign key pairs (GenerateKeyPair, LoadSigningKey
// with COSIGN_PASSWORD, env://VAR, or a KMS URI); keyless signing gets a short-lived
// Fulcio certificate for the CI's OIDC token (DetectIDToken reads GitHub Actions' and
// GitLab's) and records the signature in Rekor, unless Options.TlogUpload is off for
// air-gapped setups. The signature goes where cosign puts it: a layer of the
// sha256-<hex>.sig image next to the artifact (the default, which both cosign lines and
// Flux verify), or a sigstore bundle pushed as an OCI 1.1 referrer
// (verify.FormatBundle, cosign v3's default).
//
// Each concern has its file: keys.go (cosign key pairs and KMS keys), oidc.go (finding
// a token in CI), fulcio.go and rekor.go (the two Sigstore services), cosign.go and
// bundle.go (the two formats). Every registry call goes through artifact/remote; the
// wire formats and the checks a new signature gets before it is pushed (with
// Options.TrustedRoot) are internal/sigstore's, the code package verify runs.
//
//	key, err := sign.LoadSigningKey(ctx, "cosign.key", sign.KeyOptions{}) // COSIGN_PASSWORD
//	if err != nil {
//		return err
//	}
//	c := sign.New(sign.ClientOptions{Credentials: chain})
//	opts := sign.DefaultOptions()
//	opts.Key = key
//	res, err := c.Sign(ctx, ref, opts) // res.Digest is what was signed
package sign
