package verify_test

import (
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/verify"
)

// A policy as the puller reads it from its configuration, checked at load time: the error
// names the field to fix.
func ExamplePolicy_Validate() {
	config := []byte(`
identities:
  - issuer: https://token.actions.githubusercontent.com
    subjectRegexp: https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v.*
    github:
      repository: acme/app
  - issuer: https://gitlab.com
trustedRoot: /etc/gitless/trusted_root.json
`)
	var p verify.Policy
	if err := yaml.UnmarshalStrict(config, &p); err != nil {
		fmt.Println(err)
		return
	}
	err := p.Validate()
	var pe *verify.PolicyError
	fmt.Println(errors.Is(err, verify.ErrInvalidPolicy), errors.As(err, &pe), pe.Field)
	fmt.Println(err)
	// Output:
	// true true identities[1].subject
	// invalid verification policy: identities[1].subject: an identity needs a subject or subjectRegexp
}

// Verify's errors say what to do without reading messages.
func ExampleVerify_errors() {
	decide := func(err error) string {
		switch {
		case err == nil:
			return "apply the verified digest"
		case errors.Is(err, verify.ErrVerificationFailed):
			return "alert, never apply"
		case errors.Is(err, verify.ErrUnavailable):
			return "retry later"
		case errors.Is(err, verify.ErrInvalidPolicy):
			return "fix the configuration"
		}
		return "unexpected"
	}
	fmt.Println(decide(nil))
	fmt.Println(decide(&verify.VerificationError{Reference: "oci://r/a@sha256:...", Err: verify.ErrNoSignatures}))
	fmt.Println(decide(fmt.Errorf("%w: registry down", verify.ErrUnavailable)))
	fmt.Println(decide(&verify.PolicyError{Field: "keys[0]", Err: errors.New("no such file")}))
	// Output:
	// apply the verified digest
	// alert, never apply
	// retry later
	// fix the configuration
}
