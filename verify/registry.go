package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/sigstore"
)

// Options configures a Client: how it reaches registries and the public Sigstore root,
// and the limits it puts on what it reads.
type Options struct {
	// Registry, when set, makes every registry call (its credentials, transport and
	// plain-HTTP rule; Credentials, Insecure, HTTPS, HTTPClient and UserAgent are then unused).
	// Share one with the other commands of a program, so that tokens are fetched once.
	Registry *remote.Client
	// Credentials for registries; nil means anonymous access. auth.Chain implements it.
	Credentials remote.CredentialResolver
	// Insecure allows plain HTTP to registries that are not on loopback (loopback
	// registries get plain HTTP unless HTTPS).
	Insecure bool
	// HTTPS speaks HTTPS to loopback registries too (remote.Options.HTTPS).
	HTTPS bool
	// HTTPClient talks to registries; nil means oras-go's retrying client (5xx, 408 and
	// 429 retried with backoff, never 401/403).
	HTTPClient *http.Client
	// UserAgent is sent with every request; "gitless" by default.
	UserAgent string
	// Logger receives debug records; nil discards them.
	Logger *slog.Logger
	// Limits bound what is read from the registry; zero fields take DefaultLimits.
	Limits Limits
	// Getenv reads env:// key references; nil means os.Getenv.
	Getenv func(string) string
	// TUFCacheDir is where the public Sigstore trusted root fetched through TUF is cached;
	// empty means sigstore-go's default ($HOME/.sigstore/root). Used only by policies
	// without a TrustedRoot.
	TUFCacheDir string
	// TUFMirror is the TUF repository of the public Sigstore root; empty means
	// https://tuf-repo-cdn.sigstore.dev.
	TUFMirror string
	// TUFTimeout bounds fetching the public Sigstore trusted root; 0 means
	// DefaultTUFTimeout.
	TUFTimeout time.Duration
	// TUFClient fetches the public Sigstore trusted root (not registries); nil means
	// http.DefaultClient. Its proxy settings apply.
	TUFClient *http.Client
	// Lists bounds the referrer listings (sigstore bundles are referrers); zero
	// fields take remote.DefaultListLimits.
	Lists remote.ListLimits
}

// Limits bound the signature material a client reads (package sign uses the same
// limits for the signatures it finds next to an artifact). Signatures are untrusted
// input: anyone who can push to the repository can add them.
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

// WithDefaults returns l with zero fields set to DefaultLimits.
func (l Limits) WithDefaults() Limits {
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

// Client verifies the signatures of artifacts. It reads the registry through
// artifact/remote only. It is safe for concurrent use.
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
		opts.HTTPClient = remote.DefaultHTTPClient
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "gitless"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := opts.Registry
	if reg == nil {
		reg = remote.New(remote.Options{
			Credentials: opts.Credentials,
			Insecure:    opts.Insecure,
			HTTPS:       opts.HTTPS,
			HTTPClient:  opts.HTTPClient,
			UserAgent:   opts.UserAgent,
			Logger:      log,
			Lists:       opts.Lists,
		})
	}
	return &Client{opts: opts, limits: opts.Limits.WithDefaults(), log: log, reg: reg}
}

func (c *Client) getenv(k string) string { return sigstore.Getenv(c.opts.Getenv)(k) }

// sizeError is signature material over a Limits field. It matches ErrTooManySignatures:
// the verifier refuses to read it.
type sizeError struct {
	what        string
	size, limit int64
}

func (e *sizeError) Error() string {
	return fmt.Sprintf("%s is %d bytes, over the %d byte limit", e.what, e.size, e.limit)
}

func (e *sizeError) Is(target error) bool { return target == ErrTooManySignatures }

// limitErr makes a registry client's refusal to read content over a cap a verdict
// (ErrTooManySignatures); other errors are returned as they are.
func limitErr(err error) error {
	var se *remote.SizeError
	if errors.As(err, &se) {
		return &sizeError{what: se.What, size: se.Size, limit: se.Limit}
	}
	return err
}

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
