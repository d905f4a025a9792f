package sign_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/sign"
)

func jwt(claims string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

// A token Fulcio would refuse is found before push uploads anything, and never quoted.
func TestCheckIDToken(t *testing.T) {
	now := time.Unix(2_000_000_000, 0)
	for _, tc := range []struct {
		name, token, want string
	}{
		{"valid", jwt(`{"iss":"https://token.actions.githubusercontent.com","aud":"sigstore","exp":2000000600}`), ""},
		{"audience in a list", jwt(`{"aud":["x","sigstore"],"exp":2000000600}`), ""},
		{"no exp, no aud", jwt(`{"sub":"x"}`), ""},
		{"expired", jwt(`{"iss":"https://gitlab.com","aud":"sigstore","exp":1999999000}`), "expired at 2033-05-18T03:16:40Z (16m40s ago)"},
		{"about to expire", jwt(`{"aud":"sigstore","exp":2000000010}`), "in less than 30s"},
		{"another audience", jwt(`{"aud":"https://gitlab.com","exp":2000000600}`), `its audience is ["https://gitlab.com"]`},
		{"not a JWT", "a.b", "not a JWT"},
		{"claims not base64", "a.!!!.c", "not a JWT"},
		{"alg none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + jwt(`{"aud":"sigstore"}`)[strings.Index(jwt(""), "."):], "not a JWT"},
		{"symmetric alg", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256"}`)) + jwt(`{"aud":"sigstore"}`)[strings.Index(jwt(""), "."):], "not a JWT"},
		{"exp not a number", jwt(`{"aud":"sigstore","exp":"s3cret"}`), "not a JSON object of JWT claims"},
		{"aud not strings", jwt(`{"aud":[1],"exp":2000000600}`), "not a JSON object of JWT claims"},
		{"claims not JSON", jwt(`s3cret`), "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sign.CheckIDToken(tc.token, now, 30*time.Second, sign.Audience)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, sign.ErrIDToken) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "eyJ") {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// A private Fulcio with its own audience: no audience checked, expiry still.
	if err := sign.CheckIDToken(jwt(`{"aud":"my-fulcio","exp":2000000600}`), now, 30*time.Second, ""); err != nil {
		t.Errorf("a private Fulcio's audience: %v", err)
	}
	if err := sign.CheckIDToken(jwt(`{"aud":"my-fulcio","exp":1}`), now, 30*time.Second, ""); !errors.Is(err, sign.ErrIDToken) {
		t.Errorf("an expired token for a private Fulcio: %v", err)
	}
}
