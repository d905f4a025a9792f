package sign_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

func pushArtifact(t *testing.T, host, repo, tag string) artifact.Reference {
	t.Helper()
	ref, err := artifact.ParseReference("oci://" + host + "/" + repo + ":" + tag)
	if err != nil {
		t.Fatal(err)
	}
	layer, err := artifact.BuildFromFiles(map[string][]byte{"cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := remote.New(remote.Options{}).Push(context.Background(), ref, layer, artifact.Metadata{Created: time.Unix(1, 0)}, remote.DefaultPushOptions())
	if err != nil {
		t.Fatal(err)
	}
	return res.Reference
}

func keyPair(t *testing.T) (*sign.SigningKey, string) {
	t.Helper()
	kp, err := sign.GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")
	os.WriteFile(priv, kp.PrivatePEM, 0o600)
	os.WriteFile(pub, kp.PublicPEM, 0o644)
	k, err := sign.LoadSigningKey(context.Background(), priv, sign.KeyOptions{Password: func() ([]byte, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return k, pub
}

// Signing a tag on a registry that answers HEAD on manifests with 405 resolves it with
// one GET, as every other registry call of gitless does (artifact/remote). Signing had
// its own resolve, HEAD only, and failed there.
func TestSignResolvesWhenHEADIsRefused(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	target, _ := url.Parse(reg.URL())
	proxy := httputil.NewSingleHostReverseProxy(target)
	var refused atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead && strings.Contains(r.URL.Path, "/manifests/") {
			refused.Add(1)
			rw.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	pinned := pushArtifact(t, reg.Host(), "head/app", "v1")
	key, pub := keyPair(t)

	ref, _ := artifact.ParseReference("oci://" + host + "/head/app:v1")
	res, err := sign.New(sign.ClientOptions{}).Sign(context.Background(), ref, sign.Options{Key: key})
	if err != nil {
		t.Fatalf("sign through a registry that refuses HEAD: %v", err)
	}
	if res.Digest != pinned.Digest || refused.Load() == 0 {
		t.Fatalf("signed %s (want %s), %d HEAD refused", res.Digest, pinned.Digest, refused.Load())
	}
	v, err := verify.New(verify.Options{}).Verify(context.Background(), ref.WithDigest(res.Digest), &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true})
	if err != nil || v.Digest != pinned.Digest {
		t.Fatalf("verify: %+v %v", v, err)
	}
}
