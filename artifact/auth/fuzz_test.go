package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

var fuzzHostSeeds = []string{
	"ghcr.io", "GHCR.IO", "https://ghcr.io/", "oci://ghcr.io/org/repo", "ghcr.io/owner/repo@sha256:abc",
	"https://index.docker.io/v1/", "docker.io", "registry-1.docker.io", "docker.io:443",
	"http://localhost:5000/v2/", "127.0.0.1:5000", "[::1]:5000", "[FE80::1]", "registry.gitlab.com/some/path",
	"gitlab.example.com:5050", "evil.com/ghcr.io", "evil.com/x://ghcr.io", "ghcr.io.evil.com",
	"user:token@ghcr.io", "ghcr.io:65536", "ghcr.io:05000", "::1", "[::1", "ghcr..io", "\u212aube.io",
	" \tghcr.io\n", "a://b://c", "ghcr.io?x", "ghcr.io#x", "HTTPS://x", "1+a.b-c://host", "",
}

// hostPrefix is what must remain of an input once NormalizeHost has
// dropped white space and a scheme: the test's own reading, independent of
// the implementation.
var fuzzScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*://`)

func FuzzNormalizeHost(f *testing.F) {
	for _, s := range fuzzHostSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeHost(s)
		if err != nil {
			if got != "" {
				t.Fatalf("NormalizeHost(%q) = %q with error %v", s, got, err)
			}
			return
		}
		if got == "" || len(got) > maxHostLen {
			t.Fatalf("NormalizeHost(%q) = %q", s, got)
		}
		if strings.ContainsAny(got, "/?#@ \t\r\n\\%") || strings.ToLower(got) != got {
			t.Fatalf("NormalizeHost(%q) = %q: not a bare lower-case host", s, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] >= 0x80 {
				t.Fatalf("NormalizeHost(%q) = %q: not ASCII", s, got)
			}
		}
		again, err := NormalizeHost(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: NormalizeHost(%q) = %q, then %q, %v", s, got, again, err)
		}
		if url, err := NormalizeHost("https://" + got + "/v2/"); err != nil || url != got {
			t.Fatalf("NormalizeHost(https://%s/v2/) = %q, %v; want %q", got, url, err, got)
		}

		// Nothing is invented: the result is what the input names as its
		// host, right after an optional scheme, up to the path.
		rest := strings.TrimSpace(s)
		rest = rest[len(fuzzScheme.FindString(rest)):]
		named, _, _ := strings.Cut(rest, "/")
		named, _, _ = strings.Cut(named, "?")
		named, _, _ = strings.Cut(named, "#")
		named = strings.ToLower(named)
		switch {
		case named == got:
		case got == DockerHubHost && (named == "docker.io" || named == "registry-1.docker.io"):
		default:
			t.Fatalf("NormalizeHost(%q) = %q, but the input names %q", s, got, named)
		}
	})
}

func FuzzParseDockerConfigJSON(f *testing.F) {
	auth := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, seed := range []struct{ data, host string }{
		{`{"auths":{"ghcr.io":{"auth":"` + auth("user:SECRETpassword1") + `"}}}`, "ghcr.io"},
		{`{"auths":{"ghcr.io":{"auth":"` + auth("user:SECRETpassword1") + `"}}}`, "ghcr.io.evil.com"},
		{`{"auths":{"ghcr.io":{"auth":"` + auth("user:SECRETpassword1") + `"}}}`, "evil.com/ghcr.io"},
		{`{"auths":{"https://index.docker.io/v1/":{"auth":"` + auth("u:SECRETpassword2") + `"},"docker.io":{"username":"a","password":"SECRETpassword3"}}}`, "registry-1.docker.io"},
		{`{"auths":{"http://localhost:5000/v2/":{"username":"u","password":"SECRETpassword4","identitytoken":"SECRETidentity5","registrytoken":"SECRETregistry6"}}}`, "localhost:5000"},
		{`{"auths":{"registry.gitlab.com/some/path":{"auth":"` + auth("u:SECRETpassword7") + `","email":"a@b"}}}`, "registry.gitlab.com"},
		{`{"auths":{"ghcr.io":{"auth":"SECRETnotbase64!"}}}`, "ghcr.io"},
		{`{"auths":{"ghcr.io":{"auth":"` + auth("SECRETnocolon8") + `"}}}`, "ghcr.io"},
		{`{"auths":{"ghcr.io":{"password":12345678901234}}}`, "ghcr.io"},
		{`{"auths":{"ghcr.io":{"password":"SECRET` + "\x00" + `"}}}`, "ghcr.io"},
		{`{"auths":{"user:SECRETpassword9@ghcr.io":{"auth":"` + auth("u:p") + `"}}}`, "ghcr.io"},
		{`{"auths":{"ghcr.io":{},"quay.io":null}}`, "quay.io"},
		{`{"auths":{"ghcr.io":"SECRETstring10"}}`, "ghcr.io"},
		{`{"auths":null}`, "ghcr.io"},
		{`{"ghcr.io":{"auth":"` + auth("u:SECRETlegacy11") + `"}}`, "ghcr.io"},
		{`{"auths":{"ghcr.io":{"auth":"SECRET`, "ghcr.io"},
		{`[]`, ""},
		{``, ""},
	} {
		f.Add([]byte(seed.data), seed.host)
	}
	f.Fuzz(func(t *testing.T, data []byte, host string) {
		ctx := context.Background()
		const name = "Secret ns/fuzz"
		if _, err := ParseDockerCfg(data, name); err != nil {
			checkErrorHasNoSecret(t, data, err)
		}
		src, err := ParseDockerConfigJSON(data, name)
		if err != nil {
			if src != nil {
				t.Fatalf("source %v with error %v", src, err)
			}
			checkErrorHasNoSecret(t, data, err)
			return
		}
		if src.Name() != name {
			t.Fatalf("Name() = %q", src.Name())
		}

		// The test's own reading of the keys.
		var doc struct {
			Auths map[string]json.RawMessage `json:"auths"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("parsed, but encoding/json says %v", err)
		}
		keys := make(map[string]bool)
		for k := range doc.Auths {
			h, err := NormalizeHost(k)
			if err != nil {
				t.Fatalf("parsed, but key %q is invalid: %v", k, err)
			}
			keys[h] = true
			if _, _, err := src.Lookup(ctx, k); err != nil {
				t.Fatalf("Lookup(key %q): %v", k, err)
			}
		}

		cred, ok, err := src.Lookup(ctx, host)
		if err != nil {
			if _, nerr := NormalizeHost(host); nerr == nil {
				t.Fatalf("Lookup(%q) failed for a valid host: %v", host, err)
			}
			return
		}
		if ok == cred.IsEmpty() {
			t.Fatalf("Lookup(%q) = %v, ok=%v", host, cred, ok)
		}
		if ok {
			h, _ := NormalizeHost(host)
			if !keys[h] {
				t.Fatalf("Lookup(%q) returned credentials, but no key normalises to %q (keys %v)", host, h, keys)
			}
		}
	})
}

// checkErrorHasNoSecret fails if err shows a string value of the input that
// may be a secret. Keys are not secret and may appear; so may the fixed words
// of the messages, hence the length and marker rules.
func checkErrorHasNoSecret(t *testing.T, data []byte, err error) {
	t.Helper()
	msg := err.Error()
	if strings.Contains(msg, "SECRET") {
		// Seeds mark secrets with SECRET; it may only appear inside a key.
		stripped := msg
		for _, k := range jsonKeys(data) {
			stripped = strings.ReplaceAll(stripped, quoteHost(k), "")
			stripped = strings.ReplaceAll(stripped, k, "")
		}
		if strings.Contains(stripped, "SECRET") {
			t.Fatalf("error shows a secret: %s", msg)
		}
	}
}

// jsonKeys returns the object keys at the top level and one level down,
// where parsing may quote them.
func jsonKeys(data []byte) []string {
	var top map[string]json.RawMessage
	if json.Unmarshal(data, &top) != nil {
		return nil
	}
	var keys []string
	for k, v := range top {
		keys = append(keys, k)
		var inner map[string]json.RawMessage
		if json.Unmarshal(v, &inner) == nil {
			for k := range inner {
				keys = append(keys, k)
			}
		}
	}
	return keys
}
