package sigstore

import (
	"fmt"
	"io"
	"os"

	"github.com/sigstore/sigstore-go/pkg/root"
)

// MaxTrustedRoot caps a trusted_root.json (the public one is about 10 KiB).
const MaxTrustedRoot = 4 << 20

// LoadTrustedRoot reads a Sigstore trusted root (trusted_root.json, the format of
// sigstore-go and "cosign trusted-root create") that lists at least a certificate
// authority or a transparency log.
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxTrustedRoot+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxTrustedRoot {
		return nil, fmt.Errorf("%s is over the %d byte limit", path, MaxTrustedRoot)
	}
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return nil, fmt.Errorf("%s: not a Sigstore trusted root: %v", path, err)
	}
	if len(tr.FulcioCertificateAuthorities()) == 0 && len(tr.RekorLogs()) == 0 {
		return nil, fmt.Errorf("%s lists no certificate authority and no transparency log", path)
	}
	return tr, nil
}
