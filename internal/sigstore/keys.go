package sigstore

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxKeyFile caps what is read from a key file or variable: PEM keys are a few hundred
// bytes.
const MaxKeyFile = 64 << 10

// IsKMS reports whether a key reference names a KMS key: a URI scheme other than
// env://.
func IsKMS(ref string) bool {
	i := strings.Index(ref, "://")
	return i > 0 && ref[:i] != "env" && !strings.ContainsAny(ref[:i], "/\\ ")
}

// ReadKeyRef reads a PEM key from a file or env://VAR, capped at MaxKeyFile.
func ReadKeyRef(ref string, getenv func(string) string) ([]byte, error) {
	if name, ok := strings.CutPrefix(ref, "env://"); ok {
		if name == "" {
			return nil, fmt.Errorf("%s: no variable name", ref)
		}
		v := getenv(name)
		if v == "" {
			return nil, fmt.Errorf("%s: variable %s is empty or unset", ref, name)
		}
		if len(v) > MaxKeyFile {
			return nil, fmt.Errorf("%s: %d bytes, over the %d byte limit for a key", ref, len(v), MaxKeyFile)
		}
		return []byte(v), nil
	}
	if LooksLikeKey(ref) {
		// A key pasted where its path belongs (signing-key: $COSIGN_PRIVATE_KEY for
		// env://COSIGN_PRIVATE_KEY): never quoted, as a file name would be.
		return nil, fmt.Errorf("the key reference is a key itself (%d bytes), not a file path, env://VAR or KMS URI: keep it in a secret variable and pass env://VAR", len(ref))
	}
	f, err := os.Open(ref)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	if len(b) > MaxKeyFile {
		return nil, fmt.Errorf("%s: over the %d byte limit for a key file", ref, MaxKeyFile)
	}
	return b, nil
}

// LooksLikeKey reports whether ref holds key material rather than naming it: PEM, a
// line break, or more than a path's length.
func LooksLikeKey(ref string) bool {
	return strings.Contains(ref, "-----BEGIN") || strings.ContainsAny(ref, "\n\r") || len(ref) > 4096
}

// KeyID is "sha256:" and the hex SHA-256 of a public key's PKIX encoding.
func KeyID(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Getenv is getenv, or os.Getenv when nil.
func Getenv(getenv func(string) string) func(string) string {
	if getenv == nil {
		return os.Getenv
	}
	return getenv
}
