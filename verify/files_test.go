package verify_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gitless-dev/gitless/verify"
)

// FilesDigest follows the content of the key and root files a policy names, and
// nothing else: inline, env:// and KMS keys are not files.
func TestFilesDigest(t *testing.T) {
	dir := t.TempDir()
	key, root := filepath.Join(dir, "cosign.pub"), filepath.Join(dir, "trusted_root.json")
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inline := &verify.Policy{Keys: []string{"-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----\n", "env://KEY", "awskms:///alias/x"}}
	if d := inline.FilesDigest(); d != "" {
		t.Fatalf("a policy with no file: %q", d)
	}
	p := &verify.Policy{Keys: []string{key}, TrustedRoot: root}
	missing := p.FilesDigest()
	write(key, "a")
	write(root, "r")
	first := p.FilesDigest()
	if first == "" || first == missing || first != p.FilesDigest() {
		t.Fatalf("missing %q, written %q", missing, first)
	}
	write(key, "b")
	if d := p.FilesDigest(); d == first {
		t.Fatal("the key file changed, the digest did not")
	}
	write(key, "a")
	write(root, "s")
	if d := p.FilesDigest(); d == first {
		t.Fatal("the root file changed, the digest did not")
	}
	write(root, "r")
	if d := p.FilesDigest(); d != first {
		t.Fatal("the same content gives another digest")
	}
}
