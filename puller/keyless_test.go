package puller_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/internal/testenv/sigstoretest"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

// Keyless: a GitHub Actions identity certified by a (private, local) Fulcio and logged in
// Rekor, in cosign v3's bundle format; the policy requires the log proof and pins the
// workflow by an anchored regular expression, offline against a trusted root.
func TestKeylessIdentityPolicy(t *testing.T) {
	w := newWorld(t, registry.Options{})
	ss := sigstoretest.Start(t, sigstoretest.Options{})
	root := ss.WriteTrustedRoot(t, sigstoretest.RootOptions{})
	sign := func(ref artifact.Reference, repo string) {
		g := sigstoretest.GitHubClaims{Repository: repo, Ref: "refs/heads/main", SHA: strings.Repeat("a", 40), Workflow: "release", EventName: "push"}
		_, err := w.Signer.Sign(w.Ctx, ref, sign.Options{
			Keyless:    sign.KeylessOptions{FulcioURL: ss.FulcioURL, IDToken: ss.GitHubToken(g)},
			TlogUpload: true, RekorURL: ss.RekorURL, Format: verify.FormatBundle,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	good := w.push("app", "good", t1, map[string]string{"a.yaml": cm("a", "acme")})
	sign(good, "acme/app")
	evil := w.push("app", "evil", t2, map[string]string{"a.yaml": cm("a", "evil")})
	sign(evil, "acme-evil/app")

	src := w.source("app", "app", "good")
	src.Verify = &verify.Policy{
		Identities: []verify.Identity{{
			Issuer:        sigstoretest.GitHubIssuer,
			SubjectRegexp: `https://github\.com/acme/app/\.github/workflows/.*@refs/heads/main`,
		}},
		TrustedRoot: root,
	}
	res := w.mustSync(src)
	if res.Created != 1 || !strings.Contains(res.Signer, "https://github.com/acme/app/") {
		t.Fatalf("%+v", res)
	}
	src.Ref.Tag = "evil"
	if _, err := w.sync(src); !errors.Is(err, verify.ErrVerificationFailed) {
		t.Fatalf("err = %v", err)
	}
	if w.CMData("a", "k") != "acme" {
		t.Fatal("an artifact signed by another repository's workflow was applied")
	}
}
