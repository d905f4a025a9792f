package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	neturl "net/url"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/verify"
)

// The public Sigstore services, the defaults of cosign.
const (
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
	DefaultRekorURL  = "https://rekor.sigstore.dev"
)

// Options says how to sign. Start from DefaultOptions.
type Options struct {
	// Key signs when set (LoadSigningKey). When nil, signing is keyless: an ephemeral
	// key, certified by Fulcio for the identity in Keyless.IDToken.
	Key *SigningKey
	// Keyless configures keyless signing.
	Keyless KeylessOptions
	// TlogUpload records the signature in the Rekor transparency log at RekorURL and
	// attaches the entry's proof. Off for air-gapped signing (cosign's
	// --tlog-upload=false); verifiers must then be told to ignore the log.
	TlogUpload bool
	// RekorURL is the Rekor instance; DefaultRekorURL by default.
	RekorURL string
	// Format is how the signature is stored; verify.FormatCosign by default (see
	// docs/signing.md for why).
	Format verify.Format
	// TrustedRoot, when set, is the path of a Sigstore trusted root the new signature is
	// checked against before it is pushed: the certificate must chain to its CA, the log
	// entry must carry its log's signature. For private Sigstore deployments.
	TrustedRoot string
}

// KeylessOptions configures keyless signing.
type KeylessOptions struct {
	// FulcioURL is the Fulcio instance; DefaultFulcioURL by default.
	FulcioURL string
	// IDToken is the OIDC token Fulcio certifies (DetectIDToken finds one in CI).
	IDToken string
}

// DefaultOptions: keyless against the public Sigstore, with a transparency-log entry, in
// cosign's signature format.
func DefaultOptions() Options {
	return Options{
		Keyless:    KeylessOptions{FulcioURL: DefaultFulcioURL},
		TlogUpload: true,
		RekorURL:   DefaultRekorURL,
		Format:     verify.FormatCosign,
	}
}

// Result describes a signature that was made (or found already there).
type Result struct {
	// Reference is the artifact, pinned to Digest.
	Reference artifact.Reference `json:"-"`
	// Digest is what was signed: the manifest digest, never a tag.
	Digest digest.Digest `json:"digest"`
	// Format is the format the signature was stored in.
	Format verify.Format `json:"format"`
	// Signature is where it is: oci://REPO:sha256-<hex>.sig (cosign format) or
	// oci://REPO@<referrer digest> (bundle format).
	Signature string `json:"signature"`
	// Signer is the key or the certified identity.
	Signer verify.Signer `json:"signer"`
	// Tlog is the transparency-log entry, when one was made.
	Tlog *verify.TlogEntry `json:"tlog,omitempty"`
	// AlreadySigned is true when a signature by the same key over the same digest was
	// already there: nothing was signed or uploaded.
	AlreadySigned bool `json:"alreadySigned"`
}

// ClientOptions configures a Client: how it reaches registries and the Sigstore
// services, and the limits it puts on the signatures it finds.
type ClientOptions struct {
	// Registry, when set, makes every registry call (Credentials, Insecure, HTTPClient
	// and UserAgent are then unused for registries).
	Registry *remote.Client
	// Credentials for registries; nil means anonymous access. auth.Chain implements it.
	Credentials remote.CredentialResolver
	// Insecure allows plain HTTP to registries that are not on loopback.
	Insecure bool
	// HTTPClient talks to registries; nil means oras-go's retrying client.
	HTTPClient *http.Client
	// ServiceClient talks to Fulcio, Rekor and the OIDC token endpoint; nil means
	// http.DefaultClient.
	ServiceClient *http.Client
	// UserAgent is sent with every request; "gitless" by default.
	UserAgent string
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
	// Limits bound what is read of the signatures already next to an artifact; zero
	// fields take verify.DefaultLimits.
	Limits verify.Limits
}

// Client signs artifacts. It is safe for concurrent use.
type Client struct {
	opts   ClientOptions
	limits verify.Limits
	reg    *remote.Client
}

// New returns a Client.
func New(opts ClientOptions) *Client {
	if opts.HTTPClient == nil {
		opts.HTTPClient = remote.DefaultHTTPClient
	}
	if opts.ServiceClient == nil {
		opts.ServiceClient = http.DefaultClient
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "gitless"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registry
	if reg == nil {
		reg = remote.New(remote.Options{
			Credentials: opts.Credentials,
			Insecure:    opts.Insecure,
			HTTPClient:  opts.HTTPClient,
			UserAgent:   opts.UserAgent,
			Logger:      opts.Logger,
		})
	}
	return &Client{opts: opts, limits: opts.Limits.WithDefaults(), reg: reg}
}

// Sign signs the artifact ref names with the package defaults for registry access
// (anonymous; see Client.Sign).
func Sign(ctx context.Context, ref artifact.Reference, opts Options) (*Result, error) {
	return New(ClientOptions{}).Sign(ctx, ref, opts)
}

// Sign signs the manifest digest of the artifact ref names. A reference with a tag and
// no digest is resolved first (one HEAD request, or one GET where the registry refuses
// HEAD) and the result says which digest was signed. In the cosign format the
// signature is appended to the sha256-<hex>.sig image (created if needed); when that
// image already holds a signature by the same key over the same digest, nothing is done
// and AlreadySigned is set. In the bundle format a new referrer is pushed.
func (c *Client) Sign(ctx context.Context, ref artifact.Reference, opts Options) (*Result, error) {
	if opts.Format == "" {
		opts.Format = verify.FormatCosign
	}
	if opts.Format != verify.FormatCosign && opts.Format != verify.FormatBundle {
		return nil, fmt.Errorf("%w: unknown signature format %q (want %s or %s)", ErrSigning, opts.Format, verify.FormatCosign, verify.FormatBundle)
	}
	if opts.Key == nil && opts.Keyless.IDToken == "" {
		return nil, fmt.Errorf("%w: no key and no OIDC token for keyless signing", ErrSigning)
	}
	// With the digest known, the existing signatures are read while it is resolved.
	var existing *signatureImage
	var existingErr error
	done := make(chan struct{})
	if opts.Format == verify.FormatCosign && ref.Digest != "" {
		go func() {
			defer close(done)
			existing, existingErr = c.existingSignatures(ctx, ref)
		}()
	} else {
		close(done)
	}
	desc, err := c.resolve(ctx, ref)
	<-done
	if err != nil {
		return nil, err
	}
	ref = ref.WithDigest(desc.Digest)
	if opts.Format == verify.FormatBundle {
		return c.signBundle(ctx, ref, desc, opts)
	}
	if existing == nil && existingErr == nil {
		existing, existingErr = c.existingSignatures(ctx, ref)
	}
	if existingErr != nil {
		return nil, existingErr
	}
	return c.signCosign(ctx, ref, opts, existing)
}

// resolve finds the manifest descriptor ref names, checking it exists.
func (c *Client) resolve(ctx context.Context, ref artifact.Reference) (ocispec.Descriptor, error) {
	desc, err := c.reg.ResolveManifest(ctx, ref)
	if err != nil {
		return desc, err
	}
	if desc.Digest.Algorithm() != digest.SHA256 {
		return desc, fmt.Errorf("resolving %s: %s is not a sha256 digest", ref, desc.Digest)
	}
	return desc, nil
}

// signer is what signs: a loaded key, or an ephemeral key certified by Fulcio.
type signer struct {
	key      *SigningKey
	eph      *ecdsa.PrivateKey
	cert     *x509.Certificate
	certPEM  []byte
	identity verify.Signer
}

func (c *Client) newSigner(ctx context.Context, opts Options) (*signer, error) {
	if opts.Key != nil {
		return &signer{key: opts.Key, identity: verify.Signer{Key: opts.Key.ref, KeyID: opts.Key.KeyID()}}, nil
	}
	eph, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	url := opts.Keyless.FulcioURL
	if url == "" {
		url = DefaultFulcioURL
	}
	if err := tokenSafeURL(url); err != nil {
		return nil, fmt.Errorf("%w: Fulcio %s: %w", ErrSigning, url, err)
	}
	cert, err := c.fulcioCertificate(ctx, url, opts.Keyless.IDToken, eph)
	if err != nil {
		return nil, err
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	id, err := verify.SignerFromCertificate(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: Fulcio's certificate: %w", ErrSigning, err)
	}
	return &signer{eph: eph, cert: cert, certPEM: certPEM, identity: id}, nil
}

func (s *signer) publicKey() crypto.PublicKey {
	if s.key != nil {
		return s.key.pub
	}
	return s.eph.Public()
}

// sign signs msg (SHA-256, ASN.1 ECDSA for the ephemeral key).
func (s *signer) sign(ctx context.Context, msg []byte) ([]byte, error) {
	if s.key != nil {
		return s.key.sign(ctx, msg)
	}
	sum := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, s.eph, sum[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	return sig, nil
}

// verificationPEM is what the transparency log records: the certificate, or the key.
func (s *signer) verificationPEM() ([]byte, error) {
	if s.certPEM != nil {
		return s.certPEM, nil
	}
	return s.key.PublicKeyPEM()
}

// tokenSafeURL refuses a URL the OIDC token must not be sent to in the clear: one that
// is not https, unless its host is a loopback address (a test or a local instance).
func tokenSafeURL(raw string) error {
	u, err := neturl.Parse(raw)
	if err != nil {
		return err
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if artifact.IsLoopback(u.Host) {
			return nil
		}
	}
	return fmt.Errorf("not https: the OIDC token would travel in the clear (http only on loopback)")
}
