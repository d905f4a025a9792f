package verify_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/kms/fake"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/internal/testenv/sigstoretest"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

func TestWrongPasswordSaysSoWithoutKeyMaterial(t *testing.T) {
	priv, _ := keyPair(t, "right")
	pemBytes, _ := os.ReadFile(priv)
	_, err := sign.LoadSigningKey(context.Background(), priv, sign.KeyOptions{Getenv: func(k string) string {
		if k == sign.PasswordEnv {
			return "wrong"
		}
		return ""
	}})
	if !errors.Is(err, sign.ErrKey) || !strings.Contains(err.Error(), "wrong password (COSIGN_PASSWORD)") {
		t.Fatalf("error %v", err)
	}
	block, _ := pem.Decode(pemBytes)
	enc := base64.StdEncoding.EncodeToString(block.Bytes)
	for i := 0; i+12 <= len(enc); i += 4 {
		if strings.Contains(err.Error(), enc[i:i+12]) {
			t.Fatalf("the error shows key material: %v", err)
		}
	}
	// and the right password works, read from COSIGN_PASSWORD
	if _, err := sign.LoadSigningKey(context.Background(), priv, sign.KeyOptions{Getenv: func(k string) string { return map[string]string{sign.PasswordEnv: "right"}[k] }}); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"not PEM": "hello", "public key": string(must(os.ReadFile(strings.TrimSuffix(priv, ".key") + ".pub")))} {
		_, err := sign.LoadSigningKey(context.Background(), writeFile(t, content), sign.KeyOptions{})
		if !errors.Is(err, sign.ErrKey) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestKeyReferences(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	c := verify.New(verify.Options{Getenv: func(k string) string { return os.Getenv(k) }})
	priv, pub := keyPair(t, "envpw")
	t.Setenv("GITLESS_TEST_KEY", string(must(os.ReadFile(priv))))
	t.Setenv("GITLESS_TEST_PUB", string(must(os.ReadFile(pub))))

	// env:// for the private and the public key
	key, err := sign.LoadSigningKey(ctx, "env://GITLESS_TEST_KEY", sign.KeyOptions{Password: func() ([]byte, error) { return []byte("envpw"), nil }})
	if err != nil {
		t.Fatal(err)
	}
	ref := pushArtifact(t, reg, "keys/env", "v1", "env")
	keySign(t, ref, key, verify.FormatCosign)
	res, err := c.Verify(ctx, ref, &verify.Policy{Keys: []string{"env://GITLESS_TEST_PUB"}, InsecureIgnoreTlog: true})
	if err != nil || res.Signer.Key != "env://GITLESS_TEST_PUB" {
		t.Fatalf("env key: %+v %v", res, err)
	}
	// inline PEM in the policy
	res, err = c.Verify(ctx, ref, &verify.Policy{Keys: []string{string(must(os.ReadFile(pub)))}, InsecureIgnoreTlog: true})
	if err != nil || res.Signer.Key != "keys[0] (inline PEM)" {
		t.Fatalf("inline key: %+v %v", res, err)
	}

	// a KMS key, through the sigstore KMS registry (its in-memory provider)
	kpriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kctx := context.WithValue(ctx, fake.KmsCtxKey{}, crypto.PrivateKey(kpriv))
	kmsKey, err := sign.LoadSigningKey(kctx, "fakekms://gitless-test", sign.KeyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kref := pushArtifact(t, reg, "keys/kms", "v1", "kms")
	if _, err := sign.New(sign.ClientOptions{}).Sign(kctx, kref, sign.Options{Key: kmsKey}); err != nil {
		t.Fatal(err)
	}
	kpem, _ := cryptoutils.MarshalPublicKeyToPEM(kpriv.Public())
	if _, err := c.Verify(kctx, kref, &verify.Policy{Keys: []string{string(kpem)}, InsecureIgnoreTlog: true}); err != nil {
		t.Fatalf("verify a KMS signature with its PEM: %v", err)
	}
	if res, err := c.Verify(kctx, kref, &verify.Policy{Keys: []string{"fakekms://gitless-test"}, InsecureIgnoreTlog: true}); err != nil || res.Signer.Key != "fakekms://gitless-test" {
		t.Fatalf("verify with the KMS key reference: %+v %v", res, err)
	}
	if _, err := sign.LoadSigningKey(ctx, "nosuchkms://key", sign.KeyOptions{}); !errors.Is(err, sign.ErrKey) {
		t.Fatalf("unknown KMS: %v", err)
	}
}

func TestSigningAgainIsANoOp(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	c := verify.New(verify.Options{})
	priv, pub := keyPair(t, "")
	key := loadKey(t, priv, "")
	ref := pushArtifact(t, reg, "again/app", "v1", "again")
	if first := keySign(t, ref, key, verify.FormatCosign); first.AlreadySigned {
		t.Fatal("first signature reported as already there")
	}
	second := keySign(t, ref, key, verify.FormatCosign)
	if !second.AlreadySigned {
		t.Fatal("second signature with the same key was made again")
	}
	// another key appends
	priv2, pub2 := keyPair(t, "")
	if res := keySign(t, ref, loadKey(t, priv2, ""), verify.FormatCosign); res.AlreadySigned {
		t.Fatal("another key's signature skipped")
	}
	for _, p := range []string{pub, pub2} {
		if _, err := c.Verify(ctx, ref, &verify.Policy{Keys: []string{p}, InsecureIgnoreTlog: true}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.Verify(ctx, ref, &verify.Policy{Keys: []string{pub2}, InsecureIgnoreTlog: true})
	if err != nil || res.Signatures != 2 {
		t.Fatalf("%+v %v: want 2 signatures looked at", res, err)
	}
}

func TestDetectIDToken(t *testing.T) {
	ctx := context.Background()
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	tok := ss.GitHubToken(acme)
	url, reqTok := ss.ActionsTokenEndpoint(t, tok)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	got, src, err := sign.DetectIDToken(ctx, sign.IDTokenOptions{Getenv: env(map[string]string{
		sign.EnvGitHubTokenURL: url, sign.EnvGitHubTokenRequest: reqTok})})
	if err != nil || got != tok || !strings.Contains(src, "GitHub Actions") {
		t.Fatalf("GitHub Actions: %q %q %v", got, src, err)
	}
	got, src, err = sign.DetectIDToken(ctx, sign.IDTokenOptions{Getenv: env(map[string]string{sign.EnvSigstoreIDToken: "gitlab-token"})})
	if err != nil || got != "gitlab-token" || src != sign.EnvSigstoreIDToken {
		t.Fatalf("GitLab: %q %q %v", got, src, err)
	}
	got, _, err = sign.DetectIDToken(ctx, sign.IDTokenOptions{Getenv: env(nil)})
	if err != nil || got != "" {
		t.Fatalf("none: %q %v", got, err)
	}
	_, _, err = sign.DetectIDToken(ctx, sign.IDTokenOptions{Getenv: env(map[string]string{
		sign.EnvGitHubTokenURL: url, sign.EnvGitHubTokenRequest: "wrong"})})
	if !errors.Is(err, sign.ErrSigning) || !strings.Contains(err.Error(), "id-token: write") {
		t.Fatalf("refused: %v", err)
	}
}

func TestKeylessSigningErrors(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	c := verify.New(verify.Options{})
	ref := pushArtifact(t, reg, "kerr/app", "v1", "kerr")
	other := sigstoretest.Start(t, sigstoretest.Options{}) // another issuer key: Fulcio refuses its tokens
	for name, opts := range map[string]sign.Options{
		"no token":      {Keyless: sign.KeylessOptions{FulcioURL: ss.FulcioURL}},
		"not a JWT":     {Keyless: sign.KeylessOptions{FulcioURL: ss.FulcioURL, IDToken: "abc"}},
		"foreign token": {Keyless: sign.KeylessOptions{FulcioURL: ss.FulcioURL, IDToken: other.GitHubToken(acme)}},
		"fulcio down":   {Keyless: sign.KeylessOptions{FulcioURL: "http://127.0.0.1:1", IDToken: ss.GitHubToken(acme)}},
		"rekor down":    {Keyless: sign.KeylessOptions{FulcioURL: ss.FulcioURL, IDToken: ss.GitHubToken(acme)}, TlogUpload: true, RekorURL: "http://127.0.0.1:1"},
	} {
		_, err := sign.New(sign.ClientOptions{}).Sign(ctx, ref, opts)
		if !errors.Is(err, sign.ErrSigning) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The OIDC token never travels in the clear: a Fulcio over http off loopback is
	// refused before anything is sent.
	_, err := sign.New(sign.ClientOptions{}).Sign(ctx, ref, sign.Options{Keyless: sign.KeylessOptions{FulcioURL: "http://fulcio.example.invalid", IDToken: ss.GitHubToken(acme)}})
	if !errors.Is(err, sign.ErrSigning) || !strings.Contains(err.Error(), "not https") {
		t.Errorf("fulcio over http: %v", err)
	}
	// nothing was written
	if _, err := c.Verify(ctx, ref, &verify.Policy{Identities: []verify.Identity{acmeIdentity()}, TrustedRoot: ss.WriteTrustedRoot(t, sigstoretest.RootOptions{NoRekor: true}), InsecureIgnoreTlog: true}); !errors.Is(err, verify.ErrNoSignatures) {
		t.Fatalf("after failed signing: %v", err)
	}
}
