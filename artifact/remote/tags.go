package remote

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote/errcode"

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

// ResolveTag is Resolve for registries that do not answer HEAD on manifests: one HEAD
// request, and only when the registry says it does not allow HEAD (405) or does not
// implement it (501), one GET of the manifest, whose digest the registry states
// (Docker-Content-Digest) or the body gives.
func (c *Client) ResolveTag(ctx context.Context, ref artifact.Reference) (ocispec.Descriptor, error) {
	d, err := c.Resolve(ctx, ref)
	var er *errcode.ErrorResponse
	if err == nil || !errors.As(err, &er) || (er.StatusCode != http.StatusMethodNotAllowed && er.StatusCode != http.StatusNotImplemented) {
		return d, err
	}
	repo, rerr := c.Repository(ref)
	if rerr != nil {
		return ocispec.Descriptor{}, rerr
	}
	desc, rc, gerr := repo.Manifests().FetchReference(ctx, ref.Identifier())
	if gerr != nil {
		return ocispec.Descriptor{}, c.WrapError("resolving", ref, fmt.Errorf("tag %q: %w", ref.Tag, gerr))
	}
	rc.Close()
	return desc, nil
}
