package verify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gitless-dev/gitless/internal/sigstore"
)

// Sentinel errors. Every error Verify returns matches exactly one of
// ErrVerificationFailed, ErrUnavailable and ErrInvalidPolicy with errors.Is, so that a
// caller can decide without reading messages:
//
//   - ErrVerificationFailed: the registry answered and what it holds does not satisfy the
//     policy: no signature, only invalid ones, signers the policy does not trust, or
//     signature material over the limits. A security event: alert, never apply.
//   - ErrUnavailable: the check could not be made (registry or transparency-log service
//     unreachable, 5xx, 429, credentials refused, public trusted root not fetchable,
//     context cancelled). Retry later; do not apply meanwhile.
//   - ErrInvalidPolicy: the policy itself is wrong (no key or identity, a key file that
//     does not parse, a trusted root that is missing or malformed, a bad regexp). Fix the
//     configuration; retrying does not help.
var (
	ErrVerificationFailed = errors.New("signature verification failed")
	ErrUnavailable        = errors.New("could not check the signature")
	ErrInvalidPolicy      = errors.New("invalid verification policy")

	// ErrNoSignatures: the artifact has no signature at all in any format gitless reads.
	// It also matches ErrVerificationFailed.
	ErrNoSignatures = &sentinel{msg: "no signatures found", parent: ErrVerificationFailed}
	// ErrTooManySignatures: more signatures (or signature material) than the limits allow;
	// the verifier refuses to look at them. It also matches ErrVerificationFailed.
	ErrTooManySignatures = &sentinel{msg: "too many signatures", parent: ErrVerificationFailed}

	// ErrNoTlogEntry: a signature without the transparency-log entry the policy requires
	// (signed without uploading to Rekor; a policy accepts that with InsecureIgnoreTlog).
	// A VerificationError matches it when a signature was refused for that reason.
	ErrNoTlogEntry = sigstore.ErrNoTlogEntry
)

// sentinel is an error value that also matches a broader sentinel.
type sentinel struct {
	msg    string
	parent error
}

func (s *sentinel) Error() string        { return s.msg }
func (s *sentinel) Is(target error) bool { return target == s.parent }

// VerificationError is returned when no signature satisfies the policy. It matches
// ErrVerificationFailed (and ErrNoSignatures when there were none, ErrTooManySignatures
// when the limits were hit) with errors.Is.
type VerificationError struct {
	// Reference is the artifact, pinned to its digest.
	Reference string
	// Found counts the signatures looked at, in every format.
	Found int
	// Reasons says, per signature, why it was rejected: "cosign signature 2: key: invalid
	// signature", "bundle sha256:…: identity: subject ... does not match".
	Reasons []string
	// Err is ErrNoSignatures, ErrTooManySignatures or ErrVerificationFailed.
	Err error
	// NoTlogEntry counts the signatures refused for lacking a transparency-log entry
	// (ErrNoTlogEntry).
	NoTlogEntry int
}

func (e *VerificationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "verifying %s: ", e.Reference)
	switch {
	case errors.Is(e.Err, ErrNoSignatures):
		b.WriteString("no signatures found (looked for a cosign signature tag and sigstore bundle referrers)")
	case errors.Is(e.Err, ErrTooManySignatures):
		b.WriteString(e.Err.Error())
	default:
		fmt.Fprintf(&b, "none of the %d signature(s) found satisfies the policy", e.Found)
	}
	for _, r := range e.Reasons {
		b.WriteString("\n  - ")
		b.WriteString(r)
	}
	return b.String()
}

func (e *VerificationError) Unwrap() error { return e.Err }

// Is makes every VerificationError match ErrVerificationFailed, and ErrNoTlogEntry when a
// signature was refused for lacking a log entry.
func (e *VerificationError) Is(target error) bool {
	return target == ErrVerificationFailed || (target == ErrNoTlogEntry && e.NoTlogEntry > 0)
}

// PolicyError names the policy field that is wrong. It matches ErrInvalidPolicy.
type PolicyError struct {
	Field string // e.g. "identities[1].subjectRegexp", "keys[0]", "trustedRoot"
	Err   error
}

func (e *PolicyError) Error() string {
	return fmt.Sprintf("%v: %s: %v", ErrInvalidPolicy, e.Field, e.Err)
}

func (e *PolicyError) Unwrap() error { return e.Err }

// Is makes every PolicyError match ErrInvalidPolicy.
func (e *PolicyError) Is(target error) bool { return target == ErrInvalidPolicy }

func policyErr(field string, format string, a ...any) error {
	return &PolicyError{Field: field, Err: fmt.Errorf(format, a...)}
}

// unavailable marks err as "could not check".
func unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
