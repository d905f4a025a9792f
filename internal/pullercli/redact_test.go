package pullercli_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A Secret value the apiserver quotes in its refusal stays out of everything the
// puller's CLI shows: sync's -o json and its logs, run's logs and /readyz, which is a
// summary naming the source but not why it failed.
func TestSecretValuesStayOutOfTheCLI(t *testing.T) {
	f := newPullerFixture(t)
	const value = "4815162342"
	f.pushSigned("app", "v1", true, map[string]string{
		"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: NS\ndata:\n  token: " + value + "\n",
	})
	url := "oci://" + f.Reg.Host() + "/app:v1"
	r := runPuller(t, t.Context(), f.env, append([]string{"sync", "-v", "--url", url, "--key", f.Key.PubPath, "--insecure-ignore-tlog", "-o", "json"}, f.base...)...)
	if r.code == 0 || !strings.Contains(r.out, "[redacted]") {
		t.Fatalf("the sync should fail and say where the value was: %+v", r)
	}
	if strings.Contains(r.out+r.err, value) {
		t.Fatalf("the value leaked from sync: %+v", r)
	}

	cfg := filepath.Join(t.TempDir(), "puller.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nsources:\n- name: app\n  url: %s\n  verify: {keys: [%s], insecureIgnoreTlog: true}\n  interval: 1s\n", url, f.Key.PubPath)), 0o644)
	get, stop := f.runDaemon(cfg, "-v")
	// Once a sync has failed, /readyz says so, without why.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, m := get("/metrics"); strings.Contains(m, `gitless_puller_syncs_total{outcome="Failed",source="app"}`) {
			break
		}
	}
	code, body := get("/readyz")
	out := stop()
	if code != http.StatusServiceUnavailable || body != "not ready: 0 of 1 sources synced; not synced yet or failing: app (gitless-puller status says why)\n" {
		t.Fatalf("/readyz: %d %q", code, body)
	}
	if strings.Contains(out.out+out.err, value) || !strings.Contains(out.err, "[redacted]") {
		t.Fatalf("run's output: %+v", out)
	}
}
