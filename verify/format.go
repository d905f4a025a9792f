package verify

import (
	"context"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"

	"github.com/gitless-dev/gitless/internal/sigstore"
)

// BundleMediaType is the media type of a sigstore bundle v0.3 (the layer of a bundle
// referrer, and its artifact type).
const BundleMediaType = sigstore.BundleMediaType

// SignatureTag returns the tag cosign stores the signatures of d under:
// "sha256-<hex>.sig".
func SignatureTag(d digest.Digest) string { return sigstore.SignatureTag(d) }

// fetchBundle reads a bundle referrer: its manifest (one bundle layer) and the bundle.
func (st *verifyState) fetchBundle(ctx context.Context, d ocispec.Descriptor) (*sgbundle.Bundle, error) {
	lim := st.c.limits
	if d.Size > lim.MaxManifestSize || d.Size < 0 {
		return nil, limitErr(&sizeError{what: "bundle manifest " + d.Digest.String(), size: d.Size, limit: lim.MaxManifestSize})
	}
	_, mb, err := st.c.reg.FetchManifest(ctx, st.ref, d.Digest.String(), lim.MaxManifestSize)
	if err != nil {
		return nil, limitErr(err)
	}
	layer, err := sigstore.ParseBundleManifest(mb)
	if err != nil {
		return nil, err
	}
	b, err := st.c.reg.FetchBlob(ctx, st.ref, layer, lim.MaxBlobSize)
	if err != nil {
		return nil, limitErr(err)
	}
	return sigstore.ParseBundle(b)
}
