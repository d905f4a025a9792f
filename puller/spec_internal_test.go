package puller

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/opencontainers/go-digest"
)

// A source acting as the puller itself keeps the spec digest recorded before the
// identity was part of it, so that an upgrade applies nothing again for it; one acting
// as a service account gets another digest per account, so that a lockdown set or
// lifted applies it again as its new identity.
func TestAppliedSpecOfThePullersOwnIdentityIsUnchanged(t *testing.T) {
	src := Source{Name: "apps", URL: "oci://registry.example/apps", TargetNamespace: "apps"}.WithDefaults()
	// The digest as recorded before: the source without its scheduling fields and
	// webhook, then the policy's files.
	old := src
	old.Interval.Duration, old.DriftInterval.Duration, old.Timeout.Duration = 0, 0, 0
	old.DependsOn, old.Webhook = nil, nil
	b, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	want := digest.FromBytes(append(b, old.Verify.FilesDigest()...)).String()
	if got := appliedSpec(src, Identity{}); got != want {
		t.Fatalf("the puller's own identity changed the recorded spec: %s, was %s", got, want)
	}
	a, d := appliedSpec(src, Identity{ServiceAccount: "apps/deployer"}), appliedSpec(src, Identity{ServiceAccount: "apps/other"})
	if a == want || d == want || a == d {
		t.Fatalf("identities do not give their own spec: %s %s %s", want, a, d)
	}
}

// A long message is cut on a character's boundary: the annotation and the Event stay
// valid UTF-8.
func TestTruncateKeepsCharactersWhole(t *testing.T) {
	for _, pad := range []int{maxMessage - 6, maxMessage - 5, maxMessage - 4, maxMessage - 3} {
		s := truncate(strings.Repeat("a", pad) + strings.Repeat("→", 10))
		if len(s) > maxMessage || !utf8.ValidString(s) || !strings.HasSuffix(s, "...") {
			t.Errorf("pad %d: %d bytes, valid %v: %q", pad, len(s), utf8.ValidString(s), s[len(s)-10:])
		}
	}
	if s := "short →"; truncate(s) != s {
		t.Errorf("%q cut", s)
	}
}
