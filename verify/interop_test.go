package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/internal/testenv/sigstoretest"
	"github.com/gitless-dev/gitless/verify"
)

// TestInteropCosignCLIs: the stock cosign CLIs of both lines (v2.6.5 as cosign2, v3.1.3
// as cosign, built from the module proxy by hack/build-peers.sh) verify what gitless
// signs, and gitless verifies what they sign, with keys and offline.
func TestInteropCosignCLIs(t *testing.T) {
	bin := peersBin(t, "cosign", "cosign2")
	cosign3, cosign2 := filepath.Join(bin, "cosign"), filepath.Join(bin, "cosign2")
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	c := verify.New(verify.Options{})
	const pw = "interop"
	env := []string{"COSIGN_PASSWORD=" + pw}

	// A key pair made by gitless, and one made by each cosign.
	gPriv, gPub := keyPair(t, pw)
	dir := t.TempDir()
	peer(t, cosign3, env, true, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "c3"))
	peer(t, cosign2, env, true, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "c2"))
	keys := map[string][2]string{
		"gitless": {gPriv, gPub},
		"cosign3": {filepath.Join(dir, "c3.key"), filepath.Join(dir, "c3.pub")},
		"cosign2": {filepath.Join(dir, "c2.key"), filepath.Join(dir, "c2.pub")},
	}

	t.Run("cosign verifies gitless", func(t *testing.T) {
		for kname, kp := range keys {
			ref := pushArtifact(t, reg, "interop/gitless-signs-"+kname, "v1", "a-"+kname)
			keySign(t, ref, loadKey(t, kp[0], pw), verify.FormatCosign)
			for _, cos := range []string{cosign2, cosign3} {
				out := peer(t, cos, env, true, "verify", "--key", kp[1], "--insecure-ignore-tlog=true", strings.TrimPrefix(ref.String(), "oci://"))
				if !strings.Contains(out, ref.Digest.String()) {
					t.Errorf("%s verify output does not name %s:\n%s", filepath.Base(cos), ref.Digest, out)
				}
			}
		}
	})

	t.Run("gitless bundle verifies with cosign v3", func(t *testing.T) {
		ref := pushArtifact(t, reg, "interop/gitless-bundle", "v1", "bundle")
		keySign(t, ref, loadKey(t, gPriv, pw), verify.FormatBundle)
		peer(t, cosign3, env, true, "verify", "--key", gPub, "--insecure-ignore-tlog=true", strings.TrimPrefix(ref.String(), "oci://"))
	})

	t.Run("gitless verifies cosign", func(t *testing.T) {
		cases := []struct {
			name string
			bin  string
			args []string
			want verify.Format
		}{
			{"cosign2 default", cosign2, []string{"--tlog-upload=false"}, verify.FormatCosign},
			{"cosign3 legacy", cosign3, []string{"--tlog-upload=false", "--use-signing-config=false", "--new-bundle-format=false"}, verify.FormatCosign},
			{"cosign3 default bundle", cosign3, []string{"--tlog-upload=false", "--use-signing-config=false"}, verify.FormatBundle},
		}
		for _, tc := range cases {
			for kname, kp := range keys {
				t.Run(tc.name+" key "+kname, func(t *testing.T) {
					repo := "interop/" + strings.ReplaceAll(tc.name, " ", "-") + "-" + kname
					ref := pushArtifact(t, reg, repo, "v1", repo)
					args := append([]string{"sign", "--key", kp[0], "-y"}, tc.args...)
					peer(t, tc.bin, env, true, append(args, strings.TrimPrefix(ref.String(), "oci://"))...)
					res, err := c.Verify(ctx, ref, &verify.Policy{Keys: []string{kp[1]}, InsecureIgnoreTlog: true})
					if err != nil {
						t.Fatalf("gitless verify: %v", err)
					}
					if res.Format != tc.want || res.Digest != ref.Digest {
						t.Fatalf("verified %+v, want format %s", res, tc.want)
					}
					// and not with another key
					_, other := keyPair(t, pw)
					if _, err := c.Verify(ctx, ref, &verify.Policy{Keys: []string{other}, InsecureIgnoreTlog: true}); err == nil {
						t.Fatal("verified with another key")
					}
				})
			}
		}
	})

	// The signature image gitless appends to keeps what cosign put there.
	t.Run("append to cosign's signatures", func(t *testing.T) {
		ref := pushArtifact(t, reg, "interop/append", "v1", "append")
		peer(t, cosign2, env, true, "sign", "--key", keys["cosign2"][0], "-y", "--tlog-upload=false", strings.TrimPrefix(ref.String(), "oci://"))
		keySign(t, ref, loadKey(t, gPriv, pw), verify.FormatCosign)
		for _, pub := range []string{keys["cosign2"][1], gPub} {
			peer(t, cosign2, env, true, "verify", "--key", pub, "--insecure-ignore-tlog=true", strings.TrimPrefix(ref.String(), "oci://"))
			if _, err := c.Verify(ctx, ref, &verify.Policy{Keys: []string{pub}, InsecureIgnoreTlog: true}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestInteropCosignKeyless: keyless signatures of the local Sigstore (Fulcio-like CA,
// Rekor-like log) made by gitless verify with both cosign CLIs, offline: cosign v3 with the
// trusted root, cosign v2 with the CA chain and the log's key.
func TestInteropCosignKeyless(t *testing.T) {
	bin := peersBin(t, "cosign", "cosign2")
	cosign3, cosign2 := filepath.Join(bin, "cosign"), filepath.Join(bin, "cosign2")
	reg := registry.NewT(t, registry.Options{})
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	root := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{})
	dir := t.TempDir()
	chain, rootPEM := ss.ChainPEM()
	chainFile, rootFile, rekorPub := filepath.Join(dir, "chain.pem"), filepath.Join(dir, "root.pem"), filepath.Join(dir, "rekor.pub")
	os.WriteFile(chainFile, chain, 0o644)
	os.WriteFile(rootFile, rootPEM, 0o644)
	os.WriteFile(rekorPub, ss.Log.PublicKeyPEM(), 0o644)
	id := []string{"--certificate-identity", sigstoretest.GitHubSubject(acme), "--certificate-oidc-issuer", sigstoretest.GitHubIssuer,
		"--certificate-github-workflow-repository", "acme/app", "--insecure-ignore-sct"}

	ref := pushArtifact(t, reg, "interop/keyless", "v1", "keyless")
	keylessSign(t, ss, ref, acme, verify.FormatCosign, true)
	img := strings.TrimPrefix(ref.String(), "oci://")

	// cosign v3: the trusted root, transparency log checked
	peer(t, cosign3, nil, true, append([]string{"verify", "--trusted-root", root, img}, id...)...)
	// cosign v2: the chain, and the log's key for the entry
	peer(t, cosign2, []string{"SIGSTORE_REKOR_PUBLIC_KEY=" + rekorPub}, true, append([]string{"verify", "--certificate-chain", chainFile, img}, id...)...)
	// and neither accepts another identity
	peer(t, cosign3, nil, false, "verify", "--trusted-root", root, img, "--certificate-identity", "https://github.com/acme-evil/app/.github/workflows/release.yml@refs/heads/main",
		"--certificate-oidc-issuer", sigstoretest.GitHubIssuer, "--insecure-ignore-sct")

	// the bundle format, with cosign v3
	bref := pushArtifact(t, reg, "interop/keyless-bundle", "v1", "keyless-bundle")
	keylessSign(t, ss, bref, acme, verify.FormatBundle, true)
	peer(t, cosign3, nil, true, append([]string{"verify", "--trusted-root", root, strings.TrimPrefix(bref.String(), "oci://")}, id...)...)
}

// TestInteropCosignKeylessSigning: cosign v2 signs keylessly against the local Fulcio and
// Rekor; gitless verifies its certificate, identity and log entry.
func TestInteropCosignKeylessSigning(t *testing.T) {
	bin := peersBin(t, "cosign2")
	cosign2 := filepath.Join(bin, "cosign2")
	reg := registry.NewT(t, registry.Options{})
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	c := verify.New(verify.Options{})
	dir := t.TempDir()
	_, rootPEM := ss.ChainPEM()
	rootFile := filepath.Join(dir, "root.pem")
	os.WriteFile(rootFile, rootPEM, 0o644)

	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(ss.GitHubToken(acme)), 0o600)
	ref := pushArtifact(t, reg, "interop/cosign-keyless", "v1", "cosign-keyless")
	peer(t, cosign2, []string{"SIGSTORE_ROOT_FILE=" + rootFile}, true, "sign", "-y",
		"--fulcio-url", ss.FulcioURL, "--rekor-url", ss.RekorURL, "--identity-token", tokenFile,
		"--insecure-skip-verify", strings.TrimPrefix(ref.String(), "oci://"))
	res, err := c.Verify(context.Background(), ref, &verify.Policy{
		Identities:  []verify.Identity{{Issuer: sigstoretest.GitHubIssuer, SubjectRegexp: `https://github\.com/acme/app/.*`, GitHub: verify.GitHubClaims{Repository: "acme/app"}}},
		TrustedRoot: ss.WriteTrustedRoot(t, sigstoretest.RootOptions{}),
	})
	if err != nil {
		t.Fatalf("verify cosign's keyless signature: %v", err)
	}
	if res.Tlog == nil || !res.Tlog.Verified || res.Signer.Subject != sigstoretest.GitHubSubject(acme) {
		t.Fatalf("result %+v", res)
	}
}
