package cli_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/cli"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/internal/testenv/sigstoretest"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

func pushArgs(url, src string, extra ...string) []string {
	return append([]string{"push", url, "--path", src, "--source", "https://github.com/acme/app",
		"--revision", "main@sha1:" + sha, "--created", "2026-01-02T03:04:05Z"}, extra...)
}

func TestKeySignVerify(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	dir := t.TempDir()
	env := map[string]string{"HOME": t.TempDir(), "COSIGN_PASSWORD": "s3cret"}
	prefix := filepath.Join(dir, "ci")
	src := writeTree(t, map[string]string{"cm.yaml": cm})
	url := "oci://" + reg.Host() + "/signed/app"

	r := run(t, env, "key", "generate", "--output-key-prefix", prefix, "-o", "json")
	var kg struct{ PrivateKey, PublicKey, KeyID string }
	if r.code != 0 || json.Unmarshal([]byte(r.out), &kg) != nil || kg.PrivateKey != prefix+".key" || !strings.HasPrefix(kg.KeyID, "sha256:") {
		t.Fatalf("key generate: %+v", r)
	}
	if fi, err := os.Stat(prefix + ".key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi.Mode(), err)
	}
	if r := run(t, env, "key", "generate", "--output-key-prefix", prefix); r.code != cli.ExitUsage || !strings.Contains(r.err, "exists") {
		t.Fatalf("overwrite: %+v", r)
	}
	if r := run(t, env, "key", "public", "--key", prefix+".key"); r.code != 0 || r.out != string(must(os.ReadFile(prefix+".pub"))) {
		t.Fatalf("key public: %+v", r)
	}

	// push --sign: signed in the same step, the digest printed and in the JSON
	r = run(t, env, append(pushArgs(url+":v1", src), "--sign", "--key", prefix+".key", "--tlog-upload=false", "-o", "json")...)
	var pushed struct {
		Digest    string
		Signature struct {
			Digest, Format, Signature string
			Signer                    struct{ Key, KeyID string }
		}
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &pushed) != nil {
		t.Fatalf("push --sign: %+v", r)
	}
	if pushed.Signature.Digest != pushed.Digest || pushed.Signature.Format != "cosign" || pushed.Signature.Signer.KeyID != kg.KeyID ||
		!strings.HasSuffix(pushed.Signature.Signature, ":sha256-"+strings.TrimPrefix(pushed.Digest, "sha256:")+".sig") {
		t.Fatalf("push --sign output %+v", pushed)
	}

	// verify by tag: the tag is resolved and the digest printed
	r = run(t, env, "verify", url+":v1", "--key", prefix+".pub", "--insecure-ignore-tlog")
	if r.code != 0 || strings.TrimSpace(r.out) != url+":v1@"+pushed.Digest || !strings.Contains(r.err, "verified "+pushed.Digest+" (tag v1)") {
		t.Fatalf("verify: %+v", r)
	}
	r = run(t, env, "verify", url+"@"+pushed.Digest, "--key", prefix+".pub", "--insecure-ignore-tlog", "-o", "json")
	var vr struct {
		Digest, Format string
		Signer         struct{ Key, KeyID string }
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &vr) != nil || vr.Digest != pushed.Digest || vr.Signer.KeyID != kg.KeyID || vr.Signer.Key != prefix+".pub" {
		t.Fatalf("verify -o json: %+v", r)
	}

	// the log is required unless told otherwise; this signature has no entry: refused,
	// offline, as a verification failure
	r = run(t, env, "verify", url+":v1", "--key", prefix+".pub")
	if r.code != cli.ExitVerifyFailed || !strings.Contains(r.err, "no transparency-log entry") {
		t.Fatalf("verify requiring the log: %+v", r)
	}

	// signing again with the same key does nothing
	r = run(t, env, "sign", url+":v1", "--key", prefix+".key", "--tlog-upload=false")
	if r.code != 0 || !strings.Contains(r.err, "already signed: "+pushed.Digest+" (tag v1)") {
		t.Fatalf("sign again: %+v", r)
	}

	// another key: exit 7
	other := filepath.Join(dir, "other")
	run(t, env, "key", "generate", "--output-key-prefix", other)
	r = run(t, env, "verify", url+":v1", "--key", other+".pub", "--insecure-ignore-tlog")
	if r.code != cli.ExitVerifyFailed || !strings.Contains(r.err, "none of the 1 signature(s)") {
		t.Fatalf("verify with another key: %+v", r)
	}
	// either of two keys
	r = run(t, env, "verify", url+":v1", "--key", other+".pub", "--key", prefix+".pub", "--insecure-ignore-tlog")
	if r.code != 0 {
		t.Fatalf("verify with two keys: %+v", r)
	}

	// an unsigned artifact: exit 7
	src2 := writeTree(t, map[string]string{"cm.yaml": strings.Replace(cm, `"1"`, `"2"`, 1)})
	if r := run(t, env, pushArgs(url+":v2", src2)...); r.code != 0 {
		t.Fatalf("push: %+v", r)
	}
	r = run(t, env, "verify", url+":v2", "--key", prefix+".pub", "--insecure-ignore-tlog")
	if r.code != cli.ExitVerifyFailed || !strings.Contains(r.err, "no signatures found") {
		t.Fatalf("verify unsigned: %+v", r)
	}

	// sign by tag, in the bundle format
	r = run(t, env, "sign", url+":v2", "--key", prefix+".key", "--tlog-upload=false", "--new-bundle-format")
	if r.code != 0 || !strings.Contains(r.err, "(tag v2)") || !strings.Contains(r.err, "bundle format") {
		t.Fatalf("sign --new-bundle-format: %+v", r)
	}
	r = run(t, env, "verify", url+":v2", "--key", prefix+".pub", "--insecure-ignore-tlog", "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"format": "bundle"`) {
		t.Fatalf("verify bundle: %+v", r)
	}

	// a policy file, as the puller reads it
	policy := filepath.Join(dir, "policy.yaml")
	os.WriteFile(policy, []byte("keys:\n  - "+prefix+".pub\ninsecureIgnoreTlog: true\n"), 0o644)
	if r := run(t, env, "verify", url+":v1", "--policy", policy); r.code != 0 {
		t.Fatalf("verify --policy: %+v", r)
	}
	os.WriteFile(policy, []byte("keys: [a.pub]\nnoSuchField: true\n"), 0o644)
	if r := run(t, env, "verify", url+":v1", "--policy", policy); r.code != cli.ExitUsage || !strings.Contains(r.err, "noSuchField") {
		t.Fatalf("verify --policy with an unknown field: %+v", r)
	}
}

func TestSignErrors(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	dir := t.TempDir()
	env := map[string]string{"HOME": t.TempDir(), "COSIGN_PASSWORD": "right"}
	prefix := filepath.Join(dir, "k")
	run(t, env, "key", "generate", "--output-key-prefix", prefix)
	src := writeTree(t, map[string]string{"cm.yaml": cm})
	url := "oci://" + reg.Host() + "/errors/app"

	// a wrong password fails before anything is pushed, and shows no key material
	wrong := map[string]string{"HOME": env["HOME"], "COSIGN_PASSWORD": "wrong"}
	r := run(t, wrong, append(pushArgs(url+":v1", src), "--sign", "--key", prefix+".key")...)
	if r.code != cli.ExitUsage || !strings.Contains(r.err, "wrong password (COSIGN_PASSWORD)") || strings.Contains(r.err, "BEGIN") {
		t.Fatalf("wrong password: %+v", r)
	}
	if r := run(t, env, "inspect", url+":v1"); r.code != cli.ExitNotFound {
		t.Fatalf("pushed despite the wrong password: %+v", r)
	}
	// so does an OIDC token Fulcio would refuse: expired, or for another audience (and
	// the token is not quoted)
	enc := base64.RawURLEncoding.EncodeToString
	for _, claims := range []string{`{"aud":"sigstore","exp":1000000000}`, `{"aud":"gitlab","exp":4000000000}`} {
		tok := enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
		r := run(t, env, append(pushArgs(url+":v1", src), "--sign", "--identity-token", tok)...)
		if r.code != cli.ExitUsage || !strings.Contains(r.err, "unusable OIDC token") || strings.Contains(r.err, tok[:20]) {
			t.Fatalf("token %s: %+v", claims, r)
		}
		if r := run(t, env, "inspect", url+":v1"); r.code != cli.ExitNotFound {
			t.Fatalf("pushed despite the token %s: %+v", claims, r)
		}
	}

	for name, tc := range map[string]struct {
		args []string
		msg  string
	}{
		"signing flag without --sign": {append(pushArgs(url+":v1", src), "--key", prefix+".key"), "--key given without --sign"},
		"no key, no token":            {[]string{"sign", url + ":v1"}, "no key and no OIDC token"},
		"key and token":               {[]string{"sign", url + ":v1", "--key", prefix + ".key", "--identity-token", "a.b.c"}, "exclusive"},
		"verify without a policy":     {[]string{"verify", url + ":v1"}, "say whom to trust"},
		"github claim alone":          {[]string{"verify", url + ":v1", "--certificate-github-workflow-repository", "a/b"}, "need --certificate-identity"},
		"identity without issuer":     {[]string{"verify", url + ":v1", "--certificate-identity", "x"}, "issuer"},
		"bad regexp":                  {[]string{"verify", url + ":v1", "--certificate-identity-regexp", "((", "--certificate-oidc-issuer", "i"}, "subjectRegexp"},
		"policy and flags":            {[]string{"verify", url + ":v1", "--policy", "p.yaml", "--key", "k.pub"}, "exclusive"},
		"missing key file":            {[]string{"sign", url + ":v1", "--key", "/nonexistent.key"}, "nonexistent"},
	} {
		r := run(t, env, tc.args...)
		if r.code != cli.ExitUsage || !strings.Contains(r.err, tc.msg) {
			t.Errorf("%s: %+v", name, r)
		}
	}

	// an unreachable registry: could not check, exit 8
	r = run(t, env, "verify", "oci://127.0.0.1:1/app@sha256:"+strings.Repeat("a", 64), "--key", prefix+".pub", "--insecure-ignore-tlog")
	if r.code != cli.ExitUnavailable || !strings.Contains(r.err, "could not check") {
		t.Fatalf("unreachable registry: %+v", r)
	}
	// the same by tag: the tag cannot be resolved, which is as unavailable, exit 8
	r = run(t, env, "verify", "oci://127.0.0.1:1/app:v1", "--key", prefix+".pub", "--insecure-ignore-tlog")
	if r.code != cli.ExitUnavailable || !strings.Contains(r.err, "could not check") || !strings.Contains(r.err, "resolving 127.0.0.1:1/app") {
		t.Fatalf("unreachable registry, by tag: %+v", r)
	}
	// a bad tag name is a usage error, found before any registry is asked (this one
	// cannot be reached)
	if r := run(t, env, "tag", "oci://127.0.0.1:1/app:v1", "--tag", "ok", "--tag", "no good"); r.code != cli.ExitUsage || !strings.Contains(r.err, `tag "no good"`) {
		t.Fatalf("tag with a bad name: %+v", r)
	}
	// a tag that is not there is not found (6), not unavailable
	if r := run(t, env, "verify", url+":nope", "--key", prefix+".pub", "--insecure-ignore-tlog"); r.code != cli.ExitNotFound {
		t.Fatalf("a missing tag: %+v", r)
	}
}

func TestKeylessSignVerify(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	root := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{})
	claims := sigstoretest.GitHubClaims{Repository: "acme/app", Ref: "refs/heads/main", SHA: sha}
	reqURL, reqTok := ss.ActionsTokenEndpoint(t, ss.GitHubToken(claims))
	// what a GitHub Actions job with id-token: write sees
	env := map[string]string{"HOME": t.TempDir(), "ACTIONS_ID_TOKEN_REQUEST_URL": reqURL, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": reqTok}
	src := writeTree(t, map[string]string{"cm.yaml": cm})
	url := "oci://" + reg.Host() + "/keyless/app"
	sigstore := []string{"--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL, "--trusted-root", root}

	r := run(t, env, append(append(pushArgs(url+":"+sha[:7], src), "--sign"), sigstore...)...)
	if r.code != 0 || !strings.Contains(r.err, "GitHub Actions") || !strings.Contains(r.err, "transparency log entry 0") {
		t.Fatalf("push --sign keyless: %+v", r)
	}
	subject := sigstoretest.GitHubSubject(claims)
	verifyArgs := []string{"verify", url + ":" + sha[:7], "--trusted-root", root,
		"--certificate-oidc-issuer", sigstoretest.GitHubIssuer,
		"--certificate-identity-regexp", `https://github\.com/acme/app/\.github/workflows/.*`,
		"--certificate-github-workflow-repository", "acme/app", "--certificate-github-workflow-ref", "refs/heads/main",
		"--match-revision", "-o", "json"}
	r = run(t, env, verifyArgs...)
	var vr struct {
		Digest string
		Signer struct {
			Issuer, Subject string
			GitHub          struct{ Repository, SHA string }
		}
		Tlog struct {
			LogIndex int
			Verified bool
		}
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &vr) != nil || vr.Signer.Subject != subject || vr.Signer.GitHub.SHA != sha || !vr.Tlog.Verified {
		t.Fatalf("verify keyless: %+v", r)
	}

	// an unanchored-looking pattern for another organisation does not match
	r = run(t, env, "verify", url+":"+sha[:7], "--trusted-root", root, "--certificate-oidc-issuer", sigstoretest.GitHubIssuer,
		"--certificate-identity-regexp", `https://github\.com/acm`)
	if r.code != cli.ExitVerifyFailed || !strings.Contains(r.err, "does not match") {
		t.Fatalf("prefix regexp: %+v", r)
	}

	// GitLab's SIGSTORE_ID_TOKEN and --identity-token, bundle format
	gitlab := map[string]string{"HOME": env["HOME"], "SIGSTORE_ID_TOKEN": ss.Token(map[string]any{"sub": "project_path:acme/app:ref_type:branch:ref:main", "email": "ci@acme.example", "email_verified": true})}
	r = run(t, gitlab, append([]string{"sign", url + ":" + sha[:7], "--new-bundle-format"}, sigstore...)...)
	if r.code != 0 || !strings.Contains(r.err, "SIGSTORE_ID_TOKEN") || !strings.Contains(r.err, "ci@acme.example") {
		t.Fatalf("sign with SIGSTORE_ID_TOKEN: %+v", r)
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte(ss.Token(map[string]any{"sub": "x", "email": "dev@acme.example", "email_verified": true})+"\n"), 0o600)
	r = run(t, map[string]string{"HOME": env["HOME"]}, append([]string{"sign", url + ":" + sha[:7], "--identity-token", tokFile}, sigstore...)...)
	if r.code != 0 || !strings.Contains(r.err, "dev@acme.example") {
		t.Fatalf("sign --identity-token FILE: %+v", r)
	}
	r = run(t, env, "verify", url+":"+sha[:7], "--trusted-root", root, "--certificate-oidc-issuer", sigstoretest.GitHubIssuer,
		"--certificate-identity", "ci@acme.example", "-o", "json")
	if r.code != 0 || !strings.Contains(r.out, `"format": "bundle"`) {
		t.Fatalf("verify the GitLab-signed bundle: %+v", r)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
