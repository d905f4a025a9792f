package sigstore

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	ctypes "github.com/sigstore/cosign/v2/pkg/types"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/gitless-dev/gitless/artifact"
)

// Media types and annotations of the two signature formats.
const (
	// SimpleSigningMediaType is the media type of a cosign signature layer.
	SimpleSigningMediaType = ctypes.SimpleSigningMediaType
	// BundleMediaType is the media type of a sigstore bundle v0.3 (the layer of a bundle
	// referrer, and its artifact type).
	BundleMediaType  = "application/vnd.dev.sigstore.bundle.v0.3+json"
	bundleTypePrefix = "application/vnd.dev.sigstore.bundle"

	AnnSignature = "dev.cosignproject.cosign/signature"
	AnnCert      = "dev.sigstore.cosign/certificate"
	AnnChain     = "dev.sigstore.cosign/chain"
	AnnBundle    = "dev.sigstore.cosign/bundle"

	// CosignSignPredicate is the in-toto predicate type of a cosign image signature in
	// the bundle format; attestations of other predicate types are not signatures.
	CosignSignPredicate = ctypes.CosignSignPredicateType
	// IntotoPayloadType is the DSSE payload type of in-toto statements.
	IntotoPayloadType = ctypes.IntotoPayloadType
)

// SignatureTag returns the tag cosign stores the signatures of d under:
// "sha256-<hex>.sig".
func SignatureTag(d digest.Digest) string {
	return d.Algorithm().String() + "-" + d.Encoded() + ".sig"
}

// IsBundleType reports whether an artifact or media type is a sigstore bundle's.
func IsBundleType(t string) bool { return strings.HasPrefix(t, bundleTypePrefix) }

// ParseSignatureManifest reads the layers of a cosign signature image, refusing more
// than maxLayers before decoding any (*CountError). The manifest is untrusted: only its
// layer list is used, each layer is size-capped and digest-checked when fetched.
func ParseSignatureManifest(b []byte, maxLayers int) ([]ocispec.Descriptor, error) {
	var m struct {
		SchemaVersion int               `json:"schemaVersion"`
		MediaType     string            `json:"mediaType"`
		Layers        []json.RawMessage `json:"layers"`
	}
	if err := DecodeJSON(b, &m); err != nil {
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
		return nil, &CountError{N: len(m.Layers)}
	}
	layers := make([]ocispec.Descriptor, len(m.Layers))
	for i, raw := range m.Layers {
		if err := json.Unmarshal(raw, &layers[i]); err != nil {
			return nil, fmt.Errorf("layer %d: %w", i+1, err)
		}
	}
	return layers, nil
}

// CountError says how many signatures a manifest lists when that is over the limit.
type CountError struct{ N int }

func (e *CountError) Error() string { return fmt.Sprintf("%d signatures", e.N) }

// ParseBundleManifest returns the single bundle layer of a referrer manifest.
func ParseBundleManifest(b []byte) (ocispec.Descriptor, error) {
	var m ocispec.Manifest
	if err := DecodeJSON(b, &m); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("not a JSON manifest: %w", err)
	}
	if len(m.Layers) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("%d layers, want one bundle", len(m.Layers))
	}
	if !IsBundleType(m.Layers[0].MediaType) {
		return ocispec.Descriptor{}, fmt.Errorf("layer media type %q is not a sigstore bundle", m.Layers[0].MediaType)
	}
	return m.Layers[0], nil
}

// ParseBundle reads a sigstore bundle and checks that it is what cosign signs images
// with: v0.3 or later, a DSSE envelope holding an in-toto statement of the cosign sign
// predicate type.
func ParseBundle(b []byte) (*sgbundle.Bundle, error) {
	var bun sgbundle.Bundle
	if err := bun.UnmarshalJSON(b); err != nil {
		return nil, fmt.Errorf("not a sigstore bundle: %w", err)
	}
	if !bun.MinVersion("v0.3") {
		return nil, errors.New("bundle version older than v0.3")
	}
	// cosign and gitless write one entry; the entries are not covered by the signature,
	// and one entry that verifies is enough for sigstore-go: with several, the one
	// reported (BundleTlog) could be another that nothing checked.
	if entries, err := bun.TlogEntries(); err == nil && len(entries) > 1 {
		return nil, fmt.Errorf("the bundle has %d transparency-log entries, want at most 1", len(entries))
	}
	env, err := bun.Envelope()
	if err != nil || env == nil {
		return nil, errors.New("the bundle holds no DSSE envelope (a blob signature, not an image signature)")
	}
	raw := env.RawEnvelope()
	if raw.PayloadType != IntotoPayloadType {
		return nil, fmt.Errorf("envelope payload type %q, want %s", raw.PayloadType, IntotoPayloadType)
	}
	st, err := env.Statement()
	if err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	if st.PredicateType != CosignSignPredicate {
		return nil, fmt.Errorf("predicate type %q is an attestation, not a signature (%s)", st.PredicateType, CosignSignPredicate)
	}
	return &bun, nil
}

// LeafCertificate returns the certificate a bundle's verification material holds, or
// nil for a key bundle.
func LeafCertificate(b *sgbundle.Bundle) *x509.Certificate {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil
	}
	return vc.Certificate()
}

// CosignPayload is the simple-signing document cosign signs for an image digest.
func CosignPayload(ref artifact.Reference) ([]byte, error) {
	d, err := name.NewDigest(ref.Repo()+"@"+ref.Digest.String(), name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", artifact.ErrInvalidReference, ref, err)
	}
	return json.Marshal(payload.Cosign{Image: d}.SimpleContainerImage())
}

// SignatureConfig is the image config cosign writes for a signature image (what
// go-containerregistry's empty image gets after appending the layers).
func SignatureConfig(layers []ocispec.Descriptor) ([]byte, error) {
	diffIDs := make([]string, len(layers))
	for i, l := range layers {
		diffIDs[i] = l.Digest.String()
	}
	history := make([]map[string]string, len(layers))
	for i := range history {
		history[i] = map[string]string{"created": "0001-01-01T00:00:00Z"}
	}
	return json.Marshal(map[string]any{
		"architecture": "",
		"created":      "0001-01-01T00:00:00Z",
		"history":      history,
		"os":           "",
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
		"config":       map[string]any{},
	})
}

// DSSEPAE is DSSE's pre-authentication encoding, what a DSSE signature covers.
func DSSEPAE(payloadType string, body []byte) []byte {
	return []byte(fmt.Sprintf("DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(body), body))
}

// DecodeJSON unmarshals one JSON document read from a registry, refusing trailing data.
func DecodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after the JSON document")
	}
	return nil
}
