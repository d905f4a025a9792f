package verify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/internal/testenv/sigstoretest"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

var acme = sigstoretest.GitHubClaims{Repository: "acme/app", Ref: "refs/heads/main", SHA: testSHA, Workflow: "release", EventName: "push"}

// keylessSign signs ref keylessly through the test Fulcio with a GitHub token for g.
func keylessSign(t *testing.T, ss *sigstoretest.Sigstore, ref artifact.Reference, g sigstoretest.GitHubClaims, format verify.Format, tlog bool) *sign.Result {
	t.Helper()
	opts := sign.Options{
		Keyless:    sign.KeylessOptions{FulcioURL: ss.FulcioURL, IDToken: ss.GitHubToken(g)},
		TlogUpload: tlog,
		RekorURL:   ss.RekorURL,
		Format:     format,
	}
	res, err := sign.New(sign.ClientOptions{}).Sign(context.Background(), ref, opts)
	if err != nil {
		t.Fatalf("keyless sign: %v", err)
	}
	return res
}

func acmeIdentity() verify.Identity {
	return verify.Identity{Issuer: sigstoretest.GitHubIssuer, Subject: sigstoretest.GitHubSubject(acme)}
}

func TestKeylessRoundTrip(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	c := verify.New(verify.Options{})
	caOnly := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{NoRekor: true})
	withLog := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{})

	for _, format := range []verify.Format{verify.FormatCosign, verify.FormatBundle} {
		for _, tlog := range []bool{false, true} {
			name := string(format) + map[bool]string{false: " offline", true: " with rekor"}[tlog]
			t.Run(name, func(t *testing.T) {
				repo := "keyless/" + strings.ReplaceAll(name, " ", "-")
				ref := pushArtifact(t, reg, repo, "v1", repo)
				uploads := ss.Log.Uploads()
				sr := keylessSign(t, ss, ref.WithTag("v1"), acme, format, tlog)
				if sr.Digest != ref.Digest || sr.Signer.Subject != sigstoretest.GitHubSubject(acme) || sr.Signer.Issuer != sigstoretest.GitHubIssuer {
					t.Fatalf("sign result %+v", sr)
				}
				if got := ss.Log.Uploads() - uploads; (got == 1) != tlog || (tlog && sr.Tlog == nil) {
					t.Fatalf("%d uploads to the log, tlog entry %+v, want tlog=%v", got, sr.Tlog, tlog)
				}
				policy := &verify.Policy{
					Identities: []verify.Identity{{
						Issuer: sigstoretest.GitHubIssuer, SubjectRegexp: `https://github\.com/acme/app/\.github/workflows/.*@refs/heads/main`,
						GitHub: verify.GitHubClaims{Repository: "acme/app", Ref: "refs/heads/main", Workflow: "release", SHA: testSHA, Trigger: "push"},
					}},
					TrustedRoot:        caOnly,
					InsecureIgnoreTlog: true,
					MatchRevision:      true,
				}
				if tlog {
					policy.TrustedRoot, policy.InsecureIgnoreTlog = withLog, false
				}
				res, err := c.Verify(ctx, ref, policy)
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				want := verify.GitHubClaims{Repository: "acme/app", Ref: "refs/heads/main", Workflow: "release", SHA: testSHA, Trigger: "push"}
				if res.Format != format || res.Signer.Subject != sigstoretest.GitHubSubject(acme) || res.Signer.Issuer != sigstoretest.GitHubIssuer ||
					res.Signer.GitHub == nil || *res.Signer.GitHub != want || !strings.Contains(res.Signer.Certificate, "BEGIN CERTIFICATE") {
					t.Fatalf("verify result %+v (github %+v)", res, res.Signer.GitHub)
				}
				if tlog && (res.Tlog == nil || !res.Tlog.Verified) {
					t.Fatalf("tlog entry %+v, want a verified one", res.Tlog)
				}
				if !tlog {
					// A policy that requires the log refuses a signature without an entry.
					policy.TrustedRoot, policy.InsecureIgnoreTlog = withLog, false
					_, err := c.Verify(ctx, ref, policy)
					if !errors.Is(err, verify.ErrVerificationFailed) {
						t.Fatalf("verify requiring a tlog entry: %v", err)
					}
				}
			})
		}
	}
}

func TestKeylessIdentityPolicy(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	c := verify.New(verify.Options{})
	root := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{NoRekor: true})

	evil := sigstoretest.GitHubClaims{Repository: "acme-evil/app", Ref: "refs/heads/main", SHA: testSHA}
	evilRef := pushArtifact(t, reg, "identity/evil", "v1", "evil")
	keylessSign(t, ss, evilRef, evil, verify.FormatCosign, false)
	goodRef := pushArtifact(t, reg, "identity/good", "v1", "good")
	keylessSign(t, ss, goodRef, acme, verify.FormatCosign, false)
	// Signed with a key the policy below also names, beside an identity, under
	// matchRevision: a key signature carries no commit and does not satisfy it.
	priv, pub := keyPair(t, "k")
	keyRefs := map[verify.Format]artifact.Reference{}
	for _, f := range []verify.Format{verify.FormatCosign, verify.FormatBundle} {
		keyRefs[f] = pushArtifact(t, reg, "identity/key-"+string(f), "v1", "key-"+string(f))
		keySign(t, keyRefs[f], loadKey(t, priv, "k"), f)
	}
	otherSHA := pushArtifact(t, reg, "identity/othersha", "v1", "othersha")
	keylessSign(t, ss, otherSHA, sigstoretest.GitHubClaims{Repository: "acme/app", Ref: "refs/heads/main", SHA: strings.Repeat("f", 40)}, verify.FormatCosign, false)

	pol := func(ids ...verify.Identity) *verify.Policy {
		return &verify.Policy{Identities: ids, TrustedRoot: root, InsecureIgnoreTlog: true}
	}
	tests := []struct {
		name   string
		ref    artifact.Reference
		policy *verify.Policy
		ok     bool
		msg    string
	}{
		{"exact identity", goodRef, pol(acmeIdentity()), true, ""},
		{"another identity's certificate", evilRef, pol(acmeIdentity()), false, "does not match"},
		// Patterns are anchored: a prefix written as a regexp does not match a longer
		// organisation name, or anything else that merely starts the same.
		{"unanchored-looking regexp org", evilRef, pol(verify.Identity{Issuer: sigstoretest.GitHubIssuer, SubjectRegexp: `https://github\.com/acme`}), false, "does not match"},
		{"regexp org/ prefix", evilRef, pol(verify.Identity{Issuer: sigstoretest.GitHubIssuer, SubjectRegexp: `https://github\.com/acme/.*`}), false, "does not match"},
		{"regexp org/ prefix accepts org", goodRef, pol(verify.Identity{Issuer: sigstoretest.GitHubIssuer, SubjectRegexp: `https://github\.com/acme/.*`}), true, ""},
		{"regexp without the path does not match the org", goodRef, pol(verify.Identity{Issuer: sigstoretest.GitHubIssuer, SubjectRegexp: `https://github\.com/acme`}), false, "does not match"},
		{"issuer regexp is anchored", goodRef, pol(verify.Identity{IssuerRegexp: `https://token\.actions`, Subject: sigstoretest.GitHubSubject(acme)}), false, "issuer"},
		{"wrong issuer", goodRef, pol(verify.Identity{Issuer: "https://gitlab.com", Subject: sigstoretest.GitHubSubject(acme)}), false, "issuer"},
		{"repository claim", evilRef, pol(verify.Identity{Issuer: sigstoretest.GitHubIssuer, SubjectRegexp: `.*`, GitHub: verify.GitHubClaims{Repository: "acme/app"}}), false, "repository"},
		{"ref claim", goodRef, pol(verify.Identity{Issuer: sigstoretest.GitHubIssuer, SubjectRegexp: `.*`, GitHub: verify.GitHubClaims{Ref: "refs/tags/v1"}}), false, "ref"},
		{"workflow claim", goodRef, pol(verify.Identity{Issuer: sigstoretest.GitHubIssuer, SubjectRegexp: `.*`, GitHub: verify.GitHubClaims{Workflow: "deploy"}}), false, "workflow"},
		{"second identity matches", goodRef, pol(verify.Identity{Issuer: "https://gitlab.com", Subject: "x"}, acmeIdentity()), true, ""},
		{"revision matches the commit", goodRef, &verify.Policy{Identities: []verify.Identity{acmeIdentity()}, TrustedRoot: root, InsecureIgnoreTlog: true, MatchRevision: true}, true, ""},
		{"revision is another commit", otherSHA, &verify.Policy{Identities: []verify.Identity{acmeIdentity()}, TrustedRoot: root, InsecureIgnoreTlog: true, MatchRevision: true}, false, "matchRevision"},
		{"keyless signature, key policy", goodRef, &verify.Policy{Keys: []string{keyPub(t)}, InsecureIgnoreTlog: true}, false, "invalid signature"},
		{"key signature (cosign), matchRevision", keyRefs[verify.FormatCosign], &verify.Policy{Keys: []string{pub}, Identities: []verify.Identity{acmeIdentity()}, TrustedRoot: root, InsecureIgnoreTlog: true, MatchRevision: true}, false, "matchRevision"},
		{"key signature (bundle), matchRevision", keyRefs[verify.FormatBundle], &verify.Policy{Keys: []string{pub}, Identities: []verify.Identity{acmeIdentity()}, TrustedRoot: root, InsecureIgnoreTlog: true, MatchRevision: true}, false, "matchRevision"},
		{"key signature, the same policy without matchRevision", keyRefs[verify.FormatBundle], &verify.Policy{Keys: []string{pub}, Identities: []verify.Identity{acmeIdentity()}, TrustedRoot: root, InsecureIgnoreTlog: true}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Verify(ctx, tt.ref, tt.policy)
			if tt.ok {
				if err != nil {
					t.Fatalf("verify: %v", err)
				}
				if res.Digest != tt.ref.Digest {
					t.Fatalf("digest %s", res.Digest)
				}
				return
			}
			if !errors.Is(err, verify.ErrVerificationFailed) || errors.Is(err, verify.ErrUnavailable) {
				t.Fatalf("error %v, want only ErrVerificationFailed", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not say %q", err, tt.msg)
			}
			t.Log(err)
		})
	}
}

func keyPub(t *testing.T) string {
	_, pub := keyPair(t, "x")
	return pub
}

func TestTrustedRootProblems(t *testing.T) {
	ctx := context.Background()
	reg := registry.NewT(t, registry.Options{})
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	c := verify.New(verify.Options{})
	ref := pushArtifact(t, reg, "root/app", "v1", "root")
	keylessSign(t, ss, ref, acme, verify.FormatCosign, false)

	expired := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{NoRekor: true, CAValidUntil: time.Now().Add(-30 * time.Minute)})
	_, err := c.Verify(ctx, ref, &verify.Policy{Identities: []verify.Identity{acmeIdentity()}, TrustedRoot: expired, InsecureIgnoreTlog: true})
	if !errors.Is(err, verify.ErrVerificationFailed) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("expired root: %v", err)
	}
	t.Log(err)

	for name, path := range map[string]string{"missing": "/nonexistent/trusted_root.json", "not a root": writeFile(t, `{"mediaType":"nope"}`)} {
		_, err = c.Verify(ctx, ref, &verify.Policy{Identities: []verify.Identity{acmeIdentity()}, TrustedRoot: path, InsecureIgnoreTlog: true})
		var pe *verify.PolicyError
		if !errors.Is(err, verify.ErrInvalidPolicy) || !errors.As(err, &pe) || pe.Field != "trustedRoot" || errors.Is(err, verify.ErrVerificationFailed) {
			t.Fatalf("%s root: %v", name, err)
		}
	}

	// a root without a log cannot prove a log entry
	caOnly := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{NoRekor: true})
	_, err = c.Verify(ctx, ref, &verify.Policy{Identities: []verify.Identity{acmeIdentity()}, TrustedRoot: caOnly})
	if !errors.Is(err, verify.ErrInvalidPolicy) || !strings.Contains(err.Error(), "transparency log") {
		t.Fatalf("tlog required, root without log: %v", err)
	}

	// no trusted root given, and the public one cannot be fetched: could not check
	cu := verify.New(verify.Options{TUFMirror: "http://127.0.0.1:1", TUFCacheDir: t.TempDir()})
	_, err = cu.Verify(ctx, ref, &verify.Policy{Identities: []verify.Identity{acmeIdentity()}})
	if !errors.Is(err, verify.ErrUnavailable) || errors.Is(err, verify.ErrVerificationFailed) {
		t.Fatalf("public root unreachable: %v", err)
	}
}
