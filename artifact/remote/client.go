package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"oras.land/oras-go/v2/registry/remote"
	orasauth "oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/auth"
	"github.com/gitless-dev/gitless/internal/errtext"
)

// CredentialResolver finds the credential for a registry host and says which source
// it came from. auth.Chain implements it.
type CredentialResolver interface {
	Resolve(ctx context.Context, host string) (auth.Credential, string, error)
}

// Options configures a [Client].
type Options struct {
	// Credentials for registries; nil means anonymous access.
	Credentials CredentialResolver
	// Insecure allows plain HTTP to registries that are not on loopback.
	Insecure bool
	// HTTPS speaks HTTPS to loopback registries too, which otherwise get plain HTTP:
	// for a registry with its own certificate (a source with a CA, in tests).
	HTTPS bool
	// HTTPClient is the transport; nil means oras-go's retrying client (5xx, 408 and
	// 429 retried with backoff, Retry-After honoured; never 401/403).
	HTTPClient *http.Client
	// UserAgent is sent with every request.
	UserAgent string
	// Logger receives debug records of registry operations; nil discards them.
	Logger *slog.Logger
	// Lists bounds listings the registry pages through (tags, referrers); zero
	// fields take DefaultListLimits.
	Lists ListLimits
}

// Client talks to OCI registries. It is safe for concurrent use.
type Client struct {
	opts  Options
	log   *slog.Logger
	cache orasauth.Cache

	mu      sync.Mutex
	sources map[string]string // host → name of the credential source used
}

// New returns a Client.
func New(opts Options) *Client {
	if opts.HTTPClient == nil {
		opts.HTTPClient = DefaultHTTPClient
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "gitless"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{opts: opts, log: log, cache: orasauth.NewCache(), sources: map[string]string{}}
}

// Repository opens ref's repository with the client's credentials, transport and
// plain-HTTP rule, for callers that need oras-go operations this package does not wrap
// (signatures, referrers).
func (c *Client) Repository(ref artifact.Reference) (*remote.Repository, error) {
	return c.repository(ref, c.opts.HTTPClient)
}

func (c *Client) repository(ref artifact.Reference, hc *http.Client) (*remote.Repository, error) {
	plain := artifact.IsLoopback(ref.Registry) && !c.opts.HTTPS
	if !plain && c.opts.Insecure {
		plain = true
	}
	repo, err := remote.NewRepository(ref.Repo())
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", artifact.ErrInvalidReference, ref, err)
	}
	repo.PlainHTTP = plain
	header := http.Header{}
	header.Set("User-Agent", c.opts.UserAgent)
	repo.Client = &orasauth.Client{
		Client: hc,
		Header: header,
		Cache:  c.cache,
		Credential: func(ctx context.Context, host string) (orasauth.Credential, error) {
			return c.credential(ctx, host)
		},
	}
	return repo, nil
}

func (c *Client) credential(ctx context.Context, host string) (orasauth.Credential, error) {
	if c.opts.Credentials == nil {
		return orasauth.EmptyCredential, nil
	}
	cred, source, err := c.opts.Credentials.Resolve(ctx, host)
	if err != nil {
		return orasauth.EmptyCredential, fmt.Errorf("looking up credentials for %s: %w", host, err)
	}
	c.mu.Lock()
	c.sources[host] = source
	c.mu.Unlock()
	if source != "" {
		c.log.DebugContext(ctx, "registry credentials", "host", host, "source", source)
	}
	return auth.ToORAS(cred), nil
}

func (c *Client) sourceFor(host string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sources[host]
}

// AuthError is a registry's refusal (401 or 403).
type AuthError struct {
	Registry   string
	Repository string
	Op         string // what was being done: "pushing", "pulling", ...
	StatusCode int
	// Source names where the credential came from ("" when none was found).
	Source string
	Err    error
}

func (e *AuthError) Error() string {
	what := "no credentials were found for it"
	if e.Source != "" {
		what = "credentials from " + e.Source + " were used"
	}
	verb := "denied access"
	if e.StatusCode == http.StatusUnauthorized {
		verb = "did not accept the credentials"
		if e.Source == "" {
			verb = "requires authentication"
		}
	}
	return fmt.Sprintf("%s %s/%s: registry %s %s (%d %s); %s",
		e.Op, e.Registry, e.Repository, e.Registry, verb, e.StatusCode, http.StatusText(e.StatusCode), what)
}

func (e *AuthError) Unwrap() error { return e.Err }

// ErrUnauthorized matches every *AuthError with errors.Is.
var ErrUnauthorized = errors.New("registry denied access")

func (e *AuthError) Is(target error) bool { return target == ErrUnauthorized }

// WrapError turns an oras-go error into one that says what was being done (op, e.g.
// "pushing") and where: a 401/403 becomes an *AuthError naming the credential source
// this client used for the registry, a network failure says the registry could not be
// reached.
func (c *Client) WrapError(op string, ref artifact.Reference, err error) error {
	if err == nil {
		return nil
	}
	return boundError(c.wrapError(op, ref, err))
}

// maxErrorBytes bounds the text of an error about a registry's answer: a registry
// chooses what it quotes (headers, error details), and the text is logged and stored
// at every poll.
const maxErrorBytes = 2 << 10

// urlQuery is the query of a URL in an error's text. A registry may redirect a blob to
// storage under a signed URL, whose query is a credential (X-Amz-Signature, sig).
var urlQuery = regexp.MustCompile(`(https?://[^\s"'?#]+)[?#][^\s"']*`)

// boundError is err with its text rid of URL queries and cut to maxErrorBytes;
// errors.Is and As see err whole.
func boundError(err error) error {
	msg := urlQuery.ReplaceAllString(err.Error(), "$1?…")
	if len(msg) > maxErrorBytes {
		cut := maxErrorBytes
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + fmt.Sprintf("… (%d bytes more)", len(msg)-cut)
	}
	return errtext.With(err, msg)
}

// withoutQuery is the URL u without its query (and fragment), "?…" in its place: for
// the text of errors that do not go through boundError (RetryAfterError).
func withoutQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

// StorageRefusalError is a refusal by the storage a registry redirected a blob
// download to (an expired or skewed signed link): not ErrUnauthorized, since the
// registry took the credentials, and worth retrying, since the registry gives a new
// link each time.
type StorageRefusalError struct {
	Host       string
	StatusCode int
}

func (e *StorageRefusalError) Error() string {
	return fmt.Sprintf("the storage the registry redirected the download to (%s) refused it (%d %s): the signed link it gave may have expired, or the clocks disagree",
		e.Host, e.StatusCode, http.StatusText(e.StatusCode))
}

// blobError is WrapError for a blob download. A 403 to a GET outside the registry's
// API (/v2/), without an OCI error body and not a token request (scope=), is the
// storage the blob was redirected to refusing its signed link: a StorageRefusalError,
// whose text names the storage's host only (the link's signature stays out).
func (c *Client) blobError(op string, ref artifact.Reference, err error) error {
	var er *errcode.ErrorResponse
	if errors.As(err, &er) && er.StatusCode == http.StatusForbidden && er.Method == http.MethodGet && er.URL != nil &&
		!strings.HasPrefix(er.URL.Path, "/v2/") && len(er.Errors) == 0 && er.URL.Query().Get("scope") == "" {
		return boundError(fmt.Errorf("%s %s: %w", op, ref.Repo(), &StorageRefusalError{Host: er.URL.Host, StatusCode: er.StatusCode}))
	}
	return c.WrapError(op, ref, err)
}

func (c *Client) wrapError(op string, ref artifact.Reference, err error) error {
	var er *errcode.ErrorResponse
	if errors.As(err, &er) && (er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden) {
		return &AuthError{Registry: ref.Registry, Repository: ref.Repository, Op: op, StatusCode: er.StatusCode, Source: c.sourceFor(ref.Registry), Err: err}
	}
	if errors.Is(err, orasauth.ErrBasicCredentialNotFound) {
		return &AuthError{Registry: ref.Registry, Repository: ref.Repository, Op: op, StatusCode: http.StatusUnauthorized, Err: err}
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("%s %s: cannot reach registry %s: %w", op, ref.Repo(), ref.Registry, err)
	}
	if er != nil {
		// oras-go prints the registry's error details as Go values ("map[name:x]"):
		// say it in words, and let a 404 match ErrNotFound (a repository that does not
		// exist answers 404 NAME_UNKNOWN, which oras-go does not map).
		msg := strings.Replace(err.Error(), er.Error(), describeResponse(er), 1)
		return &ResponseError{msg: fmt.Sprintf("%s %s: %s", op, ref.Repo(), msg), StatusCode: er.StatusCode, Err: err}
	}
	return fmt.Errorf("%s %s: %w", op, ref.Repo(), err)
}

// ResponseError is a registry's error response (other than 401/403, which are
// *AuthError): the status and the registry's error codes, what was being done, and
// where. A 404 matches ErrNotFound.
type ResponseError struct {
	msg        string
	StatusCode int
	Err        error // oras-go's error, an *errcode.ErrorResponse in its chain
}

func (e *ResponseError) Error() string { return e.msg }
func (e *ResponseError) Unwrap() error { return e.Err }

// Is makes a 404 match ErrNotFound.
func (e *ResponseError) Is(target error) bool {
	return target == ErrNotFound && e.StatusCode == http.StatusNotFound
}

// describeResponse says what a registry answered: method, URL, status and the error
// codes and messages, without their details (registry-defined values, untrusted and
// printed by oras-go as Go maps).
func describeResponse(er *errcode.ErrorResponse) string {
	where := er.Method
	if er.URL != nil {
		where += " " + er.URL.String() // its query is left out by boundError
	}
	s := fmt.Sprintf("%s: the registry answered %d %s", where, er.StatusCode, http.StatusText(er.StatusCode))
	var msgs []string
	for _, e := range er.Errors {
		e.Detail = nil
		msgs = append(msgs, e.Error())
	}
	if len(msgs) > 0 {
		s += " (" + strings.Join(msgs, "; ") + ")"
	}
	return s
}

func uniqueTags(tags []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}
