package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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
	// Kept says why a moving tag was not moved: it names an artifact created after
	// this one (TagPolicy.AllowRollback moves it anyway).
	Kept string `json:"kept,omitempty"`
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
	// BuiltBy is set when an immutable tag already named this artifact as another CI
	// run built it (the same content and metadata, but its run URL: a retried job): that
	// artifact is kept, and its run's URL is here.
	BuiltBy string `json:"builtBy,omitempty"`
}

// Push uploads a built layer as an artifact and points the tags at it. The tags are
// checked before the layer and the manifest are sent: a tag that points at another
// digest and may not move fails the whole push with *artifact.TagConflictError. Blobs go
// first and the manifest last, so a failed push leaves every tag where it was. With no
// tag at all, the manifest is pushed by digest. Push is StartPush and Finish.
func (c *Client) Push(ctx context.Context, ref artifact.Reference, layer *artifact.Layer, meta artifact.Metadata, opts PushOptions) (*PushResult, error) {
	return c.StartPush(ctx, ref, opts).Finish(ctx, layer, meta)
}

// PushManifest pushes a manifest made by artifact.NewManifest with its layer bytes.
func (c *Client) PushManifest(ctx context.Context, ref artifact.Reference, m *artifact.Manifest, layerData []byte, opts PushOptions) (*PushResult, error) {
	return c.StartPush(ctx, ref, opts).finish(ctx, m, layerData)
}

// PendingPush is a push whose registry side began before its layer was built: StartPush
// reads the tags and uploads the config blob (the same two bytes in every gitless
// artifact) while the caller builds the layer; Finish sends the rest. End every
// PendingPush with Finish or Abort.
type PendingPush struct {
	c      *Client
	ref    artifact.Reference
	opts   PushOptions
	done   chan struct{}
	cancel context.CancelFunc

	// set by the goroutine StartPush starts, read after done is closed
	repo        *remote.Repository
	tags        []string
	current     []tagState
	cfgUploaded int
	err         error
}

// tagState is what a tag pointed at when the push began.
type tagState struct {
	desc   ocispec.Descriptor
	exists bool
}

// StartPush begins a push to ref: it checks the tags' syntax, resolves each tag and
// uploads the config blob, on another goroutine, so that this costs the caller's build
// no time. Nothing is tagged before Finish.
func (c *Client) StartPush(ctx context.Context, ref artifact.Reference, opts PushOptions) *PendingPush {
	ctx, cancel := context.WithCancel(ctx)
	p := &PendingPush{c: c, ref: ref, opts: opts, done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(p.done)
		p.err = p.prepare(ctx)
	}()
	return p
}

func (p *PendingPush) prepare(ctx context.Context) error {
	repo, err := p.c.Repository(p.ref)
	if err != nil {
		return err
	}
	p.repo = repo
	p.tags = uniqueTags(append([]string{p.ref.Tag}, p.opts.Tags...))
	for _, t := range p.tags {
		if err := artifact.ValidateTag(t); err != nil {
			return err
		}
	}
	// the config blob goes up while the tags are read
	cfgDesc, cfg := artifact.ConfigDescriptor()
	cfgErr := make(chan error, 1)
	go func() {
		var err error
		p.cfgUploaded, err = p.c.pushBlob(ctx, repo, cfgDesc, cfg)
		cfgErr <- err
	}()
	p.current, err = p.c.readTags(ctx, repo, p.ref, p.tags)
	if cerr := <-cfgErr; err == nil && cerr != nil {
		err = p.c.WrapError("pushing", p.ref, fmt.Errorf("uploading blob %s: %w", cfgDesc.Digest, cerr))
	}
	return err
}

// Abort stops what StartPush began, for a push that will not be finished (the build
// failed), and waits until it has stopped.
func (p *PendingPush) Abort() {
	p.cancel()
	<-p.done
}

// Finish pushes layer with meta: the manifest is made, the tags decided (as Push
// does), the layer uploaded unless the registry has it, and the tags pointed at the
// manifest.
func (p *PendingPush) Finish(ctx context.Context, layer *artifact.Layer, meta artifact.Metadata) (*PushResult, error) {
	m, err := artifact.NewManifest(layer.Descriptor, meta)
	if err != nil {
		p.Abort()
		return nil, err
	}
	res, err := p.finish(ctx, m, layer.Data)
	// A retried CI job builds the same artifact but for its run's URL: the tag names
	// the artifact the first try pushed, which is kept (and signed again by the
	// caller) rather than refused as a conflict.
	var conflict *artifact.TagConflictError
	if errors.As(err, &conflict) && meta.BuildURL != "" {
		if prev := p.builtByAnotherRun(ctx, conflict.Existing, layer, meta); prev != nil {
			res, err = p.finish(ctx, prev, layer.Data)
			if err == nil {
				res.BuiltBy = prev.Manifest.Annotations[artifact.AnnotationBuildURL]
			}
		}
	}
	return res, err
}

// builtByAnotherRun returns the manifest of existing when it is the artifact meta and
// layer make with another run's build URL, nil otherwise.
func (p *PendingPush) builtByAnotherRun(ctx context.Context, existing digest.Digest, layer *artifact.Layer, meta artifact.Metadata) *artifact.Manifest {
	a, err := p.c.Fetch(ctx, p.ref.WithDigest(existing))
	if err != nil || a.Metadata.BuildURL == "" || a.Layer.Digest != layer.Descriptor.Digest {
		return nil
	}
	meta.BuildURL = a.Metadata.BuildURL
	m, err := artifact.NewManifest(layer.Descriptor, meta)
	if err != nil || m.Descriptor.Digest != existing {
		return nil
	}
	return m
}

func (p *PendingPush) finish(ctx context.Context, m *artifact.Manifest, layerData []byte) (*PushResult, error) {
	<-p.done
	defer p.cancel()
	if p.err != nil {
		return nil, p.err
	}
	ref, repo := p.ref, p.repo
	res := &PushResult{Reference: ref.WithDigest(m.Descriptor.Digest), Digest: m.Descriptor.Digest, Size: m.Descriptor.Size}
	changed, err := planTags(p.ref, p.tags, p.current, m.Descriptor.Digest, p.opts.Policy, res)
	if err != nil {
		return nil, err
	}
	changed = p.keepNewer(ctx, m, res.Tags, changed)
	if len(p.tags) > 0 && len(changed) == 0 {
		res.Unchanged = true
		return res, nil
	}
	layer := m.Manifest.Layers[0]
	if int64(len(layerData)) != layer.Size || digest.FromBytes(layerData) != layer.Digest {
		return nil, fmt.Errorf("pushing %s: blob %s does not match its bytes", ref.Repo(), layer.Digest)
	}
	uploaded, err := p.c.pushBlob(ctx, repo, layer, layerData)
	if err != nil {
		return nil, p.c.WrapError("pushing", ref, fmt.Errorf("uploading blob %s: %w", layer.Digest, err))
	}
	res.Uploaded = uploaded + p.cfgUploaded
	if len(changed) == 0 {
		if err := repo.Manifests().Push(ctx, m.Descriptor, bytes.NewReader(m.Bytes)); err != nil {
			return nil, p.c.WrapError("pushing", ref, fmt.Errorf("uploading manifest %s: %w", m.Descriptor.Digest, err))
		}
		return res, nil
	}
	for _, t := range changed {
		if err := repo.PushReference(ctx, m.Descriptor, bytes.NewReader(m.Bytes), t); err != nil {
			return nil, p.c.WrapError("pushing", ref, fmt.Errorf("tagging %s as %q: %w", m.Descriptor.Digest, t, err))
		}
	}
	// Registries have no conditional tag write: two pushes that both found an
	// immutable tag free both set it, and the last write stays. Read back, the loser
	// learns it (and does not report, or sign for, a tag that names another digest).
	// Two writes can still both read back their own before the other lands; only a
	// registry's own tag immutability closes that.
	for _, t := range changed {
		if p.opts.Policy.MayMove(t) {
			continue
		}
		now, err := resolve(ctx, repo, t)
		if err != nil {
			return nil, p.c.WrapError("pushing", ref, fmt.Errorf("reading tag %q back: %w", t, err))
		}
		if now.Digest != m.Descriptor.Digest {
			return nil, &artifact.TagConflictError{Repository: ref.Repo(), Tag: t, Existing: now.Digest, New: m.Descriptor.Digest, Concurrent: true}
		}
	}
	return res, nil
}

// keepNewer leaves a moving tag where it is when the artifact it names was created
// after m (a re-run of an old pipeline, a hotfix of an older line released after a
// newer one): the tag is marked Kept in tags and left out of changed, which it returns.
// The other tags, the commit's and the version's, are pushed as planned. With
// AllowRollback or AllowOverwrite, or when either artifact has no created time or the
// one a tag names cannot be read, the tag moves.
func (p *PendingPush) keepNewer(ctx context.Context, m *artifact.Manifest, tags []TagUpdate, changed []string) []string {
	pol := p.opts.Policy
	created := artifact.MetadataFromAnnotations(m.Manifest.Annotations).Created
	if pol.AllowRollback || pol.AllowOverwrite || created.IsZero() {
		return changed
	}
	createdOf := map[digest.Digest]time.Time{} // one fetch per artifact the tags name
	for i := range tags {
		u := &tags[i]
		if !u.Changed || u.Previous == "" {
			continue
		}
		pc, seen := createdOf[u.Previous]
		if !seen {
			if prev, err := p.c.Fetch(ctx, p.ref.WithDigest(u.Previous)); err == nil {
				pc = prev.Metadata.Created
			}
			createdOf[u.Previous] = pc
		}
		if !pc.IsZero() && created.Before(pc) {
			u.Changed = false
			u.Kept = fmt.Sprintf("it names %s, created %s, after this artifact (%s): not moved back", u.Previous, pc.UTC().Format(time.RFC3339), created.UTC().Format(time.RFC3339))
			changed = slices.DeleteFunc(changed, func(t string) bool { return t == u.Tag })
		}
	}
	return changed
}

// readTags resolves each tag.
func (c *Client) readTags(ctx context.Context, repo *remote.Repository, ref artifact.Reference, tags []string) ([]tagState, error) {
	current := make([]tagState, len(tags))
	for i, t := range tags {
		cur, err := resolve(ctx, repo, t)
		switch {
		case errors.Is(err, errdef.ErrNotFound):
		case err != nil:
			return nil, c.WrapError("resolving", ref.WithTag(t), fmt.Errorf("tag %q: %w", t, err))
		default:
			current[i] = tagState{desc: cur, exists: true}
		}
	}
	return current, nil
}

// planTags returns the tags that must be (re)pointed at d, from what they pointed at
// (current).
func planTags(ref artifact.Reference, tags []string, current []tagState, d digest.Digest, policy artifact.TagPolicy, res *PushResult) ([]string, error) {
	var changed []string
	for i, t := range tags {
		cur := current[i]
		switch {
		case !cur.exists:
			res.Tags = append(res.Tags, TagUpdate{Tag: t, Changed: true})
			changed = append(changed, t)
		case cur.desc.Digest == d:
			res.Tags = append(res.Tags, TagUpdate{Tag: t, Previous: cur.desc.Digest})
		case policy.MayMove(t):
			res.Tags = append(res.Tags, TagUpdate{Tag: t, Previous: cur.desc.Digest, Changed: true})
			changed = append(changed, t)
		default:
			return nil, &artifact.TagConflictError{Repository: ref.Repo(), Tag: t, Existing: cur.desc.Digest, New: d}
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
	current, err := c.readTags(ctx, repo, src, tags)
	if err != nil {
		return nil, err
	}
	changed, err := planTags(src, tags, current, a.Descriptor.Digest, opts.Policy, res)
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
