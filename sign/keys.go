package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
	sigopts "github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/gitless-dev/gitless/internal/sigstore"
)

// PasswordEnv is the variable the cosign CLI reads the private key password from; gitless
// reads the same.
const PasswordEnv = "COSIGN_PASSWORD"

// KeyOptions configures LoadSigningKey.
type KeyOptions struct {
	// Password returns the password of an encrypted cosign private key. Nil means the
	// value of COSIGN_PASSWORD (through Getenv), which may be empty.
	Password func() ([]byte, error)
	// Getenv reads env://VAR references and COSIGN_PASSWORD; nil means os.Getenv.
	Getenv func(string) string
}

func (o KeyOptions) getenv(k string) string { return sigstore.Getenv(o.Getenv)(k) }

func (o KeyOptions) password() ([]byte, error) {
	if o.Password != nil {
		return o.Password()
	}
	return []byte(o.getenv(PasswordEnv)), nil
}

// SigningKey is a private key that signs: a cosign key pair's private half, or a key held
// by a KMS. Load one with LoadSigningKey.
type SigningKey struct {
	ref string
	sv  signature.SignerVerifier
	pub crypto.PublicKey
}

// Ref is the reference the key was loaded from (a path, env://VAR or a KMS URI).
func (k *SigningKey) Ref() string { return k.ref }

// PublicKey returns the public half.
func (k *SigningKey) PublicKey() crypto.PublicKey { return k.pub }

// KeyID returns "sha256:" and the hex SHA-256 of the public key's PKIX encoding: the same
// value verify reports for a key signature.
func (k *SigningKey) KeyID() string { return sigstore.KeyID(k.pub) }

// PublicKeyPEM returns the public key in PEM, as cosign writes cosign.pub.
func (k *SigningKey) PublicKeyPEM() ([]byte, error) { return cryptoutils.MarshalPublicKeyToPEM(k.pub) }

func (k *SigningKey) sign(ctx context.Context, msg []byte) ([]byte, error) {
	sig, err := k.sv.SignMessage(bytes.NewReader(msg), sigopts.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w: signing with %s: %w", ErrSigning, k.ref, err)
	}
	return sig, nil
}

// LoadSigningKey loads a private key. ref is a path to a cosign private key file (the
// encrypted PEM "cosign generate-key-pair" and "gitless key generate" write), env://VAR
// holding that PEM, or a KMS URI the sigstore library resolves: a provider linked into
// the program or a sigstore-kms-<scheme> plugin on PATH. The password comes from
// opts.Password, else COSIGN_PASSWORD. Errors match ErrKey and never contain key
// material.
func LoadSigningKey(ctx context.Context, ref string, opts KeyOptions) (*SigningKey, error) {
	if ref == "" {
		return nil, fmt.Errorf("%w: no key reference", ErrKey)
	}
	if sigstore.IsKMS(ref) {
		sv, err := kms.Get(ctx, ref, crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrKey, ref, err)
		}
		pub, err := sv.PublicKey(sigopts.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("%w %s: reading the public key: %w", ErrKey, ref, err)
		}
		return &SigningKey{ref: ref, sv: sv, pub: pub}, nil
	}
	pemBytes, err := sigstore.ReadKeyRef(ref, opts.getenv)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	pass, err := opts.password()
	if err != nil {
		return nil, fmt.Errorf("%w %s: reading the password: %w", ErrKey, ref, err)
	}
	sv, err := decryptPrivateKey(pemBytes, pass)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrKey, ref, err)
	}
	pub, err := sv.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrKey, ref, err)
	}
	return &SigningKey{ref: ref, sv: sv, pub: pub}, nil
}

// KeyPair is a freshly generated cosign key pair.
type KeyPair struct {
	// PrivatePEM is the private key encrypted with the password (scrypt and
	// secretbox, cosign's format): write it to cosign.key with mode 0600.
	PrivatePEM []byte
	// PublicPEM is the public key: write it to cosign.pub.
	PublicPEM []byte
}

// GenerateKeyPair makes an ECDSA P-256 key pair in cosign's format, which the cosign CLI
// of both lines reads ("cosign sign --key cosign.key", "cosign verify --key cosign.pub").
func GenerateKeyPair(password []byte) (*KeyPair, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating a key pair: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("generating a key pair: %w", err)
	}
	// scrypt and NaCl secretbox with the library's standard parameters, as cosign does.
	enc, err := encrypted.Encrypt(der, password)
	if err != nil {
		return nil, fmt.Errorf("encrypting the private key: %w", err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, err
	}
	return &KeyPair{PrivatePEM: pem.EncodeToMemory(&pem.Block{Type: sigstorePrivateKeyPEM, Bytes: enc}), PublicPEM: pub}, nil
}

// The PEM block types of cosign's encrypted private keys: cosign v1 wrote COSIGN, later
// versions write SIGSTORE; both are read.
const (
	cosignPrivateKeyPEM   = "ENCRYPTED COSIGN PRIVATE KEY"
	sigstorePrivateKeyPEM = "ENCRYPTED SIGSTORE PRIVATE KEY"
)

// decryptPrivateKey reads a cosign private key: a PEM block holding the PKCS #8 key
// encrypted with scrypt and secretbox. Errors never include key material.
func decryptPrivateKey(pemBytes, password []byte) (signature.SignerVerifier, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("not a PEM file")
	}
	if block.Type != cosignPrivateKeyPEM && block.Type != sigstorePrivateKeyPEM {
		return nil, fmt.Errorf("PEM block %q is not a cosign private key (want %s)", block.Type, sigstorePrivateKeyPEM)
	}
	der, err := encrypted.Decrypt(block.Bytes, password)
	if err != nil {
		if strings.Contains(err.Error(), "decryption failed") {
			return nil, fmt.Errorf("wrong password (%s) or damaged key", PasswordEnv)
		}
		return nil, errors.New("the encrypted key does not parse (damaged file?)")
	}
	pk, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, errors.New("the decrypted key is not a PKCS #8 private key")
	}
	// Ed25519 keys sign in the pre-hashed variant, as cosign does (what Rekor accepts).
	return signature.LoadDefaultSignerVerifier(pk, sigopts.WithED25519ph())
}
