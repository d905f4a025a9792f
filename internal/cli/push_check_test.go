package cli_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/cli"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// Push checks objects as render does, before any content is sent: a document without
// kind or a duplicate object is refused with the file named, and the registry gets no
// manifest and no blob but the config (the same two bytes in every artifact, which push
// uploads while it packages): an artifact render and the puller would refuse is never
// pushed, never signed.
func TestPushRefusesInvalidObjectsBeforeUploading(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	cfg, _ := artifact.ConfigDescriptor()
	var requests atomic.Int64
	host := registry.NewProxy(t, reg, func(_ http.ResponseWriter, r *http.Request) bool {
		switch {
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/blobs/uploads/"):
			// an upload starts; what it uploads is checked at its PUT
		case r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") && r.URL.Query().Get("digest") == cfg.Digest.String():
		case r.Method == http.MethodPost && r.URL.Query().Get("digest") == cfg.Digest.String():
		default:
			requests.Add(1)
		}
		return false
	})
	url := "oci://" + host + "/app:v1"
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"a document without kind", map[string]string{"a.yaml": cm, "b.yaml": "apiVersion: v1\nmetadata: {name: b}\n"}, "b.yaml:1"},
		{"a duplicate object", map[string]string{"a.yaml": cm, "sub/c.yaml": cm}, "duplicate object ConfigMap"},
		{"a document without name", map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n"}, "a.yaml:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requests.Store(0)
			r := run(t, map[string]string{"HOME": t.TempDir(), "SOURCE_DATE_EPOCH": "1"}, "push", url, "--path", writeTree(t, tc.files))
			if r.code != cli.ExitError || !strings.Contains(r.err, tc.want) {
				t.Fatalf("exit %d, %q; want exit %d naming %q", r.code, r.err, cli.ExitError, tc.want)
			}
			if n := requests.Load(); n != 0 {
				t.Fatalf("the registry got %d writes other than the config blob before the refusal", n)
			}
		})
	}
}
