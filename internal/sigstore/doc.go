// Package sigstore holds what signing (package sign) and verifying (package verify)
// share: the wire formats of cosign's signatures (the sha256-<hex>.sig image and its
// simple-signing layers, Rekor bundles) and of sigstore bundles, the checks a signature
// of either format gets against a key or a trusted root, Fulcio certificate identities,
// public key references and trusted roots. Signing checks what it made with the same
// code that verification runs.
//
// It links no cosign library: cosign's formats are rebuilt on sigstore-go and sigstore
// (the cosign library links a CLI framework through Rekor's PKCS #7 support).
package sigstore
