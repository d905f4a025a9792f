package sign

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore/pkg/signature"
	"oras.land/oras-go/v2/content"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/sigstore"
	"github.com/gitless-dev/gitless/verify"
)

// signCosign signs in cosign's format and appends to the sha256-<hex>.sig image.
func (c *Client) signCosign(ctx context.Context, ref artifact.Reference, opts Options, existing *signatureImage) (*Result, error) {
	tag := sigstore.SignatureTag(ref.Digest)
	res := &Result{Reference: ref, Digest: ref.Digest, Format: verify.FormatCosign, Signature: ref.WithTag(tag).String()}
	msg, err := sigstore.CosignPayload(ref)
	if err != nil {
		return nil, err
	}
	if opts.Key != nil && existing.hasSignatureBy(msg, opts.Key, opts.TlogUpload) {
		res.Signer = verify.Signer{Key: opts.Key.ref, KeyID: opts.Key.KeyID()}
		res.AlreadySigned = true
		return res, nil
	}
	s, err := c.newSigner(ctx, opts)
	if err != nil {
		return nil, err
	}
	res.Signer = s.identity
	sig, err := s.sign(ctx, msg)
	if err != nil {
		return nil, err
	}
	ann := map[string]string{sigstore.AnnSignature: base64.StdEncoding.EncodeToString(sig)}
	if s.certPEM != nil {
		ann[sigstore.AnnCert] = string(s.certPEM)
		ann[sigstore.AnnChain] = ""
	}
	if opts.TlogUpload {
		pemBytes, err := s.verificationPEM()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSigning, err)
		}
		entry, err := c.rekorUpload(ctx, opts.RekorURL, hashedRekord(sig, msg, pemBytes))
		if err != nil {
			return nil, err
		}
		rb, err := bundleFromEntry(entry)
		if err != nil {
			return nil, err
		}
		bj, err := json.Marshal(rb)
		if err != nil {
			return nil, err
		}
		ann[sigstore.AnnBundle] = string(bj)
		res.Tlog = &verify.TlogEntry{LogIndex: rb.Payload.LogIndex, LogID: rb.Payload.LogID, IntegratedTime: time.Unix(rb.Payload.IntegratedTime, 0).UTC()}
	}
	if opts.TrustedRoot != "" {
		if err := selfCheckCosign(ref, s, msg, ann, opts); err != nil {
			return nil, err
		}
	}
	if err := c.appendSignature(ctx, ref, tag, existing, msg, ann); err != nil {
		return nil, err
	}
	return res, nil
}

// selfCheck loads what a fresh signature must satisfy before it is pushed:
// opts.TrustedRoot, with a log entry when one was made and an SCT when the root has CT
// logs.
func selfCheck(opts Options) (sigstore.Checks, error) {
	tr, err := sigstore.LoadTrustedRoot(opts.TrustedRoot)
	if err != nil {
		return sigstore.Checks{}, fmt.Errorf("%w: trusted root: %w", ErrSigning, err)
	}
	return sigstore.Checks{Trusted: tr, RequireTlog: opts.TlogUpload, RequireSCT: len(tr.CTLogs()) > 0}, nil
}

// selfCheckCosign runs on a new cosign signature the checks verify runs.
func selfCheckCosign(ref artifact.Reference, s *signer, msg []byte, ann map[string]string, opts Options) error {
	checks, err := selfCheck(opts)
	if err != nil {
		return err
	}
	cs, err := sigstore.ParseCosignSignature(msg, ann)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSigning, err)
	}
	v, err := signature.LoadVerifier(s.publicKey(), crypto.SHA256)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSigning, err)
	}
	if _, err := sigstore.CheckCosign(cs, ref.Digest, v, checks); err != nil {
		return fmt.Errorf("%w: the new signature does not verify against the trusted root %s: %w", ErrSigning, opts.TrustedRoot, err)
	}
	return nil
}

// signatureImage is the current content of a sha256-<hex>.sig image.
type signatureImage struct {
	mediaType string
	layers    []ocispec.Descriptor
	payloads  map[digest.Digest][]byte // fetched for the dedup check
}

// existingSignatures reads the signature image of ref's digest, if any. Its layers are
// kept as they are; the payloads of cosign layers are read for the dedup check.
func (c *Client) existingSignatures(ctx context.Context, ref artifact.Reference) (*signatureImage, error) {
	tag := sigstore.SignatureTag(ref.Digest)
	img := &signatureImage{mediaType: ocispec.MediaTypeImageManifest, payloads: map[digest.Digest][]byte{}}
	_, mb, err := c.reg.FetchManifest(ctx, ref, tag, c.limits.MaxManifestSize)
	var se *remote.SizeError
	switch {
	case errors.Is(err, remote.ErrNotFound):
		return img, nil
	case errors.As(err, &se):
		// a signing error, not a verdict on the artifact
		return nil, fmt.Errorf("%w: the existing signature image %s: %v", ErrSigning, tag, err)
	case err != nil:
		return nil, fmt.Errorf("reading the signatures of %s: %w", ref, err)
	}
	var m struct {
		MediaType string               `json:"mediaType"`
		Layers    []ocispec.Descriptor `json:"layers"`
	}
	if err := sigstore.DecodeJSON(mb, &m); err != nil {
		return nil, fmt.Errorf("%w: the existing signature image %s does not parse: %v", ErrSigning, tag, err)
	}
	if len(m.Layers) >= c.limits.MaxSignatures {
		return nil, fmt.Errorf("%w: %s already holds %d signatures; verifiers refuse more than %d", ErrSigning, tag, len(m.Layers), c.limits.MaxSignatures)
	}
	if m.MediaType != "" {
		img.mediaType = m.MediaType
	}
	img.layers = m.Layers
	for _, l := range m.Layers {
		if l.MediaType != sigstore.SimpleSigningMediaType {
			continue
		}
		b, err := c.reg.FetchBlob(ctx, ref, l, c.limits.MaxBlobSize)
		if err != nil {
			continue // unreadable: kept, not a duplicate
		}
		img.payloads[l.Digest] = b
	}
	return img, nil
}

// hasSignatureBy reports whether the image already holds a valid signature by key over
// msg (with a transparency-log entry, if one is wanted).
func (img *signatureImage) hasSignatureBy(msg []byte, key *SigningKey, wantTlog bool) bool {
	v, err := signature.LoadVerifier(key.pub, crypto.SHA256)
	if err != nil {
		return false
	}
	for _, l := range img.layers {
		p, ok := img.payloads[l.Digest]
		if !ok || !bytes.Equal(p, msg) {
			continue
		}
		if wantTlog && l.Annotations[sigstore.AnnBundle] == "" {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(l.Annotations[sigstore.AnnSignature])
		if err != nil {
			continue
		}
		if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(p)) == nil {
			return true
		}
	}
	return false
}

// appendSignature pushes the signature layer and the signature image with it appended,
// then moves the tag. Existing layers are kept byte for byte.
func (c *Client) appendSignature(ctx context.Context, ref artifact.Reference, tag string, img *signatureImage, msg []byte, ann map[string]string) error {
	layer := content.NewDescriptorFromBytes(sigstore.SimpleSigningMediaType, msg)
	layer.Annotations = ann
	layers := append(append([]ocispec.Descriptor{}, img.layers...), layer)
	cfg, err := sigstore.SignatureConfig(layers)
	if err != nil {
		return err
	}
	// Both blobs at once, each in one upload (a blob already there is uploaded again
	// rather than asked about first: they are a few hundred bytes).
	errs := make(chan error, 1)
	go func() { errs <- c.reg.PushBlob(ctx, ref, layer, msg) }()
	cfgDesc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageConfig, cfg)
	if err := errors.Join(c.reg.PushBlob(ctx, ref, cfgDesc, cfg), <-errs); err != nil {
		return fmt.Errorf("pushing the signature of %s: %w", ref, err)
	}
	m := struct {
		SchemaVersion int                  `json:"schemaVersion"`
		MediaType     string               `json:"mediaType"`
		Config        ocispec.Descriptor   `json:"config"`
		Layers        []ocispec.Descriptor `json:"layers"`
	}{2, img.mediaType, cfgDesc, layers}
	mb, err := json.Marshal(m)
	if err != nil {
		return err
	}
	desc := ocispec.Descriptor{MediaType: img.mediaType, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
	if err := c.reg.PutManifest(ctx, ref, desc, mb, tag); err != nil {
		return fmt.Errorf("pushing the signature of %s: %w", ref, err)
	}
	return nil
}
