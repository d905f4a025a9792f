package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"

	"github.com/Masterminds/semver/v3"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/gitless-dev/gitless/artifact"
)

// TagInfo is one tag of a repository with what it points at.
type TagInfo struct {
	Tag      string        `json:"tag"`
	Digest   digest.Digest `json:"digest"`
	Revision string        `json:"revision,omitempty"`
	Source   string        `json:"source,omitempty"`
	Created  string        `json:"created,omitempty"`
	// Version is the tag parsed as a semantic version, when it is one.
	Version string `json:"version,omitempty"`
	// Err is set when the tag could not be read as an artifact (another kind of image,
	// say); the listing goes on.
	Err string `json:"error,omitempty"`
}

// ListOptions configures [Client.List].
type ListOptions struct {
	// SemVer keeps only tags that parse as semantic versions inside this range
	// (Masterminds/semver syntax, as Flux's OCIRepository uses), newest first.
	SemVer string
	// Concurrency bounds the manifest requests in flight; zero means 8.
	Concurrency int
	// Limit is how many tags are read (one manifest request each), newest versions
	// first, then the other tags in name order; zero means DefaultListLimit, a negative
	// number every tag. A repository of a million tags is not a million requests.
	Limit int
}

// DefaultListLimit is ListOptions.Limit's default.
const DefaultListLimit = 100

// TagList is what [Client.List] returns.
type TagList struct {
	// Tags are the tags read, newest versions first (by semver), then the other tags
	// in name order.
	Tags []TagInfo
	// More counts the tags of the listing past the limit, not read.
	More int
}

// signatureTagRE matches the tags cosign and its peers put next to artifacts.
var signatureTagRE = regexp.MustCompile(`^sha256-[0-9a-f]{64}(\.[a-z]+)?$`)

// List returns the tags of a repository and what each points at, up to opts.Limit.
// Signature, attestation and SBOM tags (sha256-<hex>.sig and the like) are left out.
func (c *Client) List(ctx context.Context, repoRef artifact.Reference, opts ListOptions) (*TagList, error) {
	var constraint *semver.Constraints
	if opts.SemVer != "" {
		var err error
		if constraint, err = semver.NewConstraint(opts.SemVer); err != nil {
			return nil, fmt.Errorf("listing %s: %w %q: %v", repoRef.Repo(), ErrInvalidRange, opts.SemVer, err)
		}
	}
	tags, err := c.Tags(ctx, repoRef)
	if err != nil {
		return nil, err
	}
	type entry struct {
		TagInfo
		v *semver.Version
	}
	entries := make([]entry, 0, len(tags))
	for _, t := range tags {
		e := entry{TagInfo: TagInfo{Tag: t}}
		if v, err := semver.NewVersion(t); err == nil {
			if constraint != nil && !constraint.Check(v) {
				continue
			}
			e.Version, e.v = v.String(), v
		} else if constraint != nil {
			continue
		}
		entries = append(entries, e)
	}
	// Versions first, newest first; then the other tags by name.
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		switch {
		case a.v != nil && b.v != nil:
			if !a.v.Equal(b.v) {
				return a.v.GreaterThan(b.v)
			}
			return a.Tag < b.Tag
		case a.v != nil || b.v != nil:
			return a.v != nil
		}
		return a.Tag < b.Tag
	})
	limit := opts.Limit
	if limit == 0 {
		limit = DefaultListLimit
	}
	out := &TagList{}
	if limit > 0 && len(entries) > limit {
		out.More = len(entries) - limit
		entries = entries[:limit]
	}
	out.Tags = make([]TagInfo, len(entries))
	for i, e := range entries {
		out.Tags[i] = e.TagInfo
	}

	n := opts.Concurrency
	if n <= 0 {
		n = 8
	}
	// A tag that is not an artifact is listed with its error; a refusal of the
	// credentials or the end of ctx stops the listing.
	var g errgroup.Group
	g.SetLimit(n)
	for i := range out.Tags {
		ti := &out.Tags[i]
		g.Go(func() error {
			a, err := c.Fetch(ctx, repoRef.WithTag(ti.Tag))
			if err != nil {
				ti.Err = err.Error()
				var ae *AuthError
				if errors.As(err, &ae) || ctx.Err() != nil {
					return err
				}
				return nil
			}
			ti.Digest = a.Descriptor.Digest
			ti.Revision = a.Metadata.Revision
			ti.Source = a.Metadata.Source
			ti.Created = a.Manifest.Annotations[artifact.AnnotationCreated]
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// Inspection is what [Client.Inspect] reports.
type Inspection struct {
	*Artifact
	// Files is the content of the layer, when asked for.
	Files []artifact.File `json:"files,omitempty"`
}

// Inspect fetches and checks an artifact's manifest; with files it also downloads
// and extracts the layer (to a temporary directory, removed after) to list its files.
func (c *Client) Inspect(ctx context.Context, ref artifact.Reference, files bool) (*Inspection, error) {
	a, err := c.Fetch(ctx, ref)
	if err != nil {
		return nil, err
	}
	in := &Inspection{Artifact: a}
	if files {
		if in.Files, err = c.remoteFiles(ctx, a); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func (c *Client) remoteFiles(ctx context.Context, a *Artifact) ([]artifact.File, error) {
	tmp, err := os.MkdirTemp("", "gitless-inspect-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	return c.extractLayer(ctx, a, tmp, artifact.ExtractOptions{})
}

// DiffResult is what [Client.Diff] reports.
type DiffResult struct {
	// Remote is the artifact compared against; nil when the tag does not exist.
	Remote  *Artifact             `json:"remote,omitempty"`
	Changes []artifact.FileChange `json:"changes"`
}

// Differs reports whether a push would change the content.
func (d *DiffResult) Differs() bool { return len(d.Changes) > 0 }

// Diff compares a built layer with what ref holds, file by file. When the layer
// digests are equal no content is downloaded. A tag that does not exist counts as an
// empty artifact (every file added).
func (c *Client) Diff(ctx context.Context, ref artifact.Reference, layer *artifact.Layer) (*DiffResult, error) {
	a, err := c.Fetch(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		return &DiffResult{Changes: artifact.DiffTrees(nil, layer.Files)}, nil
	}
	if err != nil {
		return nil, err
	}
	res := &DiffResult{Remote: a}
	if a.Layer.Digest == layer.Descriptor.Digest {
		return res, nil
	}
	remoteFiles, err := c.remoteFiles(ctx, a)
	if err != nil {
		return nil, err
	}
	res.Changes = artifact.DiffTrees(remoteFiles, layer.Files)
	return res, nil
}
