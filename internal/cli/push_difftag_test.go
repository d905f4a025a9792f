package cli_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// push --diff-tag pushes, tags and signs nothing when the tag already holds the same
// files, whatever the new revision; it pushes when a file changed or the tag is missing.
func TestPushDiffTag(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	env := map[string]string{"HOME": t.TempDir()}
	src := writeTree(t, map[string]string{"cm.yaml": cm})
	url := "oci://" + reg.Host() + "/demo/difftag"
	type out struct {
		URL, Digest, DiffTag string
		Pushed, Unchanged    bool
		Tags                 []string
	}
	push := func(tag, revision string) out {
		t.Helper()
		r := run(t, env, "push", url+":"+tag, "--path", src, "--tag", "latest", "--diff-tag", "latest",
			"--revision", revision, "--created", "2026-01-02T03:04:05Z", "-o", "json")
		if r.code != 0 {
			t.Fatalf("push %s: %d %s", tag, r.code, r.err)
		}
		var o out
		if err := json.Unmarshal([]byte(r.out), &o); err != nil {
			t.Fatal(err)
		}
		return o
	}

	first := push("aaaaaaa", "main@sha1:aaaaaaa")
	if !first.Pushed || first.DiffTag != "latest" || len(first.Tags) != 2 {
		t.Fatalf("first push with a missing diff tag: %+v, want pushed with both tags", first)
	}
	second := push("bbbbbbb", "main@sha1:bbbbbbb")
	if second.Pushed || !second.Unchanged || second.Digest != first.Digest || second.URL != url+":latest@"+first.Digest {
		t.Fatalf("second push, same files, new revision: %+v, want nothing pushed and latest's digest %s", second, first.Digest)
	}
	if r := run(t, env, "inspect", url+":bbbbbbb"); r.code != 6 {
		t.Errorf("the skipped push created its tag: inspect exit %d, want 6 (not found)", r.code)
	}

	// text mode says so on stderr and prints latest's pinned reference
	r := run(t, env, "push", url+":ccccccc", "--path", src, "--diff-tag", "latest")
	if r.code != 0 || !strings.Contains(r.err, "nothing pushed") || !strings.Contains(r.out, first.Digest) {
		t.Errorf("text push --diff-tag: %d out %q err %q", r.code, r.out, r.err)
	}

	src2 := writeTree(t, map[string]string{"cm.yaml": strings.Replace(cm, `"1"`, `"2"`, 1)})
	r = run(t, env, "push", url+":ddddddd", "--path", src2, "--tag", "latest", "--diff-tag", "latest", "-o", "json")
	var third out
	if r.code != 0 || json.Unmarshal([]byte(r.out), &third) != nil || !third.Pushed || third.Digest == first.Digest {
		t.Errorf("push of changed files with --diff-tag: %d %s %s", r.code, r.out, r.err)
	}
	if r := run(t, env, "push", url+":eeeeeee", "--path", src, "--diff-tag", "bad:tag"); r.code != 2 || !strings.Contains(r.err, "--diff-tag") {
		t.Errorf("invalid --diff-tag: %d %q, want exit 2 naming the flag", r.code, r.err)
	}
}
