package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	specs "github.com/opencontainers/image-spec/specs-go"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

const testSHA = "0123456789abcdef0123456789abcdef01234567"

// pushArtifact pushes a small artifact to reg at repo:tag and returns it pinned.
func pushArtifact(t testing.TB, reg *registry.Registry, repo, tag, content string) artifact.Reference {
	t.Helper()
	ref, err := artifact.ParseReference("oci://" + reg.Host() + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := artifact.BuildFromFiles(map[string][]byte{"cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + content + "\n")})
	if err != nil {
		t.Fatal(err)
	}
	meta := artifact.Metadata{
		Source:   "https://github.com/acme/app",
		Revision: "main@sha1:" + testSHA,
		Created:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	c := remote.New(remote.Options{Credentials: nil})
	res, err := c.Push(context.Background(), ref, layer, meta, remote.DefaultPushOptions())
	if err != nil {
		t.Fatal(err)
	}
	return res.Reference
}

// keyPair writes a fresh cosign key pair with password to a test directory.
func keyPair(t testing.TB, password string) (priv, pub string) {
	t.Helper()
	kp, err := sign.GenerateKeyPair([]byte(password))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	if err := os.WriteFile(priv, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pub, kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

func loadKey(t testing.TB, path, password string) *sign.SigningKey {
	t.Helper()
	k, err := sign.LoadSigningKey(context.Background(), path, sign.KeyOptions{Password: func() ([]byte, error) { return []byte(password), nil }})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keySign signs ref with key (package sign, anonymous registry access), without a
// transparency log.
func keySign(t testing.TB, ref artifact.Reference, key *sign.SigningKey, format verify.Format) *sign.Result {
	t.Helper()
	res, err := sign.New(sign.ClientOptions{}).Sign(context.Background(), ref, sign.Options{Key: key, Format: format})
	if err != nil {
		t.Fatalf("sign %s: %v", ref, err)
	}
	return res
}

func mustParse(t testing.TB, s string) artifact.Reference {
	t.Helper()
	r, err := artifact.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var specsV2 = specs.Versioned{SchemaVersion: 2}
