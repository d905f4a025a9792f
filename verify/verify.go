package verify

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/sigstore"
)

// Format is how a signature is stored in the registry.
type Format string

const (
	// FormatCosign is cosign's original format, the default of the cosign v2 CLI: a
	// simple-signing payload and its signature as a layer of the image tagged
	// sha256-<hex>.sig next to the artifact. Both cosign CLI lines and Flux verify it,
	// with a key and offline; it is what gitless signs by default.
	FormatCosign Format = "cosign"
	// FormatBundle is the default of the cosign v3 CLI: a sigstore bundle (v0.3, DSSE
	// envelope over an in-toto statement) stored as an OCI 1.1 referrer of the artifact.
	FormatBundle Format = "bundle"
)

// Result describes a successful verification.
type Result struct {
	// Reference is the artifact, pinned to Digest.
	Reference artifact.Reference `json:"-"`
	// Digest is the manifest digest the signature covers: fetch exactly this.
	Digest digest.Digest `json:"digest"`
	// Format is the format of the signature that satisfied the policy.
	Format Format `json:"format"`
	// Signer is who made it.
	Signer Signer `json:"signer"`
	// Tlog is the transparency-log entry the signature carried, if any.
	Tlog *TlogEntry `json:"tlog,omitempty"`
	// Signatures counts the signatures looked at before one satisfied the policy.
	Signatures int `json:"signatures"`
}

// TlogEntry is a Rekor entry attached to a signature.
type TlogEntry struct {
	LogIndex       int64     `json:"logIndex"`
	LogID          string    `json:"logID"`
	IntegratedTime time.Time `json:"integratedTime"`
	// Verified is true when the entry's proof was checked against the trusted root.
	Verified bool `json:"verified"`
}

// checks are what a signature is checked against under this policy.
func (cp *compiled) checks() sigstore.Checks {
	return sigstore.Checks{Trusted: cp.trusted, RequireTlog: cp.requireTlog, RequireSCT: cp.requireSCT}
}

// tlogEntry converts an entry the checks returned.
func tlogEntry(e *sigstore.TlogEntry) *TlogEntry {
	if e == nil {
		return nil
	}
	t := TlogEntry(*e)
	return &t
}

// compiled is a Policy with its keys and trusted root loaded.
type compiled struct {
	policy      *Policy
	keys        []*publicKey
	identities  []identityMatcher
	trusted     root.TrustedMaterial // nil when the policy needs none
	requireTlog bool
	requireSCT  bool
	// lazyRoot: keys only, a transparency log required, no trusted root given. The
	// public Sigstore root is fetched when a signature with a log entry needs it, so that
	// a signature without one is refused offline.
	lazyRoot bool
}

func (c *Client) compile(ctx context.Context, p *Policy) (*compiled, error) {
	if p == nil {
		return nil, policyErr("policy", "no policy")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	cp := &compiled{policy: p, requireTlog: !p.InsecureIgnoreTlog}
	cp.identities, _ = p.compileIdentities() // validated above
	for i, ref := range p.Keys {
		k, err := loadPublicKey(ctx, i, ref, c.getenv)
		if err != nil {
			return nil, err
		}
		cp.keys = append(cp.keys, k)
	}
	if len(cp.identities) == 0 && p.TrustedRoot == "" {
		// keys: nothing else to trust without a transparency log; with one, the public
		// root is fetched when a log entry is there to check
		cp.lazyRoot = cp.requireTlog
		return cp, nil
	}
	var tr *root.TrustedRoot
	var err error
	if p.TrustedRoot != "" {
		tr, err = loadTrustedRoot(p.TrustedRoot)
	} else {
		tr, err = c.publicTrustedRoot(ctx)
	}
	if err != nil {
		return nil, err
	}
	cp.trusted = tr
	// A root that lists CT logs makes their proof (an SCT in the certificate) required,
	// as cosign does; a private deployment without a CT log has nothing to require.
	cp.requireSCT = len(tr.CTLogs()) > 0
	if cp.requireTlog && len(tr.RekorLogs()) == 0 {
		return nil, policyErr("trustedRoot", "the trusted root lists no transparency log, so no signature can prove a log entry (set insecureIgnoreTlog to accept signatures without one)")
	}
	if len(cp.identities) > 0 && len(tr.FulcioCertificateAuthorities()) == 0 {
		return nil, policyErr("trustedRoot", "the policy has identities but the trusted root lists no certificate authority")
	}
	return cp, nil
}

// CheckPolicy validates p and loads what it names (key files, env:// keys, KMS keys, the
// trusted root), without reading any signature: call it when the configuration is loaded,
// so that a missing file is refused at start with the field named. A policy without a
// trusted root that needs one fetches the public Sigstore root (ErrUnavailable offline).
func (c *Client) CheckPolicy(ctx context.Context, p *Policy) error {
	_, err := c.compile(ctx, p)
	return err
}

// Verify checks that the artifact ref names (which must carry a digest) has a signature
// satisfying the policy, in either format, and says who signed. Errors match
// ErrVerificationFailed, ErrUnavailable or ErrInvalidPolicy (see their documentation), or
// artifact.ErrInvalidReference for a reference without a digest.
func Verify(ctx context.Context, ref artifact.Reference, p *Policy) (*Result, error) {
	return New(Options{}).Verify(ctx, ref, p)
}

// Verify is the package-level Verify with the client's registry access and limits.
//
// What is read, in order: the manifest tagged sha256-<hex>.sig (cosign format) and each
// of its signature layers, until one satisfies the policy; then the artifact's referrers
// whose artifact type is a sigstore bundle, each manifest and bundle, until one does.
// Everything is size-capped by the client's Limits and checked against its digest
// before it is parsed; more signatures than Limits.MaxSignatures are refused unread.
func (c *Client) Verify(ctx context.Context, ref artifact.Reference, p *Policy) (*Result, error) {
	if ref.Digest == "" {
		return nil, fmt.Errorf("%w %s: verification needs a digest (resolve the tag first, then verify and fetch that digest)", artifact.ErrInvalidReference, ref)
	}
	if err := ref.Digest.Validate(); err != nil {
		return nil, fmt.Errorf("%w %s: %v", artifact.ErrInvalidReference, ref, err)
	}
	if ref.Digest.Algorithm() != digest.SHA256 {
		return nil, fmt.Errorf("%w %s: only sha256 digests are signed by cosign", artifact.ErrInvalidReference, ref)
	}
	cp, err := c.compile(ctx, p)
	if err != nil {
		return nil, err
	}
	st := &verifyState{c: c, cp: cp, ref: ref}
	if res := st.cosignFormat(ctx); res != nil {
		return res, nil
	}
	if res := st.bundleFormat(ctx); res != nil {
		return res, nil
	}
	return nil, st.failure()
}

// verifyState is one Verify call in progress.
type verifyState struct {
	c   *Client
	cp  *compiled
	ref artifact.Reference

	found     int      // signatures looked at
	reasons   []string // why each was rejected
	noTlog    int      // rejections for ErrNoTlogEntry
	transient error    // the first "could not check" error
	limit     error    // a limit that was hit

	revision    string // the artifact's revision annotation, once fetched
	revisionErr error
	revFetched  bool
}

func (st *verifyState) reject(what string, err error) {
	if errors.Is(err, ErrNoTlogEntry) {
		st.noTlog++
	}
	const maxReasons = 20
	if len(st.reasons) < maxReasons {
		// Bounded: a reason can quote what the signature claims, which anyone who can
		// write the signature tag chooses, and the error is logged at every poll.
		const maxReason = 512
		r := fmt.Sprintf("%s: %v", what, err)
		if len(r) > maxReason {
			r = strings.ToValidUTF8(r[:maxReason-3], "") + "..."
		}
		st.reasons = append(st.reasons, r)
	} else if len(st.reasons) == maxReasons {
		st.reasons = append(st.reasons, "(further rejections not listed)")
	}
}

// readFailed records an error reading signature material: "could not check" when the
// registry failed, a rejection when the material is bad.
func (st *verifyState) readFailed(what string, err error) {
	var le *remote.ListLimitError
	switch {
	case errors.Is(err, ErrTooManySignatures):
		if st.limit == nil {
			st.limit = fmt.Errorf("%s: %w", what, err)
		}
	case errors.As(err, &le):
		// A listing that does not end is signature material over the limits.
		if st.limit == nil {
			st.limit = fmt.Errorf("%w: %s: %w", ErrTooManySignatures, what, err)
		}
	case isTransient(err):
		if st.transient == nil {
			st.transient = fmt.Errorf("reading %s of %s: %w", what, st.ref.Repo(), err)
		}
	default:
		st.reject(what, err)
	}
}

// room reports whether n more signatures stay within the limit, recording the failure
// when they do not.
func (st *verifyState) room(what string, n int) bool {
	if st.found+n <= st.c.limits.MaxSignatures {
		return true
	}
	st.limit = fmt.Errorf("%w: %s holds %d signature(s) (%d looked at before), over the limit of %d; refusing to verify any",
		ErrTooManySignatures, what, n, st.found, st.c.limits.MaxSignatures)
	return false
}

func (st *verifyState) failure() error {
	pinned := st.ref.WithDigest(st.ref.Digest).String()
	switch {
	case st.limit != nil:
		return &VerificationError{Reference: pinned, Found: st.found, Reasons: st.reasons, Err: st.limit, NoTlogEntry: st.noTlog}
	case st.transient != nil:
		// Something could not be read: the signature that would verify may be there.
		return unavailable(fmt.Errorf("verifying %s: %w", pinned, st.transient))
	case st.found == 0:
		return &VerificationError{Reference: pinned, Err: ErrNoSignatures}
	}
	return &VerificationError{Reference: pinned, Found: st.found, Reasons: st.reasons, Err: ErrVerificationFailed, NoTlogEntry: st.noTlog}
}

// artifactRevision fetches the artifact's manifest (once) for its revision annotation.
func (st *verifyState) artifactRevision(ctx context.Context) (string, error) {
	if st.revFetched {
		return st.revision, st.revisionErr
	}
	st.revFetched = true
	_, b, err := st.c.reg.FetchManifest(ctx, st.ref, st.ref.Digest.String(), st.c.limits.MaxManifestSize)
	if err != nil {
		st.revisionErr = limitErr(err)
		if isTransient(err) {
			st.revisionErr = unavailable(err)
		}
		return "", st.revisionErr
	}
	var m ocispec.Manifest
	if err := sigstore.DecodeJSON(b, &m); err != nil {
		st.revisionErr = fmt.Errorf("artifact manifest: %w", err)
		return "", st.revisionErr
	}
	st.revision = artifact.MetadataFromAnnotations(m.Annotations).Revision
	return st.revision, nil
}

// keysFor returns the keys a signature may be checked with: none when the policy asks
// for matchRevision, which a key signature cannot satisfy (it carries no commit), so
// that a key of a policy that also has identities does not skip the commit check.
func (st *verifyState) keysFor(what string) []*publicKey {
	if st.cp.policy.MatchRevision && len(st.cp.keys) > 0 {
		st.reject(what+", keys", errors.New("matchRevision: a key signature carries no commit"))
		return nil
	}
	return st.cp.keys
}

// checkIdentity matches a verified certificate against the identities and, when the
// policy asks, the artifact's revision.
func (st *verifyState) checkIdentity(ctx context.Context, cert *x509.Certificate) (Signer, error) {
	id, err := sigstore.IdentityOf(cert)
	if err != nil {
		return Signer{}, err
	}
	if err := matchIdentities(st.cp.identities, id); err != nil {
		return Signer{}, err
	}
	if st.cp.policy.MatchRevision {
		rev, err := st.artifactRevision(ctx)
		if err != nil {
			return Signer{}, fmt.Errorf("reading the artifact's revision: %w", err)
		}
		commit := revisionCommit(rev)
		switch {
		case commit == "":
			return Signer{}, fmt.Errorf("matchRevision: the artifact's revision %q names no commit", rev)
		case id.Commit == "":
			return Signer{}, errors.New("matchRevision: the certificate carries no commit")
		case id.Commit != commit:
			return Signer{}, fmt.Errorf("matchRevision: the certificate's commit %s is not the artifact's revision %s", id.Commit, rev)
		}
	}
	return signerFromCert(cert, id), nil
}

// ensureRoot fetches the public Sigstore root for a keys-only policy when a signature's
// log entry has to be checked. A failure is recorded as "could not check".
func (st *verifyState) ensureRoot(ctx context.Context) bool {
	if st.cp.trusted != nil || !st.cp.lazyRoot {
		return true
	}
	tr, err := st.c.publicTrustedRoot(ctx)
	if err != nil {
		if st.transient == nil {
			st.transient = err
		}
		return false
	}
	st.cp.trusted = tr
	return true
}

// cosignFormat looks for a signature in the sha256-<hex>.sig image.
func (st *verifyState) cosignFormat(ctx context.Context) *Result {
	tag := sigstore.SignatureTag(st.ref.Digest)
	_, mb, err := st.c.reg.FetchManifest(ctx, st.ref, tag, st.c.limits.MaxManifestSize)
	if errors.Is(err, remote.ErrNotFound) {
		return nil
	}
	if err != nil {
		st.readFailed("signature manifest "+tag, limitErr(err))
		return nil
	}
	layers, err := sigstore.ParseSignatureManifest(mb, st.c.limits.MaxSignatures-st.found)
	var ce *sigstore.CountError
	if errors.As(err, &ce) {
		st.room("signature manifest "+tag, ce.N)
		return nil
	}
	if err != nil {
		st.found++
		st.reject("signature manifest "+tag, err)
		return nil
	}
	if !st.room("signature manifest "+tag, len(layers)) {
		return nil
	}
	for i, l := range layers {
		st.found++
		what := fmt.Sprintf("cosign signature %d of %s", i+1, tag)
		if l.MediaType != sigstore.SimpleSigningMediaType {
			st.reject(what, fmt.Errorf("media type %q is not a cosign signature", l.MediaType))
			continue
		}
		payload, err := st.c.reg.FetchBlob(ctx, st.ref, l, st.c.limits.MaxBlobSize)
		if err != nil {
			st.readFailed(what, limitErr(err))
			continue
		}
		sig, err := sigstore.ParseCosignSignature(payload, l.Annotations)
		if err != nil {
			st.reject(what, err)
			continue
		}
		if res := st.verifyCosignSignature(ctx, what, sig); res != nil {
			return res
		}
	}
	return nil
}

// verifyCosignSignature checks one cosign-format signature against every key and, if it
// carries a certificate, the identities.
func (st *verifyState) verifyCosignSignature(ctx context.Context, what string, s *sigstore.CosignSignature) *Result {
	result := func(signer Signer, tl *sigstore.TlogEntry) *Result {
		return &Result{Reference: st.ref, Digest: st.ref.Digest, Format: FormatCosign, Signer: signer, Tlog: tlogEntry(tl), Signatures: st.found}
	}
	keys := st.keysFor(what)
	if len(keys) > 0 && st.cp.requireTlog && s.Bundle != nil && !st.ensureRoot(ctx) {
		return nil
	}
	for _, k := range keys {
		var tl *sigstore.TlogEntry
		err := sigstore.Guard(func() (err error) {
			tl, err = sigstore.CheckCosign(s, st.ref.Digest, k.verifier, st.cp.checks())
			return err
		})
		if err == nil {
			return result(Signer{Key: k.ref, KeyID: k.id}, tl)
		}
		st.reject(fmt.Sprintf("%s, key %s", what, k.ref), err)
	}
	if len(st.cp.identities) == 0 {
		return nil
	}
	if s.Cert == nil {
		st.reject(what+", identities", errors.New("not a keyless signature (no certificate)"))
		return nil
	}
	v, err := signature.LoadVerifier(s.Cert.PublicKey, crypto.SHA256)
	if err != nil {
		st.reject(what+", certificate", err)
		return nil
	}
	var tl *sigstore.TlogEntry
	if err := sigstore.Guard(func() (err error) { tl, err = sigstore.CheckCosign(s, st.ref.Digest, v, st.cp.checks()); return err }); err != nil {
		st.reject(what, err)
		return nil
	}
	signer, err := st.checkIdentity(ctx, s.Cert)
	if err != nil {
		if errors.Is(err, ErrUnavailable) && st.transient == nil {
			st.transient = err
		}
		st.reject(what, err)
		return nil
	}
	return result(signer, tl)
}

// bundleFormat looks for sigstore bundles among the artifact's referrers.
func (st *verifyState) bundleFormat(ctx context.Context) *Result {
	var found []ocispec.Descriptor
	errStop := errors.New("stop")
	subject := ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: st.ref.Digest}
	err := st.c.reg.Referrers(ctx, st.ref, subject, "", st.c.limits.MaxManifestSize, func(page []ocispec.Descriptor) error {
		for _, d := range page {
			if sigstore.IsBundleType(d.ArtifactType) {
				found = append(found, d)
			}
		}
		if !st.room("the referrers of "+st.ref.Digest.String(), len(found)) {
			return errStop
		}
		return nil
	})
	switch {
	case errors.Is(err, errStop):
		return nil
	case errors.Is(err, remote.ErrNotFound):
		return nil
	case err != nil:
		st.readFailed("referrers", err)
		return nil
	}
	for _, d := range found {
		st.found++
		what := "bundle " + d.Digest.String()
		b, err := st.fetchBundle(ctx, d)
		if err != nil {
			st.readFailed(what, err)
			continue
		}
		if res := st.verifyBundle(ctx, what, b); res != nil {
			return res
		}
	}
	return nil
}
