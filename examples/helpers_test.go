package examples_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
)

// digestOf is the digest a tag points at ("" when it does not exist).
func digestOf(t *testing.T, bin, ref, creds string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "gitless"), "inspect", ref, "--creds", creds, "-o", "json")
	cmd.Env = []string{"HOME=" + t.TempDir()}
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	var in struct{ Digest string }
	if json.Unmarshal(out, &in) != nil {
		return ""
	}
	return in.Digest
}
