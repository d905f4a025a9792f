package cli

import (
	"context"
	"fmt"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/clikit"
)

// diffTagFlag is push's --diff-tag: push only when the content differs from what a tag
// holds, as Flux's `flux diff artifact` step before `flux push artifact` does.
type diffTagFlag struct{ tag string }

// unchanged returns the artifact the tag holds when the built layer has the same files
// (content and modes; metadata such as the revision does not count), else nil. A tag
// that does not exist differs from everything.
func (d *diffTagFlag) unchanged(ctx context.Context, c *remote.Client, ref artifact.Reference, layer *artifact.Layer) (*remote.Artifact, error) {
	if d.tag == "" {
		return nil, nil
	}
	if err := artifact.ValidateTag(d.tag); err != nil {
		return nil, clikit.Usagef("--diff-tag: %v", err)
	}
	res, err := c.Diff(ctx, ref.WithTag(d.tag), layer)
	if err != nil {
		return nil, fmt.Errorf("comparing with --diff-tag %s: %w", d.tag, err)
	}
	if res.Differs() {
		return nil, nil
	}
	return res.Remote, nil
}

// report says that nothing was pushed because the tag already holds the content.
func (d *diffTagFlag) report(env Env, o clikit.Output, ref artifact.Reference, same *remote.Artifact, layer *artifact.Layer) error {
	pinned := ref.WithTag(d.tag).WithDigest(same.Descriptor.Digest)
	if o.Structured() {
		return o.Write(env.Out, pushOutput{
			URL: pinned.String(), Repository: ref.Repo(), Tag: d.tag, Tags: []string{}, Digest: same.Descriptor.Digest.String(),
			Unchanged: true, Updates: []remote.TagUpdate{}, Layer: layer.Descriptor.Digest.String(), Files: len(layer.Files),
			Metadata: same.Metadata, DiffTag: d.tag,
		})
	}
	fmt.Fprintf(env.Err, "unchanged: %s already holds this content (%s); nothing pushed, tagged or signed\n", d.tag, same.Descriptor.Digest)
	fmt.Fprintln(env.Out, pinned.String())
	return nil
}
