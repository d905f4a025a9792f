package sign

import "errors"

// Sentinel errors. Match them with errors.Is; the errors returned carry the details.
var (
	// ErrKey: a private key that cannot be loaded (wrong password, not a cosign key,
	// unreadable file, unknown KMS provider). Sign and LoadSigningKey return it.
	ErrKey = errors.New("cannot load the signing key")
	// ErrSigning: signing could not complete (Fulcio or Rekor refused or unreachable,
	// no OIDC token, the new signature does not check against the trusted root). Sign
	// returns it; registry errors are returned as artifact/remote gives them.
	ErrSigning = errors.New("signing failed")
	// ErrIDToken: an OIDC token that Fulcio would refuse, found before anything is
	// pushed or signed (CheckIDToken): not a JWT, expired or about to, or for another
	// audience.
	ErrIDToken = errors.New("unusable OIDC token")
)
