// Package sigstoretest runs a private Sigstore on loopback for tests that cannot reach
// the public one: an OIDC issuer that mints GitHub-Actions-like tokens, a Fulcio-like
// certificate authority that turns them into short-lived code-signing certificates with
// Fulcio's extensions, a Rekor-like transparency log, and the trusted_root.json that
// makes a verifier trust exactly these.
//
// Each part speaks the wire protocol of the real service, so that clients use their
// production code paths:
//
//   - Fulcio: POST /api/v2/signingCert (the OIDC token as bearer, the public key and a
//     proof of possession over the token's subject); the answer is the PEM chain
//     (leaf, intermediate, root). The leaf carries the issuer (OIDs 1.3.6.1.4.1.57264.1.1
//     and .1.8), the subject alternative name (the workflow ref URI for GitHub tokens)
//     and the GitHub claims (.1.2 to .1.6 and .1.9 to .1.21), as Fulcio writes them.
//   - Rekor: POST /api/v1/log/entries with a hashedrekord or dsse entry; the entry is
//     canonicalized with Rekor's own types, appended to an RFC 6962 Merkle tree, and
//     returned with a signed entry timestamp, an inclusion proof and a checkpoint signed
//     with Rekor's note format.
//   - GitHub Actions' token endpoint (ACTIONS_ID_TOKEN_REQUEST_URL): GET with the request
//     token as bearer and ?audience=, answering {"value": "<jwt>"}.
//
// What is simplified: tokens are verified against the issuer's key directly (no OIDC
// discovery), certificates carry no SCT (the trusted root lists no CT log, which makes
// verifiers skip that check), and the log keeps one tree in memory.
//
// Example:
//
//	ss := sigstoretest.Start(t, sigstoretest.Options{})
//	token := ss.GitHubToken(sigstoretest.GitHubClaims{Repository: "acme/app", Ref: "refs/heads/main", SHA: sha})
//	// sign keylessly with FulcioURL ss.FulcioURL and token, RekorURL ss.RekorURL
//	root := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{})
//	// verify with the trusted root at root
package sigstoretest
