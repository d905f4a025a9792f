package auth

import "errors"

// Sentinel errors. Every error this package returns that is caused by bad
// input wraps one of these, so callers can tell a configuration mistake apart
// from an I/O failure with errors.Is. No error carries a secret.
var (
	// ErrInvalidHost: a registry host (or a dockerconfigjson key) that does
	// not name a registry host, see NormalizeHost.
	ErrInvalidHost = errors.New("invalid registry host")

	// ErrInvalidCredential: credentials given on the command line or in a
	// dockerconfigjson entry that cannot be used, e.g. "user:token" without
	// a user, or an "auth" field that is not base64("user:password").
	ErrInvalidCredential = errors.New("invalid credential")

	// ErrMalformedConfig: a dockerconfigjson (or legacy dockercfg) document
	// that is not JSON, has no "auths" object, or is larger than
	// MaxDockerConfigSize.
	ErrMalformedConfig = errors.New("malformed docker config")
)
