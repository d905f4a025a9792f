package sigstore_test

import (
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/sigstore"
)

// A key given where its path belongs is refused without being quoted; a path that is
// not there is named (it is a path).
func TestReadKeyRefNeverQuotesAKey(t *testing.T) {
	for _, ref := range []string{
		"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nSECRETBODY\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----",
		"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY----- SECRETBODY",
		"SECRETBODY\nline",
		strings.Repeat("SECRETBODY", 500),
	} {
		_, err := sigstore.ReadKeyRef(ref, nil)
		if err == nil || strings.Contains(err.Error(), "SECRETBODY") || !strings.Contains(err.Error(), "is a key itself") {
			t.Errorf("%.20q: %v", ref, err)
		}
	}
	if _, err := sigstore.ReadKeyRef("/no/such/cosign.key", nil); err == nil || !strings.Contains(err.Error(), "/no/such/cosign.key") {
		t.Errorf("a missing file: %v", err)
	}
}
