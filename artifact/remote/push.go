package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/gitless-dev/gitless/artifact"
)

// PushOptions configures [Client.Push].
type PushOptions struct {
	// Tags are pushed in addition to the reference's own tag.
	Tags []string
	// Policy decides which existing tags may move. The zero value keeps every tag
	// immutable; DefaultPushOptions lets "latest" move.
	Policy artifact.TagPolicy
}

// DefaultPushOptions returns options whose policy moves only artifact.DefaultMovingTags.
func DefaultPushOptions() PushOptions {
	return PushOptions{Policy: artifact.TagPolicy{Moving: artifact.DefaultMovingTags}}
}

// TagUpdate is what happened to one tag.
type TagUpdate struct {
	Tag      string        `json:"tag"`
	Previous digest.Digest `json:"previous,omitempty"` // "" when the tag is new
	Changed  bool          `json:"changed"`
}

// PushResult describes a push.
type PushResult struct {
	Reference artifact.Reference `json:"-"`
	Digest    digest.Digest      `json:"digest"`
	Size      int64              `json:"size"`
	Tags      []TagUpdate        `json:"tags"`
	// Unchanged is true when every tag already pointed at this digest: nothing was
	// uploaded.
	Unchanged bool `json:"unchanged"`
	// Uploaded counts the blobs sent (the registry had the others).
	Uploaded int `json:"uploaded"`
}

// Push uploads a built layer as an artifact and points the tags at it. The tags are
// checked before anything is sent: a tag that points at another digest and may not
// move fails the whole push with *artifact.TagConflictError. Blobs go first and the
// manifest last, so a failed push leaves every tag where it was. With no tag at all,
// the manifest is pushed by digest.
func (c *Client) Push(ctx context.Context, ref artifact.Reference, layer *artifact.Layer, meta artifact.Metadata, opts PushOptions) (*PushResult, error) {
	m, err := artifact.NewManifest(layer.Descriptor, meta)
	if err != nil {
		return nil, err
	}
	return c.PushManifest(ctx, ref, m, layer.Data, opts)
}

// PushManifest pushes a manifest made by artifact.NewManifest with its layer bytes.
func (c *Client) PushManifest(ctx context.Context, ref artifact.Reference, m *artifact.Manifest, layerData []byte, opts PushOptions) (*PushResult, error) {
	repo, err := c.Repository(ref)
	if err != nil {
		return nil, err
	}
	tags := uniqueTags(append([]string{ref.Tag}, opts.Tags...))
	for _, t := range tags {
		if err := artifact.ValidateTag(t); err != nil {
			return nil, err
		}
	}
	res := &PushResult{Reference: ref.WithDigest(m.Descriptor.Digest), Digest: m.Descriptor.Digest, Size: m.Descriptor.Size}

	changed, err := c.planTags(ctx, repo, ref, tags, m.Descriptor.Digest, opts.Policy, res)
	if err != nil {
		return nil, err
	}
	if len(tags) > 0 && len(changed) == 0 {
		res.Unchanged = true
		return res, nil
	}

	cfgDesc, cfg := artifact.ConfigDescriptor()
	blobs := []struct {
		desc ocispec.Descriptor
		data []byte
	}{{cfgDesc, cfg}, {m.Manifest.Layers[0], layerData}}
	for _, b := range blobs {
		if int64(len(b.data)) != b.desc.Size || digest.FromBytes(b.data) != b.desc.Digest {
			return nil, fmt.Errorf("pushing %s: blob %s does not match its bytes", ref.Repo(), b.desc.Digest)
		}
	}
	// The blobs go up side by side; the manifest only after both are in.
	var (
		wg       sync.WaitGroup
		uploaded [2]int
		errs     [2]error
	)
	for i, b := range blobs {
		wg.Go(func() { uploaded[i], errs[i] = c.pushBlob(ctx, repo, b.desc, b.data) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, c.WrapError("pushing", ref, fmt.Errorf("uploading blob %s: %w", blobs[i].desc.Digest, err))
		}
		res.Uploaded += uploaded[i]
	}

	if len(changed) == 0 {
		if err := repo.Manifests().Push(ctx, m.Descriptor, bytes.NewReader(m.Bytes)); err != nil {
			return nil, c.WrapError("pushing", ref, fmt.Errorf("uploading manifest %s: %w", m.Descriptor.Digest, err))
		}
		return res, nil
	}
	for _, t := range changed {
		if err := repo.PushReference(ctx, m.Descriptor, bytes.NewReader(m.Bytes), t); err != nil {
			return nil, c.WrapError("pushing", ref, fmt.Errorf("tagging %s as %q: %w", m.Descriptor.Digest, t, err))
		}
	}
	return res, nil
}

// planTags resolves each tag and returns those that must be (re)pointed at d.
func (c *Client) planTags(ctx context.Context, repo *remote.Repository, ref artifact.Reference, tags []string, d digest.Digest, policy artifact.TagPolicy, res *PushResult) ([]string, error) {
	var changed []string
	for _, t := range tags {
		cur, err := resolve(ctx, repo, t)
		switch {
		case errors.Is(err, errdef.ErrNotFound):
			res.Tags = append(res.Tags, TagUpdate{Tag: t, Changed: true})
			changed = append(changed, t)
		case err != nil:
			return nil, c.WrapError("resolving", ref.WithTag(t), fmt.Errorf("tag %q: %w", t, err))
		case cur.Digest == d:
			res.Tags = append(res.Tags, TagUpdate{Tag: t, Previous: cur.Digest})
		case policy.MayMove(t):
			res.Tags = append(res.Tags, TagUpdate{Tag: t, Previous: cur.Digest, Changed: true})
			changed = append(changed, t)
		default:
			return nil, &artifact.TagConflictError{Repository: ref.Repo(), Tag: t, Existing: cur.Digest, New: d}
		}
	}
	return changed, nil
}

// pushBlob uploads a blob unless the registry has it; it returns 1 if it uploaded.
func (c *Client) pushBlob(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor, data []byte) (int, error) {
	ok, err := repo.Blobs().Exists(ctx, desc)
	if err != nil {
		return 0, err
	}
	if ok {
		return 0, nil
	}
	if err := repo.Blobs().Push(ctx, desc, bytes.NewReader(data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return 0, err
	}
	return 1, nil
}

// TagOptions configures [Client.Tag].
type TagOptions struct {
	// Policy decides which existing tags may move. DefaultTagOptions moves any tag
	// that does not look immutable (a commit SHA or a full version).
	Policy artifact.TagPolicy
}

// DefaultTagOptions returns the promotion policy: tags move unless immutable.
func DefaultTagOptions() TagOptions {
	return TagOptions{Policy: artifact.TagPolicy{MoveByDefault: true}}
}

// Tag points more tags at the artifact src names. The artifact is fetched and checked
// first (it must be a gitless/Flux artifact), then each tag is pushed with the same
// manifest bytes; no blob is copied.
func (c *Client) Tag(ctx context.Context, src artifact.Reference, tags []string, opts TagOptions) (*PushResult, error) {
	a, err := c.Fetch(ctx, src)
	if err != nil {
		return nil, err
	}
	repo, err := c.Repository(src)
	if err != nil {
		return nil, err
	}
	tags = uniqueTags(tags)
	if len(tags) == 0 {
		return nil, errors.New("tagging: no tag given")
	}
	for _, t := range tags {
		if err := artifact.ValidateTag(t); err != nil {
			return nil, err
		}
	}
	res := &PushResult{Reference: a.Reference, Digest: a.Descriptor.Digest, Size: a.Descriptor.Size}
	changed, err := c.planTags(ctx, repo, src, tags, a.Descriptor.Digest, opts.Policy, res)
	if err != nil {
		return nil, err
	}
	res.Unchanged = len(changed) == 0
	for _, t := range changed {
		if err := repo.PushReference(ctx, a.Descriptor, bytes.NewReader(a.ManifestBytes), t); err != nil {
			return nil, c.WrapError("tagging", src, fmt.Errorf("pointing %q at %s: %w", t, a.Descriptor.Digest, err))
		}
	}
	return res, nil
}
