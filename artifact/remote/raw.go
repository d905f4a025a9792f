package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/gitless-dev/gitless/artifact"
)

// The operations in this file move any manifest or blob, not only gitless artifacts:
// signatures and sigstore bundles (packages sign and verify) use them, so that every
// registry call of gitless goes through this package, with its credentials, retries,
// plain-HTTP rule and error wrapping. Everything read is size-capped before it is read
// and checked against its digest.

// SizeError is content over a cap the caller set, refused before it was read.
type SizeError struct {
	What  string // "manifest sha256-….sig", "blob sha256:…"
	Size  int64
	Limit int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%s is %d bytes, over the %d byte limit", e.What, e.Size, e.Limit)
}

// resolve finds the descriptor a tag or digest names in repo: one HEAD request, or
// one GET when the registry answers HEAD with 405 or 501.
func resolve(ctx context.Context, repo *remote.Repository, reference string) (ocispec.Descriptor, error) {
	d, err := repo.Resolve(ctx, reference)
	var er *errcode.ErrorResponse
	if errors.As(err, &er) && (er.StatusCode == http.StatusMethodNotAllowed || er.StatusCode == http.StatusNotImplemented) {
		// The registry does not answer HEAD on manifests: one GET, whose digest the
		// registry states (Docker-Content-Digest) or the body gives.
		var rc io.ReadCloser
		if d, rc, err = repo.Manifests().FetchReference(ctx, reference); err == nil {
			rc.Close()
		}
	}
	return d, err
}

// ResolveManifest is [Client.Resolve] for any manifest, also one named by digest (the
// registry is asked whether it has it): the descriptor, with the registry's media type
// and size. A digest the registry answers with another digest is an error.
func (c *Client) ResolveManifest(ctx context.Context, ref artifact.Reference) (ocispec.Descriptor, error) {
	id := ref.Identifier()
	if id == "" {
		return ocispec.Descriptor{}, fmt.Errorf("%w %s: no tag or digest", artifact.ErrInvalidReference, ref)
	}
	repo, err := c.Repository(ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d, err := resolve(ctx, repo, id)
	if err != nil {
		return d, c.WrapError("resolving", ref, err)
	}
	if ref.Digest != "" && d.Digest != ref.Digest {
		return d, fmt.Errorf("resolving %s: the registry answered %s", ref, d.Digest)
	}
	return d, nil
}

// FetchManifest fetches the manifest reference (a tag or a digest) names in ref's
// repository, refusing one over maxSize bytes (*SizeError) before reading it, and
// checks its bytes against the descriptor, and the descriptor against a digest
// reference. A missing manifest matches ErrNotFound.
func (c *Client) FetchManifest(ctx context.Context, ref artifact.Reference, reference string, maxSize int64) (ocispec.Descriptor, []byte, error) {
	repo, err := c.Repository(ref)
	if err != nil {
		return ocispec.Descriptor{}, nil, err
	}
	repo.MaxMetadataBytes = maxSize
	desc, rc, err := repo.Manifests().FetchReference(ctx, reference)
	if err != nil {
		return desc, nil, c.WrapError("fetching", ref, fmt.Errorf("manifest %s: %w", reference, err))
	}
	defer rc.Close()
	if desc.Size > maxSize || desc.Size < 0 {
		return desc, nil, &SizeError{What: "manifest " + reference, Size: desc.Size, Limit: maxSize}
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

// FetchBlob fetches the blob desc describes from ref's repository, refusing one over
// maxSize bytes (*SizeError) before reading it, and checks it against desc's digest
// and size.
func (c *Client) FetchBlob(ctx context.Context, ref artifact.Reference, desc ocispec.Descriptor, maxSize int64) ([]byte, error) {
	if desc.Size > maxSize || desc.Size < 0 {
		return nil, &SizeError{What: "blob " + desc.Digest.String(), Size: desc.Size, Limit: maxSize}
	}
	if err := desc.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("blob %q: %w", desc.Digest, err)
	}
	repo, err := c.Repository(ref)
	if err != nil {
		return nil, err
	}
	rc, err := repo.Blobs().Fetch(ctx, desc)
	if err != nil {
		return nil, c.blobError("fetching", ref, fmt.Errorf("blob %s: %w", desc.Digest, err))
	}
	defer rc.Close()
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	return b, nil
}

// PushBlob uploads data, which desc describes, to ref's repository in one upload,
// without asking first whether the registry has it (for small blobs that is one
// request saved); a blob the registry has already is no error.
func (c *Client) PushBlob(ctx context.Context, ref artifact.Reference, desc ocispec.Descriptor, data []byte) error {
	if int64(len(data)) != desc.Size || digest.FromBytes(data) != desc.Digest {
		return fmt.Errorf("pushing to %s: blob %s does not match its bytes", ref.Repo(), desc.Digest)
	}
	repo, err := c.Repository(ref)
	if err != nil {
		return err
	}
	if err := repo.Blobs().Push(ctx, desc, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return c.WrapError("pushing", ref, fmt.Errorf("blob %s: %w", desc.Digest, err))
	}
	return nil
}

// PutManifest uploads a manifest, which desc describes, to ref's repository: tagged
// tag, or by digest only when tag is "". oras-go also updates the referrers tag index
// when the manifest has a subject and the registry has no referrers API.
func (c *Client) PutManifest(ctx context.Context, ref artifact.Reference, desc ocispec.Descriptor, data []byte, tag string) error {
	if int64(len(data)) != desc.Size || digest.FromBytes(data) != desc.Digest {
		return fmt.Errorf("pushing to %s: manifest %s does not match its bytes", ref.Repo(), desc.Digest)
	}
	repo, err := c.Repository(ref)
	if err != nil {
		return err
	}
	if tag == "" {
		err = repo.Manifests().Push(ctx, desc, bytes.NewReader(data))
		if errors.Is(err, errdef.ErrAlreadyExists) {
			err = nil
		}
	} else {
		err = repo.PushReference(ctx, desc, bytes.NewReader(data), tag)
	}
	if err != nil {
		return c.WrapError("pushing", ref, fmt.Errorf("manifest %s: %w", desc.Digest, err))
	}
	return nil
}
