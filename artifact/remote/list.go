package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/gitless-dev/gitless/artifact"
)

// ListLimits bound one listing that the registry pages through: the tags of a
// repository, the referrers of a manifest. The registry decides whether another page
// follows (a Link header), so a broken or hostile one could page forever and grow
// the caller's memory with every page. Zero fields take DefaultListLimits; a negative
// one is an error: the limits are never switched off.
type ListLimits struct {
	// MaxPages caps the pages (requests) of one listing.
	MaxPages int `json:"maxPages,omitempty"`
	// MaxBytes caps the response bytes of one listing, all pages together; one page is
	// also read only up to this (or 4 MiB, whichever is less).
	MaxBytes int64 `json:"maxBytes,omitempty"`
}

// Defaults of ListLimits: up to a million tags at ghcr.io's 1,000 a page (100,000 at
// the 100 a page of registries that page smaller), and 16 MiB of JSON: 390,000 tags
// of 40 characters (a commit SHA), a million of 14. A registry that pages forever is
// stopped after at most 1,000 requests and 16 MiB read; the puller parses every tag
// of a semver source as a version, so the byte cap also bounds that CPU (4 million
// shortest tags at most).
const (
	DefaultListMaxPages = 1000
	DefaultListMaxBytes = 16 << 20
)

// maxPageBytes is the most one page is read to (oras-go's default for metadata).
const maxPageBytes = 4 << 20

// DefaultListLimits returns the limits used for zero fields.
func DefaultListLimits() ListLimits {
	return ListLimits{MaxPages: DefaultListMaxPages, MaxBytes: DefaultListMaxBytes}
}

// WithDefaults returns l with zero fields set to the defaults, or an error for a
// negative field.
func (l ListLimits) WithDefaults() (ListLimits, error) {
	if l.MaxPages < 0 || l.MaxBytes < 0 {
		return l, errors.New("list limits must not be negative")
	}
	d := DefaultListLimits()
	if l.MaxPages == 0 {
		l.MaxPages = d.MaxPages
	}
	if l.MaxBytes == 0 {
		l.MaxBytes = d.MaxBytes
	}
	return l, nil
}

// ListLimitError is a listing stopped at a ListLimits cap. It matches
// artifact.ErrTooLarge: asking again gets the same answer, so it is not worth
// retrying soon.
type ListLimitError struct {
	What  string // "tags of ghcr.io/acme/app", "referrers of sha256:…"
	Limit string // "1000 pages", "33554432 bytes"
}

func (e *ListLimitError) Error() string {
	return fmt.Sprintf("listing the %s: the registry sent more than %s; stopped (a registry that pages without end, or raise the list limits)", e.What, e.Limit)
}

func (e *ListLimitError) Is(target error) bool { return target == artifact.ErrTooLarge }

// listing is the state of one listing: a repository whose requests draw on one byte
// budget and whose paging stops at the page cap.
type listing struct {
	repo   *remote.Repository
	limits ListLimits
	budget *budget
	what   string
}

// newListing opens ref's repository for one listing under the client's list limits.
func (c *Client) newListing(ref artifact.Reference, what string) (*listing, error) {
	lim, err := c.opts.Lists.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("listing the %s: %w", what, err)
	}
	b := &budget{}
	b.left.Store(lim.MaxBytes)
	hc := *c.opts.HTTPClient
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	hc.Transport = &budgetTransport{base: base, b: b}
	repo, err := c.repository(ref, &hc)
	if err != nil {
		return nil, err
	}
	repo.TagListMaxPages = lim.MaxPages
	repo.ReferrerListMaxPages = lim.MaxPages
	repo.MaxMetadataBytes = min(lim.MaxBytes, maxPageBytes)
	return &listing{repo: repo, limits: lim, budget: b, what: what}, nil
}

// wrap turns the error of a listing that went over a cap into a *ListLimitError, and
// any other into what c.WrapError makes of it.
func (l *listing) wrap(c *Client, op string, ref artifact.Reference, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errdef.ErrTooManyPages):
		return &ListLimitError{What: l.what, Limit: fmt.Sprintf("%d pages", l.limits.MaxPages)}
	case errors.Is(err, errBudget) || l.budget.left.Load() < 0:
		return &ListLimitError{What: l.what, Limit: fmt.Sprintf("%d bytes", l.limits.MaxBytes)}
	}
	return c.WrapError(op, ref, err)
}

// budget is the bytes a listing may still read.
type budget struct{ left atomic.Int64 }

var errBudget = errors.New("listing byte budget spent")

// budgetTransport makes every response body of a listing draw on its budget; a read
// past it fails.
type budgetTransport struct {
	base http.RoundTripper
	b    *budget
}

func (t *budgetTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.b.left.Load() < 0 {
		return nil, errBudget
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &budgetBody{ReadCloser: resp.Body, b: t.b}
	return resp, nil
}

type budgetBody struct {
	io.ReadCloser
	b *budget
}

func (b *budgetBody) Read(p []byte) (int, error) {
	if b.b.left.Load() < 0 {
		return 0, errBudget
	}
	n, err := b.ReadCloser.Read(p)
	if b.b.left.Add(-int64(n)) < 0 {
		return n, errBudget
	}
	return n, err
}

// Referrers lists the manifests whose subject is the manifest subject describes in
// ref's repository, with the referrers API or the referrers tag, page by page; fn sees
// each page (artifactType filters when not ""). One response over maxSize bytes is
// refused, and the listing stops with a *ListLimitError at the client's list limits.
// Returning an error from fn stops the listing with that error.
func (c *Client) Referrers(ctx context.Context, ref artifact.Reference, subject ocispec.Descriptor, artifactType string, maxSize int64, fn func(page []ocispec.Descriptor) error) error {
	l, err := c.newListing(ref, "referrers of "+ref.Repo()+"@"+subject.Digest.String())
	if err != nil {
		return err
	}
	if maxSize > 0 {
		l.repo.MaxMetadataBytes = min(l.repo.MaxMetadataBytes, maxSize)
	}
	stop := &stopError{}
	err = l.repo.Referrers(ctx, subject, artifactType, func(page []ocispec.Descriptor) error {
		if err := fn(page); err != nil {
			stop.err = err
			return stop
		}
		return nil
	})
	if stop.err != nil {
		return stop.err
	}
	return l.wrap(c, "listing the referrers of", ref, err)
}
