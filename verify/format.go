package verify

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	orasremote "oras.land/oras-go/v2/registry/remote"
)

// Media types and annotations of the two signature formats.
const (
	simpleSigningMediaType = ctypes.SimpleSigningMediaType // cosign signature layer
	// BundleMediaType is the media type of a sigstore bundle v0.3 (the layer of a bundle
	// referrer, and its artifact type).
	BundleMediaType  = "application/vnd.dev.sigstore.bundle.v0.3+json"
	bundleTypePrefix = "application/vnd.dev.sigstore.bundle"

	annSignature = "dev.cosignproject.cosign/signature"
	annCert      = "dev.sigstore.cosign/certificate"
	annChain     = "dev.sigstore.cosign/chain"
	annBundle    = "dev.sigstore.cosign/bundle"

	// cosignSignPredicate is the in-toto predicate type of a cosign image signature in
	// the bundle format; attestations of other predicate types are not signatures.
	cosignSignPredicate = ctypes.CosignSignPredicateType
	intotoPayloadType   = ctypes.IntotoPayloadType
)

// SignatureTag returns the tag cosign stores the signatures of d under:
// "sha256-<hex>.sig".
func SignatureTag(d digest.Digest) string {
	return d.Algorithm().String() + "-" + d.Encoded() + ".sig"
}

func isBundleType(t string) bool { return strings.HasPrefix(t, bundleTypePrefix) }

// parseSignatureManifest reads the layers of a cosign signature image, refusing more
// than maxLayers before decoding any. The manifest is untrusted: only its layer list is
// used, each layer is size-capped and digest-checked when fetched.
func parseSignatureManifest(b []byte, maxLayers int) ([]ocispec.Descriptor, error) {
	var m struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     string            `json:"mediaType"`
		Layers        []json.RawMessage `json:"layers"`
	}
	if err := decodeJSON(b, &m); err != nil {
		return nil, fmt.Errorf("not a JSON manifest: %w", err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("schemaVersion %d, want 2", m.SchemaVersion)
	}
	switch m.MediaType {
	case "", ocispec.MediaTypeImageManifest, "application/vnd.docker.distribution.manifest.v2+json":
	default:
		return nil, fmt.Errorf("media type %q is not an image manifest", m.MediaType)
	}
	if len(m.Layers) > maxLayers {
		return nil, &countError{n: len(m.Layers)}
	}
	layers := make([]ocispec.Descriptor, len(m.Layers))
	for i, raw := range m.Layers {
		if err := json.Unmarshal(raw, &layers[i]); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
	}
	return layers, nil
}

// countError says how many signatures a manifest lists when that is over the limit.
type countError struct{ n int }

func (e *countError) Error() string { return fmt.Sprintf("%d signatures", e.n) }

// fetchBundle reads a bundle referrer: its manifest (one bundle layer) and the bundle.
func (c *Client) fetchBundle(ctx context.Context, repo *orasremote.Repository, d ocispec.Descriptor) (*sgbundle.Bundle, error) {
	if d.Size > c.limits.MaxManifestSize || d.Size < 0 {
		return nil, &limitError{what: "bundle manifest " + d.Digest.String(), size: d.Size, limit: c.limits.MaxManifestSize}
	}
	_, mb, err := c.fetchManifest(ctx, repo, d.Digest.String())
	if err != nil {
		return nil, err
	}
	layer, err := parseBundleManifest(mb)
	if err != nil {
		return nil, err
	}
	b, err := c.fetchBlob(ctx, repo, layer)
	if err != nil {
		return nil, err
	}
	return parseBundle(b)
}

// parseBundleManifest returns the single bundle layer of a referrer manifest.
func parseBundleManifest(b []byte) (ocispec.Descriptor, error) {
	var m ocispec.Manifest
	if err := decodeJSON(b, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("not a JSON manifest: %w", err)
	}
	if len(m.Layers) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("%d layers, want one bundle", len(m.Layers))
	}
	if !isBundleType(m.Layers[0].MediaType) {
		return ocispec.Descriptor{}, fmt.Errorf("layer media type %q is not a sigstore bundle", m.Layers[0].MediaType)
	}
	return m.Layers[0], nil
}

// parseBundle reads a sigstore bundle and checks that it is what cosign signs images
// with: v0.3 or later, a DSSE envelope holding an in-toto statement of the cosign sign
// predicate type.
func parseBundle(b []byte) (*sgbundle.Bundle, error) {
	var bun sgbundle.Bundle
	if err := bun.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("not a sigstore bundle: %w", err)
	}
	if !bun.MinVersion("v0.3") {
		return nil, errors.New("bundle version older than v0.3")
	}
	env, err := bun.Envelope()
	if err != nil || env == nil {
		return nil, errors.New("the bundle holds no DSSE envelope (a blob signature, not an image signature)")
	}
	raw := env.RawEnvelope()
	if raw.PayloadType != intotoPayloadType {
		return nil, fmt.Errorf("envelope payload type %q, want %s", raw.PayloadType, intotoPayloadType)
	}
	st, err := env.Statement()
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if st.PredicateType != cosignSignPredicate {
		return nil, fmt.Errorf("predicate type %q is an attestation, not a signature (%s)", st.PredicateType, cosignSignPredicate)
	}
	return &bun, nil
}

// leafCertificate returns the certificate a bundle's verification material holds, or nil
// for a key bundle.
func leafCertificate(b *sgbundle.Bundle) *x509.Certificate {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil
	}
	return vc.Certificate()
}
