package remote

import (
	"context"

	"github.com/gitless-dev/gitless/artifact"
)

// Tags lists the tags of a repository, page by page, without reading what they point
// at (one request per page; List reads every manifest too). Signature, attestation and
// SBOM tags (sha256-<hex>.sig and the like) are left out.
func (c *Client) Tags(ctx context.Context, repoRef artifact.Reference) ([]string, error) {
	repo, err := c.Repository(repoRef)
	if err != nil {
		return nil, err
	}
	var tags []string
	if err := repo.Tags(ctx, "", func(page []string) error {
		for _, t := range page {
			if !signatureTagRE.MatchString(t) {
				tags = append(tags, t)
			}
		}
		return nil
	}); err != nil {
		return nil, c.WrapError("listing", repoRef, err)
	}
	return tags, nil
}
