package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	orasremote "oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/errcode"
	"oras.land/oras-go/v2/registry/remote/retry"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
)

// Options configures a Client: how it reaches registries and Sigstore services, and the
// limits it puts on what it reads.
type Options struct {
	// Credentials for registries; nil means anonymous access. auth.Chain implements it.
	Credentials remote.CredentialResolver
	// Insecure allows plain HTTP to registries that are not on loopback (loopback
	// registries always get plain HTTP).
	Insecure bool
	// HTTPClient talks to registries; nil means oras-go's retrying client (5xx, 408 and
	// 429 retried with backoff, never 401/403).
	HTTPClient *http.Client
	// ServiceClient talks to Fulcio, Rekor, the OIDC token endpoint and the TUF
	// repository; nil means http.DefaultClient.
	ServiceClient *http.Client
	// UserAgent is sent with every request; "gitless" by default.
	UserAgent string
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
	// Limits bound what is read from the registry; zero fields take DefaultLimits.
	Limits Limits
	// Getenv reads env:// key references and COSIGN_PASSWORD; nil means os.Getenv.
	Getenv func(string) string
	// TUFCacheDir is where the public Sigstore trusted root fetched through TUF is cached;
	// empty means sigstore-go's default ($HOME/.sigstore/root). Used only by policies
	// without a TrustedRoot.
	TUFCacheDir string
	// TUFMirror is the TUF repository of the public Sigstore root; empty means
	// https://tuf-repo-cdn.sigstore.dev.
	TUFMirror string
}

// Limits bound the signature material the client reads. Signatures are untrusted input:
// anyone who can push to the repository can add them.
type Limits struct {
	// MaxSignatures caps the signatures looked at per artifact, all formats together. An
	// artifact with more is refused with ErrTooManySignatures before any is verified.
	MaxSignatures int
	// MaxManifestSize caps a signature manifest (the .sig image, a bundle referrer) and
	// the referrers index.
	MaxManifestSize int64
	// MaxBlobSize caps one signature payload or bundle.
	MaxBlobSize int64
}

// DefaultLimits: 100 signatures, 4 MiB manifests, 1 MiB payloads and bundles.
func DefaultLimits() Limits {
	return Limits{MaxSignatures: 100, MaxManifestSize: 4 << 20, MaxBlobSize: 1 << 20}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxSignatures <= 0 {
		l.MaxSignatures = d.MaxSignatures
	}
	if l.MaxManifestSize <= 0 {
		l.MaxManifestSize = d.MaxManifestSize
	}
	if l.MaxBlobSize <= 0 {
		l.MaxBlobSize = d.MaxBlobSize
	}
	return l
}

// Client signs artifacts and verifies their signatures. It is safe for concurrent use.
type Client struct {
	opts   Options
	limits Limits
	log    *slog.Logger
	reg    *remote.Client
	public publicRoot
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.HTTPClient == nil {
		opts.HTTPClient = retry.DefaultClient
	}
	if opts.ServiceClient == nil {
		opts.ServiceClient = http.DefaultClient
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "gitless"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := remote.New(remote.Options{
		Credentials: opts.Credentials,
		Insecure:    opts.Insecure,
		HTTPClient:  opts.HTTPClient,
		UserAgent:   opts.UserAgent,
		Logger:      log,
	})
	return &Client{opts: opts, limits: opts.Limits.withDefaults(), log: log, reg: reg}
}

func (c *Client) getenv(k string) string {
	return KeyOptions{Getenv: c.opts.Getenv}.getenv(k)
}

// repository opens ref's repository through the registry client, with the manifest
// size limit of signature material.
func (c *Client) repository(ref artifact.Reference) (*orasremote.Repository, error) {
	repo, err := c.reg.Repository(ref)
	if err != nil {
		return nil, err
	}
	repo.MaxMetadataBytes = c.limits.MaxManifestSize
	return repo, nil
}

// wrapRegistry says what was being done: 401/403 become a *remote.AuthError naming the
// credential source (errors.Is remote.ErrUnauthorized), a network failure says the
// registry could not be reached.
func (c *Client) wrapRegistry(op string, ref artifact.Reference, err error) error {
	return c.reg.WrapError(op, ref, err)
}

// fetchManifest fetches a manifest by tag or digest, refusing one over the cap before
// reading it, and checks its bytes against the descriptor. A missing manifest is
// errdef.ErrNotFound (unwrapped by the caller with errors.Is).
func (c *Client) fetchManifest(ctx context.Context, repo *orasremote.Repository, reference string) (ocispec.Descriptor, []byte, error) {
	desc, rc, err := repo.Manifests().FetchReference(ctx, reference)
	if err != nil {
		return desc, nil, err
	}
	defer rc.Close()
	if desc.Size > c.limits.MaxManifestSize || desc.Size < 0 {
		return desc, nil, &limitError{what: "manifest " + reference, size: desc.Size, limit: c.limits.MaxManifestSize}
	}
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return desc, nil, fmt.Errorf("manifest %s: %w", reference, err)
	}
	if d, err := digest.Parse(reference); err == nil && desc.Digest != d {
		return desc, nil, fmt.Errorf("manifest %s: the registry returned %s", reference, desc.Digest)
	}
	return desc, b, nil
}

// fetchBlob fetches a blob the manifest described, capped and checked against its digest.
func (c *Client) fetchBlob(ctx context.Context, repo *orasremote.Repository, desc ocispec.Descriptor) ([]byte, error) {
	if desc.Size > c.limits.MaxBlobSize || desc.Size < 0 {
		return nil, &limitError{what: "blob " + desc.Digest.String(), size: desc.Size, limit: c.limits.MaxBlobSize}
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", desc.Digest, err)
	}
	rc, err := repo.Blobs().Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	return b, nil
}

// pushBlob uploads data unless the registry has it.
func pushBlob(ctx context.Context, repo *orasremote.Repository, mediaType string, data []byte) (ocispec.Descriptor, error) {
	desc := content.NewDescriptorFromBytes(mediaType, data)
	ok, err := repo.Blobs().Exists(ctx, desc)
	if err != nil {
		return desc, err
	}
	if ok {
		return desc, nil
	}
	if err := repo.Blobs().Push(ctx, desc, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return desc, err
	}
	return desc, nil
}

// uploadBlob uploads a small blob without asking first whether the registry has it.
func uploadBlob(ctx context.Context, repo *orasremote.Repository, desc ocispec.Descriptor, data []byte) error {
	if err := repo.Blobs().Push(ctx, desc, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return err
	}
	return nil
}

// limitError says signature material went over a Limits field.
type limitError struct {
	what        string
	size, limit int64
}

func (e *limitError) Error() string {
	return fmt.Sprintf("%s is %d bytes, over the %d byte limit", e.what, e.size, e.limit)
}

func (e *limitError) Is(target error) bool { return target == ErrTooManySignatures }

// isTransient reports whether a registry or service error means "could not check" rather
// than "the content is bad": network errors, 5xx, 429, 401/403, cancellation.
func isTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, remote.ErrUnauthorized) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var er *errcode.ErrorResponse
	if errors.As(err, &er) {
		return er.StatusCode >= 500 || er.StatusCode == http.StatusTooManyRequests || er.StatusCode == http.StatusRequestTimeout ||
			er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden
	}
	return false
}

// decodeStrict unmarshals a JSON document read from the registry.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}
