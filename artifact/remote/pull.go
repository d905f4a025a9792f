package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"

	"github.com/gitless-dev/gitless/artifact"
)

// ErrNotFound matches a repository, tag or digest the registry does not have.
var ErrNotFound = errdef.ErrNotFound

// ErrInvalidRange is a semver range (ListOptions.SemVer) that does not parse.
var ErrInvalidRange = errors.New("invalid semver range")

// Artifact is a checked manifest read from a registry.
type Artifact struct {
	// Reference is pinned to Descriptor.Digest (the tag kept for display).
	Reference     artifact.Reference `json:"-"`
	Descriptor    ocispec.Descriptor `json:"descriptor"`
	ManifestBytes []byte             `json:"-"`
	Manifest      *ocispec.Manifest  `json:"manifest"`
	Layer         ocispec.Descriptor `json:"layer"` // the content layer
	Metadata      artifact.Metadata  `json:"metadata"`
}

// Resolve turns a reference into a descriptor with one HEAD request (one GET instead
// when the registry answers HEAD with 405 or 501). A reference with a digest resolves
// to that digest as it is, without a request.
func (c *Client) Resolve(ctx context.Context, ref artifact.Reference) (ocispec.Descriptor, error) {
	if ref.Digest != "" {
		return ocispec.Descriptor{Digest: ref.Digest}, nil
	}
	if ref.Tag == "" {
		return ocispec.Descriptor{}, fmt.Errorf("%w %s: no tag or digest", artifact.ErrInvalidReference, ref)
	}
	repo, err := c.Repository(ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d, err := resolve(ctx, repo, ref.Tag)
	if err != nil {
		return ocispec.Descriptor{}, c.WrapError("resolving", ref, fmt.Errorf("tag %q: %w", ref.Tag, err))
	}
	return d, nil
}

// Fetch resolves ref once and fetches the manifest by digest, checking its size
// against artifact.MaxManifestSize before downloading, its digest, and its shape
// (artifact.ParseManifest).
func (c *Client) Fetch(ctx context.Context, ref artifact.Reference) (*Artifact, error) {
	repo, err := c.Repository(ref)
	if err != nil {
		return nil, err
	}
	d := ref.Digest
	if d == "" {
		desc, err := c.Resolve(ctx, ref)
		if err != nil {
			return nil, err
		}
		if desc.Size > artifact.MaxManifestSize {
			return nil, fmt.Errorf("fetching %s: manifest %s is %d bytes, over the %d byte cap", ref, desc.Digest, desc.Size, artifact.MaxManifestSize)
		}
		d = desc.Digest
	}
	pinned := ref.WithDigest(d)
	desc, rc, err := repo.Manifests().FetchReference(ctx, d.String())
	if err != nil {
		return nil, c.WrapError("fetching", pinned, fmt.Errorf("manifest %s: %w", d, err))
	}
	defer rc.Close()
	if desc.Size > artifact.MaxManifestSize || desc.Size < 0 {
		return nil, fmt.Errorf("fetching %s: manifest is %d bytes, over the %d byte cap", pinned, desc.Size, artifact.MaxManifestSize)
	}
	if desc.Digest != d {
		return nil, fmt.Errorf("fetching %s: registry returned manifest %s", pinned, desc.Digest)
	}
	b, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: manifest: %w", pinned, err)
	}
	m, layer, err := artifact.ParseManifest(b, desc.MediaType)
	if err != nil {
		return nil, fmt.Errorf("fetching %s: %w", pinned, err)
	}
	desc.MediaType = m.MediaType
	return &Artifact{
		Reference:     pinned,
		Descriptor:    desc,
		ManifestBytes: b,
		Manifest:      m,
		Layer:         layer,
		Metadata:      artifact.MetadataFromAnnotations(m.Annotations),
	}, nil
}

// PullOptions configures [Client.Pull].
type PullOptions struct {
	// Extract holds the extraction caps; zero fields take the defaults.
	Extract artifact.ExtractOptions
}

// PullResult describes a pull.
type PullResult struct {
	Artifact *Artifact       `json:"artifact"`
	Files    []artifact.File `json:"files"`
	Dir      string          `json:"dir"`
}

// Pull fetches the artifact ref names and extracts its content layer into dir, which
// must not exist or be empty. The tag, if any, is resolved once; the manifest and the
// layer are then fetched by digest, the layer's declared size is checked against the
// caps before it is downloaded, and its digest while it streams. Extraction goes to a
// temporary directory beside dir that replaces dir only when every check passed, so a
// failed pull leaves nothing behind.
func (c *Client) Pull(ctx context.Context, ref artifact.Reference, dir string, opts PullOptions) (*PullResult, error) {
	a, err := c.Fetch(ctx, ref)
	if err != nil {
		return nil, err
	}
	files, err := c.ExtractTo(ctx, a, dir, opts.Extract)
	if err != nil {
		return nil, err
	}
	return &PullResult{Artifact: a, Files: files, Dir: dir}, nil
}

// ExtractTo downloads a fetched artifact's content layer and extracts it into dir
// (which must not exist or be empty), with the checks described at [Client.Pull].
func (c *Client) ExtractTo(ctx context.Context, a *Artifact, dir string, opts artifact.ExtractOptions) ([]artifact.File, error) {
	if err := checkTarget(dir); err != nil {
		return nil, fmt.Errorf("pulling %s: %w", a.Reference, err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("pulling %s: %w", a.Reference, err)
	}
	tmp, err := os.MkdirTemp(parent, ".gitless-pull-*")
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", a.Reference, err)
	}
	keep := false
	defer func() {
		if !keep {
			os.RemoveAll(tmp)
		}
	}()
	files, err := c.extractLayer(ctx, a, tmp, opts)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	_ = os.Remove(dir) // an empty directory may stand where the result goes
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("pulling %s: moving the result into place: %w", a.Reference, err)
	}
	keep = true
	return files, nil
}

// extractLayer streams the content layer into the empty directory dir.
func (c *Client) extractLayer(ctx context.Context, a *Artifact, dir string, opts artifact.ExtractOptions) ([]artifact.File, error) {
	caps, err := opts.WithDefaults()
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", a.Reference, err)
	}
	l := a.Layer
	// gzip never grows data by more than a small fraction; anything larger than the
	// uncompressed cap is refused before a byte is fetched.
	if maxCompressed := caps.MaxTotalSize + caps.MaxTotalSize/64 + 1<<20; l.Size > maxCompressed {
		return nil, fmt.Errorf("pulling %s: layer %s is %d bytes, over the cap of %d: %w", a.Reference, l.Digest, l.Size, maxCompressed, artifact.ErrTooLarge)
	}
	repo, err := c.Repository(a.Reference)
	if err != nil {
		return nil, err
	}
	rc, err := repo.Blobs().Fetch(ctx, l)
	if err != nil {
		return nil, c.blobError("pulling", a.Reference, fmt.Errorf("layer %s: %w", l.Digest, err))
	}
	defer rc.Close()
	vr := content.NewVerifyReader(rc, l)
	// drain reads the rest of the layer, within its size (capped above), and checks
	// the bytes against the digest.
	drain := func() error {
		if _, err := io.Copy(io.Discard, vr); err != nil {
			return err
		}
		return vr.Verify()
	}
	files, err := artifact.Extract(ctx, vr, dir, opts)
	if err != nil {
		// A verdict on the content (unsafe, too large) stands only for the bytes the
		// digest names: bytes that are not (a hostile or broken mirror, a stream cut
		// short) are a mismatch, which says nothing of the artifact and may be fetched
		// again.
		if ctx.Err() != nil {
			return nil, fmt.Errorf("pulling %s: layer %s: %w", a.Reference, l.Digest, err)
		}
		if derr := drain(); derr != nil {
			return nil, fmt.Errorf("pulling %s: layer %s: %w: %w (while extracting: %v)", a.Reference, l.Digest, ErrDigestMismatch, derr, err)
		}
		return nil, fmt.Errorf("pulling %s: layer %s: %w", a.Reference, l.Digest, err)
	}
	if err := drain(); err != nil {
		return nil, fmt.Errorf("pulling %s: layer %s: %w: %w", a.Reference, l.Digest, ErrDigestMismatch, err)
	}
	return files, nil
}

// ErrDigestMismatch is returned when content does not match its digest or size.
var ErrDigestMismatch = errors.New("content does not match its digest")

func checkTarget(dir string) error {
	des, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("output directory: %w", err)
	case len(des) > 0:
		return fmt.Errorf("output directory %s is not empty", dir)
	}
	return nil
}
