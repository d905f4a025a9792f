package sign

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/tle"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
	"oras.land/oras-go/v2/content"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/sigstore"
	"github.com/gitless-dev/gitless/verify"
)

// signBundle signs in the bundle format (cosign v3's default): a DSSE envelope over an
// in-toto statement whose subject is the artifact digest and whose predicate type is
// cosign's sign predicate, in a sigstore bundle v0.3, pushed as a referrer of the artifact.
func (c *Client) signBundle(ctx context.Context, ref artifact.Reference, subject ocispec.Descriptor, opts Options) (*Result, error) {
	res := &Result{Reference: ref, Digest: ref.Digest, Format: verify.FormatBundle}
	statement, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []map[string]any{{"digest": map[string]string{"sha256": ref.Digest.Encoded()}}},
		"predicateType": sigstore.CosignSignPredicate,
		"predicate":     map[string]any{},
	})
	if err != nil {
		return nil, err
	}
	s, err := c.newSigner(ctx, opts)
	if err != nil {
		return nil, err
	}
	res.Signer = s.identity
	sig, err := s.sign(ctx, sigstore.DSSEPAE(sigstore.IntotoPayloadType, statement))
	if err != nil {
		return nil, err
	}
	env := &protodsse.Envelope{Payload: statement, PayloadType: sigstore.IntotoPayloadType, Signatures: []*protodsse.Signature{{Sig: sig}}}
	vm := &protobundle.VerificationMaterial{}
	if s.cert != nil {
		vm.Content = &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: s.cert.Raw}}
	} else {
		der, err := x509.MarshalPKIXPublicKey(s.publicKey())
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSigning, err)
		}
		sum := sha256.Sum256(der)
		vm.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: base64.StdEncoding.EncodeToString(sum[:])}}
	}
	if opts.TlogUpload {
		pemBytes, err := s.verificationPEM()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSigning, err)
		}
		envJSON, err := json.Marshal(map[string]any{
			"payloadType": sigstore.IntotoPayloadType,
			"payload":     base64.StdEncoding.EncodeToString(statement),
			"signatures":  []map[string]string{{"sig": base64.StdEncoding.EncodeToString(sig)}},
		})
		if err != nil {
			return nil, err
		}
		entry, err := c.rekorUpload(ctx, opts.RekorURL, dsseEntry(envJSON, pemBytes))
		if err != nil {
			return nil, err
		}
		tl, err := tle.GenerateTransparencyLogEntry(*entry)
		if err != nil {
			return nil, fmt.Errorf("%w: Rekor's entry: %w", ErrSigning, err)
		}
		vm.TlogEntries = []*protorekor.TransparencyLogEntry{tl}
		res.Tlog = &verify.TlogEntry{LogIndex: tl.GetLogIndex(), LogID: fmt.Sprintf("%x", tl.GetLogId().GetKeyId()), IntegratedTime: time.Unix(tl.GetIntegratedTime(), 0).UTC()}
	}
	pb := &protobundle.Bundle{MediaType: sigstore.BundleMediaType, VerificationMaterial: vm, Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env}}
	bundleJSON, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	if opts.TrustedRoot != "" {
		if err := selfCheckBundle(ref, s, bundleJSON, opts); err != nil {
			return nil, err
		}
	}
	d, err := c.pushReferrer(ctx, ref, subject, bundleJSON)
	if err != nil {
		return nil, err
	}
	res.Signature = ref.WithTag("").WithDigest(d).String()
	return res, nil
}

// selfCheckBundle runs on a new bundle the checks verify runs.
func selfCheckBundle(ref artifact.Reference, s *signer, bundleJSON []byte, opts Options) error {
	checks, err := selfCheck(opts)
	if err != nil {
		return err
	}
	b, err := sigstore.ParseBundle(bundleJSON)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSigning, err)
	}
	if s.key != nil {
		v, verr := signature.LoadVerifier(s.key.pub, crypto.SHA256)
		if verr != nil {
			return fmt.Errorf("%w: %w", ErrSigning, verr)
		}
		err = sigstore.VerifyKeyBundle(b, ref.Digest, v, checks)
	} else {
		err = sigstore.VerifyCertBundle(b, ref.Digest, checks)
	}
	if err != nil {
		return fmt.Errorf("%w: the new signature does not verify against the trusted root %s: %w", ErrSigning, opts.TrustedRoot, err)
	}
	return nil
}

// pushReferrer pushes a bundle as cosign v3 does: an image manifest with the bundle as
// its one layer, the empty config, the bundle media type as artifact type, and the
// artifact as subject. The referrers tag index is updated too when the registry has no
// referrers API.
func (c *Client) pushReferrer(ctx context.Context, ref artifact.Reference, subject ocispec.Descriptor, bundleJSON []byte) (digest.Digest, error) {
	layer := content.NewDescriptorFromBytes(sigstore.BundleMediaType, bundleJSON)
	cfg := content.NewDescriptorFromBytes(ocispec.MediaTypeEmptyJSON, []byte("{}"))
	for _, b := range []struct {
		desc ocispec.Descriptor
		data []byte
	}{{layer, bundleJSON}, {cfg, []byte("{}")}} {
		if err := c.reg.PushBlob(ctx, ref, b.desc, b.data); err != nil {
			return "", fmt.Errorf("pushing the signature of %s: %w", ref, err)
		}
	}
	subj := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: sigstore.BundleMediaType,
		Config:       ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: cfg.Digest, Size: cfg.Size},
		Layers:       []ocispec.Descriptor{layer},
		Subject:      &subj,
		Annotations: map[string]string{
			"org.opencontainers.image.created":  time.Now().UTC().Format(time.RFC3339),
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": sigstore.CosignSignPredicate,
		},
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: sigstore.BundleMediaType, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
	if err := c.reg.PutManifest(ctx, ref, desc, mb, ""); err != nil {
		return "", fmt.Errorf("pushing the signature of %s: %w", ref, err)
	}
	return desc.Digest, nil
}
