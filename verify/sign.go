package verify

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/tle"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/payload"
	"google.golang.org/protobuf/encoding/protojson"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	orasremote "oras.land/oras-go/v2/registry/remote"

	"github.com/gitless-dev/gitless/artifact"
)

// The public Sigstore services, the defaults of cosign.
const (
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
	DefaultRekorURL  = "https://rekor.sigstore.dev"
)

// SignOptions configures Sign. Start from DefaultSignOptions.
type SignOptions struct {
	// Key signs when set (LoadSigningKey). When nil, signing is keyless: an ephemeral
	// key, certified by Fulcio for the identity in Keyless.IDToken.
	Key *SigningKey
	// Keyless configures keyless signing.
	Keyless KeylessOptions
	// TlogUpload records the signature in the Rekor transparency log at RekorURL and
	// attaches the entry's proof. Off for air-gapped signing (cosign's
	// --tlog-upload=false); verifiers must then be told to ignore the log.
	TlogUpload bool
	// RekorURL is the Rekor instance; DefaultRekorURL by default.
	RekorURL string
	// Format is how the signature is stored; FormatCosign by default (see
	// docs/signing.md for why).
	Format Format
	// TrustedRoot, when set, is the path of a Sigstore trusted root the new signature is
	// checked against before it is pushed: the certificate must chain to its CA, the log
	// entry must carry its log's signature. For private Sigstore deployments.
	TrustedRoot string
}

// KeylessOptions configures keyless signing.
type KeylessOptions struct {
	// FulcioURL is the Fulcio instance; DefaultFulcioURL by default.
	FulcioURL string
	// IDToken is the OIDC token Fulcio certifies (DetectIDToken finds one in CI).
	IDToken string
}

// DefaultSignOptions: keyless against the public Sigstore, with a transparency-log entry,
// in cosign's signature format.
func DefaultSignOptions() SignOptions {
	return SignOptions{
		Keyless:    KeylessOptions{FulcioURL: DefaultFulcioURL},
		TlogUpload: true,
		RekorURL:   DefaultRekorURL,
		Format:     FormatCosign,
	}
}

// SignResult describes a signature that was made (or found already there).
type SignResult struct {
	// Reference is the artifact, pinned to Digest.
	Reference artifact.Reference `json:"-"`
	// Digest is what was signed: the manifest digest, never a tag.
	Digest digest.Digest `json:"digest"`
	// Format is the format the signature was stored in.
	Format Format `json:"format"`
	// Signature is where it is: oci://REPO:sha256-<hex>.sig (cosign format) or
	// oci://REPO@<referrer digest> (bundle format).
	Signature string `json:"signature"`
	// Signer is the key or the certified identity.
	Signer Signer `json:"signer"`
	// Tlog is the transparency-log entry, when one was made.
	Tlog *TlogEntry `json:"tlog,omitempty"`
	// AlreadySigned is true when a signature by the same key over the same digest was
	// already there: nothing was signed or uploaded.
	AlreadySigned bool `json:"alreadySigned"`
}

// Sign signs the artifact ref names with the package defaults for registry access
// (anonymous; see Client.Sign).
func Sign(ctx context.Context, ref artifact.Reference, opts SignOptions) (*SignResult, error) {
	return New(Options{}).Sign(ctx, ref, opts)
}

// Sign signs the manifest digest of the artifact ref names. A reference with a tag and no
// digest is resolved first (one HEAD request) and the result says which digest was
// signed. In the cosign format the signature is appended to the sha256-<hex>.sig image
// (created if needed); when that image already holds a signature by the same key over
// the same digest, nothing is done and AlreadySigned is set. In the bundle format a new
// referrer is pushed.
func (c *Client) Sign(ctx context.Context, ref artifact.Reference, opts SignOptions) (*SignResult, error) {
	if opts.Format == "" {
		opts.Format = FormatCosign
	}
	if opts.Format != FormatCosign && opts.Format != FormatBundle {
		return nil, fmt.Errorf("%w: unknown signature format %q (want %s or %s)", ErrSigning, opts.Format, FormatCosign, FormatBundle)
	}
	if opts.Key == nil && opts.Keyless.IDToken == "" {
		return nil, fmt.Errorf("%w: no key and no OIDC token for keyless signing", ErrSigning)
	}
	repo, err := c.repository(ref)
	if err != nil {
		return nil, err
	}
	// With the digest known, the existing signatures are read while it is resolved.
	var existing *signatureImage
	var existingErr error
	done := make(chan struct{})
	if opts.Format == FormatCosign && ref.Digest != "" {
		go func() {
			defer close(done)
			existing, existingErr = c.existingSignatures(ctx, repo, ref, SignatureTag(ref.Digest))
		}()
	} else {
		close(done)
	}
	desc, err := c.resolve(ctx, repo, ref)
	<-done
	if err != nil {
		return nil, err
	}
	ref = ref.WithDigest(desc.Digest)
	if opts.Format == FormatBundle {
		return c.signBundle(ctx, repo, ref, desc, opts)
	}
	if existing == nil && existingErr == nil {
		existing, existingErr = c.existingSignatures(ctx, repo, ref, SignatureTag(ref.Digest))
	}
	if existingErr != nil {
		return nil, existingErr
	}
	return c.signCosign(ctx, repo, ref, opts, existing)
}

// resolve finds the manifest descriptor ref names (HEAD), checking it exists.
func (c *Client) resolve(ctx context.Context, repo *orasremote.Repository, ref artifact.Reference) (ocispec.Descriptor, error) {
	id := ref.Identifier()
	if id == "" {
		return ocispec.Descriptor{}, fmt.Errorf("%w %s: no tag or digest", artifact.ErrInvalidReference, ref)
	}
	desc, err := repo.Resolve(ctx, id)
	if err != nil {
		if errors.Is(err, errdef.ErrNotFound) {
			return desc, fmt.Errorf("resolving %s: %w", ref, err)
		}
		return desc, c.wrapRegistry("resolving", ref, err)
	}
	if ref.Digest != "" && desc.Digest != ref.Digest {
		return desc, fmt.Errorf("resolving %s: the registry answered %s", ref, desc.Digest)
	}
	if desc.Digest.Algorithm() != digest.SHA256 {
		return desc, fmt.Errorf("resolving %s: %s is not a sha256 digest", ref, desc.Digest)
	}
	return desc, nil
}

// signer is what signs: a loaded key, or an ephemeral key certified by Fulcio.
type signer struct {
	key      *SigningKey
	eph      *ecdsa.PrivateKey
	cert     *x509.Certificate
	certPEM  []byte
	identity Signer
}

func (c *Client) newSigner(ctx context.Context, opts SignOptions) (*signer, error) {
	if opts.Key != nil {
		return &signer{key: opts.Key, identity: Signer{Key: opts.Key.ref, KeyID: opts.Key.KeyID()}}, nil
	}
	eph, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	url := opts.Keyless.FulcioURL
	if url == "" {
		url = DefaultFulcioURL
	}
	cert, err := c.fulcioCertificate(ctx, url, opts.Keyless.IDToken, eph)
	if err != nil {
		return nil, err
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	id, err := identityOf(cert)
	if err != nil {
		return nil, fmt.Errorf("%w: Fulcio's certificate: %w", ErrSigning, err)
	}
	return &signer{eph: eph, cert: cert, certPEM: certPEM, identity: signerFromCert(cert, id)}, nil
}

func (s *signer) publicKey() crypto.PublicKey {
	if s.key != nil {
		return s.key.pub
	}
	return s.eph.Public()
}

// sign signs msg (SHA-256, ASN.1 ECDSA for the ephemeral key).
func (s *signer) sign(ctx context.Context, msg []byte) ([]byte, error) {
	if s.key != nil {
		return s.key.sign(ctx, msg)
	}
	sum := sha256.Sum256(msg)
	sig, err := ecdsa.SignASN1(rand.Reader, s.eph, sum[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	return sig, nil
}

// verificationPEM is what the transparency log records: the certificate, or the key.
func (s *signer) verificationPEM() ([]byte, error) {
	if s.certPEM != nil {
		return s.certPEM, nil
	}
	return s.key.PublicKeyPEM()
}

// signCosign signs in cosign's format and appends to the sha256-<hex>.sig image.
func (c *Client) signCosign(ctx context.Context, repo *orasremote.Repository, ref artifact.Reference, opts SignOptions, existing *signatureImage) (*SignResult, error) {
	tag := SignatureTag(ref.Digest)
	res := &SignResult{Reference: ref, Digest: ref.Digest, Format: FormatCosign, Signature: ref.WithTag(tag).String()}
	msg, err := cosignPayload(ref)
	if err != nil {
		return nil, err
	}
	if opts.Key != nil && existing.hasSignatureBy(msg, opts.Key, opts.TlogUpload) {
		res.Signer = Signer{Key: opts.Key.ref, KeyID: opts.Key.KeyID()}
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
	ann := map[string]string{annSignature: base64.StdEncoding.EncodeToString(sig)}
	if s.certPEM != nil {
		ann[annCert] = string(s.certPEM)
		ann[annChain] = ""
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
		ann[annBundle] = string(bj)
		res.Tlog = &TlogEntry{LogIndex: rb.Payload.LogIndex, LogID: rb.Payload.LogID, IntegratedTime: time.Unix(rb.Payload.IntegratedTime, 0).UTC()}
	}
	if opts.TrustedRoot != "" {
		if err := selfCheckCosign(ref, s, msg, ann, opts); err != nil {
			return nil, err
		}
	}
	if err := c.appendSignature(ctx, repo, ref, tag, existing, msg, ann); err != nil {
		return nil, err
	}
	return res, nil
}

// selfCheck compiles the policy a fresh signature must satisfy against opts.TrustedRoot:
// the signer's key, or any identity certified by the root's CA.
func selfCheck(s *signer, opts SignOptions) (*compiled, error) {
	tr, err := loadTrustedRoot(opts.TrustedRoot)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	cp := &compiled{policy: &Policy{}, trusted: tr, requireTlog: opts.TlogUpload, requireSCT: len(tr.CTLogs()) > 0}
	if s.key != nil {
		k, err := newPublicKey("key", s.key.ref, s.key.pub)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSigning, err)
		}
		cp.keys = []*publicKey{k}
	} else {
		cp.policy.Identities = []Identity{{IssuerRegexp: ".*", SubjectRegexp: ".*"}}
		cp.identities, _ = cp.policy.compileIdentities()
	}
	return cp, nil
}

func selfCheckCosign(ref artifact.Reference, s *signer, msg []byte, ann map[string]string, opts SignOptions) error {
	cp, err := selfCheck(s, opts)
	if err != nil {
		return err
	}
	cs, err := parseCosignSignature(msg, ann)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSigning, err)
	}
	v, err := signature.LoadVerifier(s.publicKey(), crypto.SHA256)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSigning, err)
	}
	if _, err := checkCosign(cs, ref.Digest, v, cp); err != nil {
		return fmt.Errorf("%w: the new signature does not verify against the trusted root %s: %w", ErrSigning, opts.TrustedRoot, err)
	}
	return nil
}

// cosignPayload is the simple-signing document cosign signs for an image digest.
func cosignPayload(ref artifact.Reference) ([]byte, error) {
	d, err := name.NewDigest(ref.Repo()+"@"+ref.Digest.String(), name.StrictValidation)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %v", artifact.ErrInvalidReference, ref, err)
	}
	return json.Marshal(payload.Cosign{Image: d}.SimpleContainerImage())
}

// bundleFromEntry turns Rekor's answer into cosign's bundle annotation.
func bundleFromEntry(e *models.LogEntryAnon) (*rekorBundle, error) {
	body, ok := e.Body.(string)
	if !ok || e.IntegratedTime == nil || e.LogIndex == nil || e.LogID == nil || e.Verification == nil || len(e.Verification.SignedEntryTimestamp) == 0 {
		return nil, fmt.Errorf("%w: Rekor answered an entry without its body, time, index, log ID or signed entry timestamp", ErrSigning)
	}
	return &rekorBundle{
		SignedEntryTimestamp: e.Verification.SignedEntryTimestamp,
		Payload:              rekorPayload{Body: body, IntegratedTime: *e.IntegratedTime, LogIndex: *e.LogIndex, LogID: *e.LogID},
	}, nil
}

// signatureImage is the current content of a sha256-<hex>.sig image.
type signatureImage struct {
	mediaType string
	layers    []ocispec.Descriptor
	payloads  map[digest.Digest][]byte // fetched for the dedup check
}

// existingSignatures reads the signature image, if any. Its layers are kept as they are;
// the payloads of cosign layers are read for the dedup check.
func (c *Client) existingSignatures(ctx context.Context, repo *orasremote.Repository, ref artifact.Reference, tag string) (*signatureImage, error) {
	img := &signatureImage{mediaType: ocispec.MediaTypeImageManifest, payloads: map[digest.Digest][]byte{}}
	_, mb, err := c.fetchManifest(ctx, repo, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return img, nil
	}
	if errors.Is(err, ErrTooManySignatures) {
		// a signing error, not a verdict on the artifact: the message only
		return nil, fmt.Errorf("%w: the existing signature image %s: %v", ErrSigning, tag, err)
	}
	if err != nil {
		return nil, c.wrapRegistry("reading the signatures of", ref, err)
	}
	var m struct {
		MediaType string               `json:"mediaType"`
		Layers    []ocispec.Descriptor `json:"layers"`
	}
	if err := decodeJSON(mb, &m); err != nil {
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
		if l.MediaType != simpleSigningMediaType {
			continue
		}
		b, err := c.fetchBlob(ctx, repo, l)
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
		if wantTlog && l.Annotations[annBundle] == "" {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(l.Annotations[annSignature])
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
func (c *Client) appendSignature(ctx context.Context, repo *orasremote.Repository, ref artifact.Reference, tag string, img *signatureImage, msg []byte, ann map[string]string) error {
	layer := content.NewDescriptorFromBytes(simpleSigningMediaType, msg)
	layer.Annotations = ann
	layers := append(append([]ocispec.Descriptor{}, img.layers...), layer)
	cfg, err := signatureConfig(layers)
	if err != nil {
		return err
	}
	// Both blobs at once, each in one upload (a blob already there is uploaded again
	// rather than asked about first: they are a few hundred bytes).
	errs := make(chan error, 1)
	go func() { errs <- uploadBlob(ctx, repo, layer, msg) }()
	cfgDesc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageConfig, cfg)
	err = errors.Join(uploadBlob(ctx, repo, cfgDesc, cfg), <-errs)
	if err != nil {
		return c.wrapRegistry("pushing the signature of", ref, err)
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
	if err := repo.PushReference(ctx, desc, bytes.NewReader(mb), tag); err != nil {
		return c.wrapRegistry("pushing the signature of", ref, err)
	}
	return nil
}

// signatureConfig is the image config cosign writes for a signature image (what
// go-containerregistry's empty image gets after appending the layers).
func signatureConfig(layers []ocispec.Descriptor) ([]byte, error) {
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

// dssePAE is DSSE's pre-authentication encoding, what a DSSE signature covers.
func dssePAE(payloadType string, body []byte) []byte {
	return []byte(fmt.Sprintf("DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(body), body))
}

// signBundle signs in the bundle format (cosign v3's default): a DSSE envelope over an
// in-toto statement whose subject is the artifact digest and whose predicate type is
// cosign's sign predicate, in a sigstore bundle v0.3, pushed as a referrer of the artifact.
func (c *Client) signBundle(ctx context.Context, repo *orasremote.Repository, ref artifact.Reference, subject ocispec.Descriptor, opts SignOptions) (*SignResult, error) {
	res := &SignResult{Reference: ref, Digest: ref.Digest, Format: FormatBundle}
	statement, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []map[string]any{{"digest": map[string]string{"sha256": ref.Digest.Encoded()}}},
		"predicateType": cosignSignPredicate,
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
	sig, err := s.sign(ctx, dssePAE(intotoPayloadType, statement))
	if err != nil {
		return nil, err
	}
	env := &protodsse.Envelope{Payload: statement, PayloadType: intotoPayloadType, Signatures: []*protodsse.Signature{{Sig: sig}}}
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
			"payloadType": intotoPayloadType,
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
		res.Tlog = &TlogEntry{LogIndex: tl.GetLogIndex(), LogID: fmt.Sprintf("%x", tl.GetLogId().GetKeyId()), IntegratedTime: time.Unix(tl.GetIntegratedTime(), 0).UTC()}
	}
	pb := &protobundle.Bundle{MediaType: BundleMediaType, VerificationMaterial: vm, Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: env}}
	bundleJSON, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	if opts.TrustedRoot != "" {
		cp, err := selfCheck(s, opts)
		if err != nil {
			return nil, err
		}
		b, err := parseBundle(bundleJSON)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSigning, err)
		}
		st := &verifyState{c: c, cp: cp, repo: repo, ref: ref}
		if st.verifyBundle(ctx, "new bundle", b) == nil {
			return nil, fmt.Errorf("%w: the new signature does not verify against the trusted root %s: %s", ErrSigning, opts.TrustedRoot, strings.Join(st.reasons, "; "))
		}
	}
	d, err := c.pushReferrer(ctx, repo, ref, subject, bundleJSON)
	if err != nil {
		return nil, err
	}
	res.Signature = ref.WithTag("").WithDigest(d).String()
	return res, nil
}

// pushReferrer pushes a bundle as cosign v3 does: an image manifest with the bundle as
// its one layer, the empty config, the bundle media type as artifact type, and the
// artifact as subject. oras-go also updates the referrers tag index when the registry
// has no referrers API.
func (c *Client) pushReferrer(ctx context.Context, repo *orasremote.Repository, ref artifact.Reference, subject ocispec.Descriptor, bundleJSON []byte) (digest.Digest, error) {
	layer, err := pushBlob(ctx, repo, BundleMediaType, bundleJSON)
	if err != nil {
		return "", c.wrapRegistry("pushing the signature of", ref, err)
	}
	cfg, err := pushBlob(ctx, repo, ocispec.MediaTypeEmptyJSON, []byte("{}"))
	if err != nil {
		return "", c.wrapRegistry("pushing the signature of", ref, err)
	}
	subj := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: BundleMediaType,
		Config:       ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: cfg.Digest, Size: cfg.Size},
		Layers:       []ocispec.Descriptor{layer},
		Subject:      &subj,
		Annotations: map[string]string{
			"org.opencontainers.image.created":  time.Now().UTC().Format(time.RFC3339),
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": cosignSignPredicate,
		},
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	desc := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: BundleMediaType, Digest: digest.FromBytes(mb), Size: int64(len(mb))}
	if err := repo.Manifests().Push(ctx, desc, bytes.NewReader(mb)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
		return "", c.wrapRegistry("pushing the signature of", ref, err)
	}
	return desc.Digest, nil
}
