package verify

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/gitless-dev/gitless/internal/sigstore"
)

// publicKey is a trusted key of a compiled policy.
type publicKey struct {
	ref      string // as given, or "keys[i] (inline PEM)"
	id       string
	pub      crypto.PublicKey
	verifier signature.Verifier
}

// loadPublicKey resolves one entry of Policy.Keys.
func loadPublicKey(ctx context.Context, i int, ref string, getenv func(string) string) (*publicKey, error) {
	field := fmt.Sprintf("keys[%d]", i)
	name := ref
	var raw []byte
	switch {
	case strings.HasPrefix(strings.TrimSpace(ref), "-----BEGIN"):
		name = field + " (inline PEM)"
		raw = []byte(ref)
	case sigstore.IsKMS(ref):
		sv, err := kms.Get(ctx, ref, crypto.SHA256)
		if err != nil {
			var pnf *kms.ProviderNotFoundError
			if errors.As(err, &pnf) {
				return nil, &PolicyError{Field: field, Err: err}
			}
			return nil, unavailable(fmt.Errorf("loading key %s: %w", ref, err))
		}
		pub, err := sv.PublicKey(sigopts.WithContext(ctx))
		if err != nil {
			return nil, unavailable(fmt.Errorf("loading key %s: %w", ref, err))
		}
		return newPublicKey(field, ref, pub)
	default:
		b, err := sigstore.ReadKeyRef(ref, sigstore.Getenv(getenv))
		if err != nil {
			return nil, &PolicyError{Field: field, Err: err}
		}
		raw = b
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(raw)
	if err != nil {
		return nil, policyErr(field, "%s: not a PEM public key: %v", name, err)
	}
	return newPublicKey(field, name, pub)
}

func newPublicKey(field, name string, pub crypto.PublicKey) (*publicKey, error) {
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, policyErr(field, "%s: %v", name, err)
	}
	return &publicKey{ref: name, id: sigstore.KeyID(pub), pub: pub, verifier: v}, nil
}
