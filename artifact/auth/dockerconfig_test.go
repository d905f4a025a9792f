package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDockerConfigJSON(t *testing.T) {
	ctx := context.Background()
	type lookup struct {
		host string
		want Credential // empty: not found
	}
	for _, tt := range []struct {
		name    string
		json    string
		lookups []lookup
	}{
		{
			name: "auth field",
			json: `{"auths":{"ghcr.io":{"auth":"` + b64("user:pa:ss") + `","email":"x@y"}}}`,
			lookups: []lookup{
				{"ghcr.io", Credential{Username: "user", Password: "pa:ss"}},
				{"ghcr.io.evil.com", Credential{}},
				{"evil.com/ghcr.io", Credential{}},
				{"quay.io", Credential{}},
			},
		},
		{
			name: "auth wins over username and password, as in docker/cli",
			json: `{"auths":{"ghcr.io":{"auth":"` + b64("fromauth:authpw") + `","username":"u","password":"p"}}}`,
			lookups: []lookup{
				{"ghcr.io", Credential{Username: "fromauth", Password: "authpw"}},
			},
		},
		{
			name: "username and password",
			json: `{"auths":{"ghcr.io":{"username":"u","password":"p"}}}`,
			lookups: []lookup{
				{"ghcr.io", Credential{Username: "u", Password: "p"}},
			},
		},
		{
			name: "tokens",
			json: `{"auths":{"a.io":{"identitytoken":"refresh"},"b.io":{"registrytoken":"access"},"c.io":{"auth":"` + b64("<token>:x") + `","identitytoken":"refresh"}}}`,
			lookups: []lookup{
				{"a.io", Credential{IdentityToken: "refresh"}},
				{"b.io", Credential{RegistryToken: "access"}},
				{"c.io", Credential{Username: "<token>", Password: "x", IdentityToken: "refresh"}},
			},
		},
		{
			name: "unpadded base64 and NUL padding in the password",
			json: `{"auths":{"a.io":{"auth":"` + strings.TrimRight(b64("us:p"), "=") + `"},"b.io":{"auth":"` + b64("u:pw\x00\x00") + `"}}}`,
			lookups: []lookup{
				{"a.io", Credential{Username: "us", Password: "p"}},
				{"b.io", Credential{Username: "u", Password: "pw"}},
			},
		},
		{
			name: "key forms",
			json: `{"auths":{
				"https://index.docker.io/v1/":{"auth":"` + b64("hub:1") + `"},
				"http://localhost:5000/v2/":{"auth":"` + b64("local:2") + `"},
				"registry.gitlab.com/some/path":{"auth":"` + b64("gl:3") + `"},
				"HTTPS://Quay.IO":{"auth":"` + b64("quay:4") + `"},
				"gitlab.example.com:5050":{"auth":"` + b64("port:5") + `"}}}`,
			lookups: []lookup{
				{"index.docker.io", Credential{Username: "hub", Password: "1"}},
				{"docker.io", Credential{Username: "hub", Password: "1"}},
				{"registry-1.docker.io", Credential{Username: "hub", Password: "1"}},
				{"localhost:5000", Credential{Username: "local", Password: "2"}},
				{"localhost", Credential{}},
				{"localhost:5001", Credential{}},
				{"registry.gitlab.com", Credential{Username: "gl", Password: "3"}},
				{"registry.gitlab.com/other/project", Credential{Username: "gl", Password: "3"}},
				{"quay.io", Credential{Username: "quay", Password: "4"}},
				{"gitlab.example.com:5050", Credential{Username: "port", Password: "5"}},
				{"gitlab.example.com", Credential{}},
			},
		},
		{
			name: "several keys for one host: docker's own key wins",
			json: `{"auths":{
				"docker.io":{"auth":"` + b64("a:1") + `"},
				"https://index.docker.io/v1/":{"auth":"` + b64("b:2") + `"},
				"index.docker.io":{"auth":"` + b64("c:3") + `"},
				"https://ghcr.io":{"auth":"` + b64("d:4") + `"},
				"ghcr.io":{"auth":"` + b64("e:5") + `"},
				"https://quay.io/v1/":{"auth":"` + b64("f:6") + `"},
				"https://quay.io":{"auth":"` + b64("g:7") + `"}}}`,
			lookups: []lookup{
				{"docker.io", Credential{Username: "b", Password: "2"}},
				{"ghcr.io", Credential{Username: "e", Password: "5"}},
				{"quay.io", Credential{Username: "g", Password: "7"}}, // sorts first
			},
		},
		{
			name: "empty entries are skipped, and do not shadow others",
			json: `{"auths":{"ghcr.io":{},"https://ghcr.io":{"auth":"` + b64("u:p") + `"},"quay.io":{"email":"x@y"},"a.io":null,"b.io":{"auth":""}},"credsStore":"desktop"}`,
			lookups: []lookup{
				{"ghcr.io", Credential{Username: "u", Password: "p"}},
				{"quay.io", Credential{}},
				{"a.io", Credential{}},
				{"b.io", Credential{}},
			},
		},
		{
			name: "names match without regard to case, as in docker/cli",
			json: `{"Auths":{"ghcr.io":{"Auth":"` + b64("u:p") + `"},"quay.io":{"USERNAME":"q","Password":"w"}}}`,
			lookups: []lookup{
				{"ghcr.io", Credential{Username: "u", Password: "p"}},
				{"quay.io", Credential{Username: "q", Password: "w"}},
			},
		},
		{
			name:    "empty auths",
			json:    `{"auths":{}}`,
			lookups: []lookup{{"ghcr.io", Credential{}}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := ParseDockerConfigJSON([]byte(tt.json), "Secret ns/name")
			if err != nil {
				t.Fatal(err)
			}
			if src.Name() != "Secret ns/name" {
				t.Errorf("Name() = %q", src.Name())
			}
			for _, l := range tt.lookups {
				got, ok, err := src.Lookup(ctx, l.host)
				if err != nil || ok == l.want.IsEmpty() || got != l.want {
					t.Errorf("Lookup(%q) = %#v, %v, %v; want %#v", l.host, got, ok, err, l.want)
					if got != l.want {
						t.Logf("got %q/%q", got.Username, got.Password)
					}
				}
			}
		})
	}
}

func TestParseDockerConfigJSONErrors(t *testing.T) {
	const secret = "Zm9vYmFyc2VjcmV0" // would be a leak if it showed up
	for _, tt := range []struct {
		name, json string
		is         error
		mention    string // the error must contain this
	}{
		{"empty", ``, ErrMalformedConfig, "empty"},
		{"not JSON", `{"auths": {"ghcr.io": {"auth": ` + secret + `}}}`, ErrMalformedConfig, "syntax error at byte"},
		{"number as password", `{"auths":{"ghcr.io":{"password":123456789}}}`, ErrMalformedConfig, `"password" is not a string`},
		{"array", `[1,2]`, ErrMalformedConfig, "not a JSON object"},
		{"null", `null`, ErrMalformedConfig, ""},
		{"no auths", `{"ghcr.io":{"auth":"` + b64("u:p") + `"}}`, ErrMalformedConfig, `no "auths"`},
		{"auths null", `{"auths":null}`, ErrMalformedConfig, `no "auths"`},
		{"auths not an object", `{"auths":["` + secret + `"]}`, ErrMalformedConfig, `"auths" is not an object`},
		{"entry not an object", `{"auths":{"ghcr.io":"` + secret + `"}}`, ErrMalformedConfig, `"ghcr.io"`},
		{"field not a string", `{"auths":{"ghcr.io":{"auth":["` + secret + `"]}}}`, ErrMalformedConfig, `"auth" is not a string`},
		{"bad base64", `{"auths":{"ghcr.io":{"auth":"` + secret + `!!"}}}`, ErrInvalidCredential, `entry "ghcr.io": invalid credential: "auth" is not valid base64`},
		{"no colon", `{"auths":{"ghcr.io":{"auth":"` + b64(secret) + `"}}}`, ErrInvalidCredential, `entry "ghcr.io"`},
		{"empty user", `{"auths":{"ghcr.io":{"auth":"` + b64(":"+secret) + `"}}}`, ErrInvalidCredential, "empty user name"},
		{"bad key", `{"auths":{"user:` + secret + `@ghcr.io":{"auth":"` + b64("u:p") + `"}}}`, ErrInvalidHost, "<redacted>@ghcr.io"},
		{"empty key", `{"auths":{"":{"auth":"` + b64("u:p") + `"}}}`, ErrInvalidHost, `entry ""`},
		{"too large", `{"auths":{}}` + strings.Repeat(" ", MaxDockerConfigSize), ErrMalformedConfig, "larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := ParseDockerConfigJSON([]byte(tt.json), "Secret ns/name")
			if !errors.Is(err, tt.is) {
				t.Fatalf("error = %v, want %v", err, tt.is)
			}
			if src != nil { // found by FuzzParseDockerConfigJSON: a typed nil
				t.Errorf("source %v returned with the error", src)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "parsing Secret ns/name: ") || !strings.Contains(msg, tt.mention) {
				t.Errorf("error %q: want the source name and %q", msg, tt.mention)
			}
			for _, leak := range []string{secret, "123456789", "Zm9v"} {
				if strings.Contains(msg, leak) {
					t.Errorf("error %q shows %q", msg, leak)
				}
			}
		})
	}
}

func TestParseDockerCfg(t *testing.T) {
	src, err := ParseDockerCfg([]byte(`{"https://index.docker.io/v1/":{"auth":"`+b64("u:p")+`","email":"x@y"},"quay.io":{"username":"q","password":"w"}}`), "Secret ns/old")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for host, want := range map[string]Credential{
		"docker.io": {Username: "u", Password: "p"},
		"quay.io":   {Username: "q", Password: "w"},
		"ghcr.io":   {},
	} {
		if got, ok, err := src.Lookup(ctx, host); err != nil || ok == want.IsEmpty() || got != want {
			t.Errorf("Lookup(%q) = %v, %v, %v; want %v", host, got, ok, err, want)
		}
	}
	// A dockerconfigjson document read as the legacy format has one entry,
	// "auths", without credentials of its own: no error, and nothing found.
	wrong, err := ParseDockerCfg([]byte(`{"auths":{"ghcr.io":{"auth":"`+b64("u:p")+`"}}}`), "x")
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"auths", "ghcr.io"} {
		if _, ok, err := wrong.Lookup(ctx, host); ok || err != nil {
			t.Errorf("dockerconfigjson read as dockercfg: Lookup(%q) = %v, %v", host, ok, err)
		}
	}
	if _, err := ParseDockerCfg([]byte(`[]`), "x"); !errors.Is(err, ErrMalformedConfig) {
		t.Errorf("array: error = %v", err)
	}
}

func TestReadDockerConfigFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(`{"auths":{"ghcr.io":{"auth":"`+b64("u:p")+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := ReadDockerConfigFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "dockerconfigjson file " + path; src.Name() != want {
		t.Errorf("Name() = %q, want %q", src.Name(), want)
	}
	if got, ok, err := src.Lookup(ctx, "ghcr.io"); !ok || err != nil || got.Password != "p" {
		t.Errorf("Lookup = %v, %v, %v", got, ok, err)
	}

	if _, err := ReadDockerConfigFile(ctx, filepath.Join(dir, "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error = %v", err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, []byte(`{"auths":{}}`+strings.Repeat(" ", MaxDockerConfigSize)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDockerConfigFile(ctx, big); !errors.Is(err, ErrMalformedConfig) {
		t.Errorf("big file: error = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ReadDockerConfigFile(cancelled, path); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error = %v", err)
	}
}
