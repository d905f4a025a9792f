package cli_test

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	buildversion "github.com/gitless-dev/gitless/internal/version"
)

// gitless version prints what internal/version holds; hack/release_test.go checks that
// a release build stamps it.
func TestVersion(t *testing.T) {
	old, oldCommit := buildversion.Version, buildversion.Commit
	t.Cleanup(func() { buildversion.Version, buildversion.Commit = old, oldCommit })
	buildversion.Version, buildversion.Commit = "v1.2.3", "0123456789abcdef0123456789abcdef01234567"

	r := run(t, nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.out, "gitless v1.2.3\n") || !strings.Contains(r.out, "commit:   0123456789abcdef") ||
		!strings.Contains(r.out, runtime.Version()) {
		t.Errorf("version: %d %q %q", r.code, r.out, r.err)
	}
	r = run(t, nil, "version", "-o", "json")
	var info buildversion.Info
	if err := json.Unmarshal([]byte(r.out), &info); err != nil || r.code != 0 {
		t.Fatalf("version -o json: %d %q: %v", r.code, r.out, err)
	}
	if want := buildversion.Get(); info != want {
		t.Errorf("version -o json = %+v, want %+v", info, want)
	}
	if r := run(t, nil, "version", "-o", "xml"); r.code != 2 || !strings.Contains(r.err, "xml") {
		t.Errorf("version -o xml: %d %q, want exit 2 naming the format", r.code, r.err)
	}
	if r := run(t, nil, "--version"); r.code != 0 || !strings.Contains(r.out, "v1.2.3") {
		t.Errorf("--version: %d %q", r.code, r.out)
	}
}
