package remote

import (
	"context"

	"github.com/gitless-dev/gitless/artifact"
)

// Tags lists the tags of a repository, page by page, without reading what they point
// at (one request per page; List reads every manifest too). Signature, attestation and
// SBOM tags (sha256-<hex>.sig and the like) are left out. The listing stops with a
// *ListLimitError at the client's list limits.
func (c *Client) Tags(ctx context.Context, repoRef artifact.Reference) ([]string, error) {
	var tags []string
	err := c.TagPages(ctx, repoRef, func(page []string) error {
		tags = append(tags, page...)
		return nil
	})
	return tags, err
}

// TagPages is Tags for callers that need not keep every tag: fn sees each page (the
// signature tags left out) and may keep what it needs, so memory stays that of one
// page. An error from fn stops the listing and is returned as it is.
func (c *Client) TagPages(ctx context.Context, repoRef artifact.Reference, fn func(page []string) error) error {
	l, err := c.newListing(repoRef, "tags of "+repoRef.Repo())
	if err != nil {
		return err
	}
	stop := &stopError{}
	err = l.repo.Tags(ctx, "", func(page []string) error {
		kept := page[:0]
		for _, t := range page {
			if !signatureTagRE.MatchString(t) {
				kept = append(kept, t)
			}
		}
		if err := fn(kept); err != nil {
			stop.err = err
			return stop
		}
		return nil
	})
	if stop.err != nil {
		return stop.err
	}
	return l.wrap(c, "listing", repoRef, err)
}

// stopError carries fn's error out of oras-go's paging untouched.
type stopError struct{ err error }

func (e *stopError) Error() string { return "stopped: " + e.err.Error() }
