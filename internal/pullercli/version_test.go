package pullercli_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	buildversion "github.com/gitless-dev/gitless/internal/version"
)

func TestPullerVersion(t *testing.T) {
	old, oldCommit := buildversion.Version, buildversion.Commit
	t.Cleanup(func() { buildversion.Version, buildversion.Commit = old, oldCommit })
	buildversion.Version, buildversion.Commit = "v1.2.3", "0123456789abcdef0123456789abcdef01234567"
	ctx := context.Background()

	r := runPuller(t, ctx, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.out, "gitless-puller v1.2.3\n") || !strings.Contains(r.out, "commit:   0123456789abcdef") {
		t.Errorf("version: %d %q %q", r.code, r.out, r.err)
	}
	r = runPuller(t, ctx, nil, "version", "-o", "json")
	var info buildversion.Info
	if err := json.Unmarshal([]byte(r.out), &info); err != nil || r.code != 0 {
		t.Fatalf("version -o json: %d %q: %v", r.code, r.out, err)
	}
	if want := buildversion.Get(); info != want {
		t.Errorf("version -o json = %+v, want %+v", info, want)
	}
	if r := runPuller(t, ctx, nil, "version", "extra"); r.code != 2 {
		t.Errorf("version extra: %d %q, want exit 2", r.code, r.err)
	}
}

// install's default image is this build's own version, a prerelease too (the release
// workflow pushes it); a build from a checkout installs latest.
func TestInstallImageIsThisVersion(t *testing.T) {
	old := buildversion.Version
	t.Cleanup(func() { buildversion.Version = old })
	for v, want := range map[string]string{
		"v1.2.3":            "ghcr.io/gitless-dev/gitless-puller:v1.2.3",
		"v1.3.0-rc.1":       "ghcr.io/gitless-dev/gitless-puller:v1.3.0-rc.1",
		"v1.3.0-rc.1+dirty": "ghcr.io/gitless-dev/gitless-puller:latest",
		"(devel)":           "ghcr.io/gitless-dev/gitless-puller:latest",
	} {
		buildversion.Version = v
		r := runPuller(t, context.Background(), nil, "install")
		if r.code != 0 || !strings.Contains(r.out, "image: "+want+"\n") {
			t.Errorf("version %s: want %s in the install (exit %d)", v, want, r.code)
		}
	}
}
