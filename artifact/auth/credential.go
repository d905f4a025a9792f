package auth

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
)

// Credential is what a registry host is logged in with. Usually exactly one
// of these is set: Username with Password (basic auth, or a token used as a
// password), IdentityToken (an OAuth2 refresh token exchanged for access
// tokens), or RegistryToken (a bearer access token sent as is).
//
// A Credential never shows its secrets: fmt (every verb, including %#v),
// log/slog and encoding/json all print "<redacted>" in place of Password,
// IdentityToken and RegistryToken. Username is shown.
type Credential struct {
	Username      string
	Password      string
	IdentityToken string
	RegistryToken string
}

// IsEmpty reports whether no field is set: the anonymous credential.
func (c Credential) IsEmpty() bool {
	return c == Credential{}
}

const redacted = "<redacted>"

func redact(secret string) string {
	if secret == "" {
		return ""
	}
	return redacted
}

// String returns the credential with its secrets redacted.
func (c Credential) String() string {
	var b strings.Builder
	b.WriteString("{")
	sep := ""
	add := func(field, value string) {
		if value == "" {
			return
		}
		b.WriteString(sep + field + ":" + value)
		sep = " "
	}
	add("Username", c.Username)
	add("Password", redact(c.Password))
	add("IdentityToken", redact(c.IdentityToken))
	add("RegistryToken", redact(c.RegistryToken))
	b.WriteString("}")
	return b.String()
}

// GoString returns the credential as Go syntax with its secrets redacted.
func (c Credential) GoString() string {
	return fmt.Sprintf("auth.Credential{Username:%q, Password:%q, IdentityToken:%q, RegistryToken:%q}",
		c.Username, redact(c.Password), redact(c.IdentityToken), redact(c.RegistryToken))
}

// Format implements fmt.Formatter so that no verb or flag prints a secret:
// %#v gives GoString, every other verb String.
func (c Credential) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(c.GoString()))
		return
	}
	_, _ = f.Write([]byte(c.String()))
}

// LogValue implements slog.LogValuer with the secrets redacted.
func (c Credential) LogValue() slog.Value {
	return slog.StringValue(c.String())
}

// MarshalJSON implements json.Marshaler with the secrets redacted: a
// Credential is never serialised with its secrets. Code that must write a
// secret (a docker config file, say) builds that JSON itself.
func (c Credential) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Username      string `json:"username,omitempty"`
		Password      string `json:"password,omitempty"`
		IdentityToken string `json:"identitytoken,omitempty"`
		RegistryToken string `json:"registrytoken,omitempty"`
	}{c.Username, redact(c.Password), redact(c.IdentityToken), redact(c.RegistryToken)})
}

// ParseUserToken parses credentials given as "user:token", the form of a
// --creds flag. The user name ends at the first ':', so the token may
// contain ':' (a user name cannot, in HTTP basic auth). Trailing "\r" and
// "\n" are removed (a token read from a file); nothing else is trimmed.
//
// Both parts must be non-empty. A bare token without "user:" is rejected
// rather than given a made-up user name: registries differ in what user name
// a token needs (Docker Hub and GitLab deploy tokens need the real one, ghcr.io
// accepts any), and a guessed one would fail later as an unexplained 401.
// Write "oauth2:TOKEN" or "x-access-token:TOKEN" where any user name will do.
//
// The result has Username and Password set. Errors wrap ErrInvalidCredential
// and never contain the input.
func ParseUserToken(s string) (Credential, error) {
	s = strings.TrimRight(s, "\r\n")
	user, token, ok := strings.Cut(s, ":")
	switch {
	case s == "":
		return Credential{}, fmt.Errorf("%w: empty, expected user:token", ErrInvalidCredential)
	case !ok:
		return Credential{}, fmt.Errorf("%w: no ':' found, expected user:token (a token alone is not accepted; write e.g. oauth2:TOKEN)", ErrInvalidCredential)
	case user == "":
		return Credential{}, fmt.Errorf("%w: empty user name in user:token", ErrInvalidCredential)
	case token == "":
		return Credential{}, fmt.Errorf("%w: empty token in user:token", ErrInvalidCredential)
	}
	return Credential{Username: user, Password: token}, nil
}
