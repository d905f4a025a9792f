package cli

import (
	"strings"
	"testing"
)

// --identity-token takes a JWT, an Authorization header's value pasted ("Bearer JWT"),
// or a file; a token that is neither is not echoed in the error.
func TestReadToken(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzM2NyZXQifQ.c2lnbmF0dXJl"
	for _, in := range []string{jwt, "Bearer " + jwt, "bearer  " + jwt + "\n"} {
		if got, err := readToken(in); err != nil || got != jwt {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	// Opaque tokens too (a GitHub token where an OIDC token belongs, one with a dot).
	for _, in := range []string{"Token " + jwt, jwt + ".extra", strings.Repeat("x", 300), "ghs_xxxxSuperSecretOpaque123", "xxxxpart.xxxxpart"} {
		_, err := readToken(in)
		if err == nil || strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), "xxxx") || !strings.Contains(err.Error(), "not quoted") {
			t.Errorf("%.20q: %v", in, err)
		}
	}
	if _, err := readToken("/no/such/token-file"); err == nil || !strings.Contains(err.Error(), "/no/such/token-file") {
		t.Errorf("a missing file is named: %v", err)
	}
}
