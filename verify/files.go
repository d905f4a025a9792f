package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gitless-dev/gitless/internal/sigstore"
)

// maxRootFile bounds what FilesDigest reads of a trusted root.
const maxRootFile = 16 << 20

// FilesDigest returns a digest of the files the policy reads at every verification:
// its keys given as paths and its trusted root, as they are now. A caller that
// remembers what a verification decided (the puller: a digest verified and applied,
// a digest refused) keeps this beside it and verifies again when it changes: a key
// file replaced at the same path (a Secret rotated, a compromised key revoked) must
// not leave an artifact it no longer verifies applied, nor one it now verifies
// refused. A file that cannot be read counts by its error, so that it coming back is a
// change too. Inline PEM, env:// and KMS keys are not files: they do not change
// without the policy changing, and their entries are left out. "" for a policy that
// names no file.
func (p *Policy) FilesDigest() string {
	if p == nil {
		return ""
	}
	h := sha256.New()
	files := 0
	add := func(path string, limit int64) {
		files++
		fmt.Fprintf(h, "%s\x00", path)
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintf(h, "error %v\x00", err)
			return
		}
		defer f.Close()
		n, err := io.Copy(h, io.LimitReader(f, limit))
		fmt.Fprintf(h, "\x00%d %v\x00", n, err)
	}
	for _, k := range p.Keys {
		if isKeyFile(k) {
			add(k, sigstore.MaxKeyFile+1)
		}
	}
	if p.TrustedRoot != "" {
		add(p.TrustedRoot, maxRootFile)
	}
	if files == 0 {
		return ""
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// isKeyFile reports whether a Keys entry is a path (what loadPublicKey reads with
// sigstore.ReadKeyRef as a file).
func isKeyFile(ref string) bool {
	return !strings.HasPrefix(strings.TrimSpace(ref), "-----BEGIN") && !sigstore.IsKMS(ref) && !strings.HasPrefix(ref, "env://")
}
