package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseUserToken(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Credential
	}{
		{"user:token", Credential{Username: "user", Password: "token"}},
		{"user:to:ken:", Credential{Username: "user", Password: "to:ken:"}},
		{"oauth2:tok\n", Credential{Username: "oauth2", Password: "tok"}},
		{"u:tok\r\n", Credential{Username: "u", Password: "tok"}},
		{"u: spaced ", Credential{Username: "u", Password: " spaced "}},
	} {
		got, err := ParseUserToken(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseUserToken(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "\n", "baretokensecret", ":tokensecret", "user:", "user:\n"} {
		_, err := ParseUserToken(in)
		if !errors.Is(err, ErrInvalidCredential) {
			t.Errorf("ParseUserToken(%q) error = %v, want ErrInvalidCredential", in, err)
		}
		if err != nil && strings.Contains(err.Error(), "tokensecret") {
			t.Errorf("ParseUserToken(%q) error %q shows the token", in, err)
		}
	}
}

func TestCredentialIsEmpty(t *testing.T) {
	if !(Credential{}).IsEmpty() {
		t.Error("zero Credential is not empty")
	}
	for _, c := range []Credential{{Username: "u"}, {Password: "p"}, {IdentityToken: "i"}, {RegistryToken: "r"}} {
		if c.IsEmpty() {
			t.Errorf("%v is empty", c)
		}
	}
}

// Secrets used by the redaction test; each is distinctive enough that a
// match means a leak.
const (
	secretPassword = "pw-SECRET-0001"
	secretIdentity = "id-SECRET-0002"
	secretRegistry = "rt-SECRET-0003"
	secretEnvToken = "env-SECRET-0004"
	secretAuthPass = "auth-SECRET-0005"
)

var allSecrets = []string{secretPassword, secretIdentity, secretRegistry, secretEnvToken, secretAuthPass}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, secret := range allSecrets {
		if strings.Contains(s, secret) {
			t.Errorf("%s shows secret %q: %s", what, secret, s)
		}
	}
}

// TestRedaction prints every type that holds a secret with every fmt verb,
// as slog attributes and as JSON, and checks that no secret shows.
func TestRedaction(t *testing.T) {
	ctx := context.Background()
	cred := Credential{Username: "user", Password: secretPassword, IdentityToken: secretIdentity, RegistryToken: secretRegistry}
	config, err := ParseDockerConfigJSON([]byte(`{"auths":{
		"ghcr.io":{"auth":"`+b64("user:"+secretAuthPass)+`"},
		"quay.io":{"username":"u","password":"`+secretPassword+`","identitytoken":"`+secretIdentity+`","registrytoken":"`+secretRegistry+`"}}}`), "Secret ns/pull")
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := ParseDockerCfg([]byte(`{"ghcr.io":{"auth":"`+b64("user:"+secretAuthPass)+`"}}`), "Secret ns/old")
	if err != nil {
		t.Fatal(err)
	}
	env := FromEnv(mapEnv(map[string]string{
		"GITHUB_TOKEN": secretEnvToken, "CI_REGISTRY": "registry.gitlab.com",
		"CI_REGISTRY_USER": "u", "CI_REGISTRY_PASSWORD": secretPassword, "CI_JOB_TOKEN": secretEnvToken,
	}))
	static := Static("ghcr.io", cred, "--creds")
	fn := FuncSource("func", func(context.Context, string) (Credential, bool, error) { return cred, true, nil })
	chain := Chain{static, config, legacy, env, fn, DockerConfig(), Chain{static}}
	if _, _, err := chain.Resolve(ctx, "ghcr.io"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(`{"auths":{"ghcr.io":{"auth":"`+b64("user:"+secretAuthPass)+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	def, err := Default(ctx, DefaultOptions{Creds: "user:" + secretPassword, Host: "ghcr.io", DockerConfigFile: path, Getenv: mapEnv(map[string]string{"GITHUB_TOKEN": secretEnvToken})})
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]any{
		"Credential": cred, "*Credential": &cred, "[]Credential": []Credential{cred},
		"map[string]Credential": map[string]Credential{"h": cred},
		"Static":                static, "ParseDockerConfigJSON": config, "ParseDockerCfg": legacy, "FromEnv": env,
		"FuncSource": fn, "Chain": chain, "Default": def,
		"[]Source": []Source(chain),
	}
	for name, v := range values {
		for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v", "%10.3v"} {
			assertNoSecret(t, fmt.Sprintf("%s with %s", name, format), fmt.Sprintf(format, v))
		}
		assertNoSecret(t, name+" with Sprint", fmt.Sprint(v))
		assertNoSecret(t, name+" with Sprintln", fmt.Sprintln(v, v))

		var buf bytes.Buffer
		slog.New(slog.NewJSONHandler(&buf, nil)).Info("msg", "v", v)
		slog.New(slog.NewTextHandler(&buf, nil)).Info("msg", "v", v)
		assertNoSecret(t, name+" in slog", buf.String())

		if b, err := json.Marshal(v); err == nil {
			assertNoSecret(t, name+" as JSON", string(b))
		}
	}
}

func TestCredentialString(t *testing.T) {
	c := Credential{Username: "bob", Password: "x"}
	if got, want := c.String(), "{Username:bob Password:<redacted>}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := fmt.Sprintf("%#v", c), `auth.Credential{Username:"bob", Password:"<redacted>", IdentityToken:"", RegistryToken:""}`; got != want {
		t.Errorf("%%#v = %q, want %q", got, want)
	}
	if got, want := fmt.Sprint(Credential{}), "{}"; got != want {
		t.Errorf("empty = %q, want %q", got, want)
	}
}
