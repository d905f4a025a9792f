package image

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// PushOptions configure Push.
type PushOptions struct {
	// Keychain supplies registry credentials; authn.DefaultKeychain (the docker config
	// and its credential helpers) when nil.
	Keychain authn.Keychain
	// Tags are further tags of the same repository to point at the index.
	Tags []string
	// Insecure allows plain HTTP to a registry that is not on loopback (loopback always
	// uses it).
	Insecure bool
}

// Push uploads the index and its images to ref (REGISTRY/REPOSITORY:TAG), points the
// further tags at it, and returns its digest.
func Push(ctx context.Context, ref string, idx v1.ImageIndex, opts PushOptions) (v1.Hash, error) {
	var nopts []name.Option
	if opts.Insecure {
		nopts = append(nopts, name.Insecure)
	}
	tag, err := name.NewTag(ref, append(nopts, name.StrictValidation)...)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("%w: image reference %q: %v", ErrOptions, ref, err)
	}
	kc := opts.Keychain
	if kc == nil {
		kc = authn.DefaultKeychain
	}
	ropts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc)}
	if err := remote.WriteIndex(tag, idx, ropts...); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s: %w", tag, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, t := range opts.Tags {
		other := tag.Context().Tag(t)
		if _, err := name.NewTag(other.String(), append(nopts, name.StrictValidation)...); err != nil {
			return d, fmt.Errorf("%w: tag %q: %v", ErrOptions, t, err)
		}
		if err := remote.Tag(other, idx, ropts...); err != nil {
			return d, fmt.Errorf("tagging %s: %w", other, err)
		}
	}
	return d, nil
}

// PullIndex reads a multi-platform base image, with the docker config's credentials.
func PullIndex(ctx context.Context, ref string, insecure bool) (v1.ImageIndex, error) {
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, fmt.Errorf("%w: base image %q: %v", ErrOptions, ref, err)
	}
	idx, err := remote.Index(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		return nil, fmt.Errorf("reading the base image %s: %w", ref, err)
	}
	return idx, nil
}
