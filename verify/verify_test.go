package verify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/verify"
)

func TestKeyRoundTrip(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	c := verify.New(verify.Options{})
	priv, pub := keyPair(t, "s3cret")
	key := loadKey(t, priv, "s3cret")

	for _, format := range []verify.Format{verify.FormatCosign, verify.FormatBundle} {
		t.Run(string(format), func(t *testing.T) {
			ref := pushArtifact(t, reg, "demo/"+string(format), "v1", "app-"+string(format))
			// sign by tag: resolved to the digest
			res := keySign(t, ref.WithTag("v1"), key, format)
			if res.Digest != ref.Digest || res.Format != format || res.Signer.KeyID != key.KeyID() {
				t.Fatalf("sign result %+v, want digest %s", res, ref.Digest)
			}
			policy := &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true}
			vr, err := c.Verify(ctx, ref, policy)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if vr.Digest != ref.Digest || vr.Format != format || vr.Signer.Key != pub || vr.Signer.KeyID != key.KeyID() {
				t.Fatalf("verify result %+v", vr)
			}
		})
	}
}

func TestKeyBadInput(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	c := verify.New(verify.Options{})
	priv, pub := keyPair(t, "pw")
	_, otherPub := keyPair(t, "pw")
	key := loadKey(t, priv, "pw")
	signed := pushArtifact(t, reg, "demo/app", "v1", "one")
	unsigned := pushArtifact(t, reg, "demo/app", "v2", "two")
	keySign(t, signed, key, verify.FormatCosign)

	tests := []struct {
		name   string
		policy *verify.Policy
		ref    func() string
		is     []error
		msg    string
	}{
		{"wrong key", &verify.Policy{Keys: []string{otherPub}, InsecureIgnoreTlog: true}, signed.String,
			[]error{verify.ErrVerificationFailed}, "none of the 1 signature"},
		{"no signature", &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true}, unsigned.String,
			[]error{verify.ErrVerificationFailed, verify.ErrNoSignatures}, "no signatures found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := signed
			if tt.ref != nil {
				ref = mustParse(t, tt.ref())
			}
			_, err := c.Verify(ctx, ref, tt.policy)
			if err == nil {
				t.Fatal("verified")
			}
			for _, want := range tt.is {
				if !errors.Is(err, want) {
					t.Errorf("error %v is not %v", err, want)
				}
			}
			if errors.Is(err, verify.ErrUnavailable) || errors.Is(err, verify.ErrInvalidPolicy) {
				t.Errorf("error %v is also unavailable/invalid policy", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}
