package pullercli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
)

// convert-flux turns a Flux OCIRepository and Kustomization into a configuration that
// gitless-puller sync applies, unchanged but for the key mounted where the note says;
// a field the puller cannot honour is a usage error (exit 2) naming it, with nothing
// written on stdout.
func TestConvertFluxThenSync(t *testing.T) {
	f := newPullerFixture(t)
	f.pushSigned("app", "v1", true, map[string]string{"deploy/a.yaml": pcm("a", "1")})
	flux := `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app, namespace: flux-system}
spec:
  interval: 1m
  url: oci://` + f.Reg.Host() + `/app
  ref: {tag: v1}
  verify: {provider: cosign, secretRef: {name: cosign-pub}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  interval: 10m
  sourceRef: {kind: OCIRepository, name: app}
  path: ./deploy
  prune: true
  commonMetadata: {labels: {converted: "yes"}}
`
	dir := t.TempDir()
	in := filepath.Join(dir, "flux.yaml")
	keys := filepath.Join(dir, "keys")
	if err := os.WriteFile(in, []byte(flux), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runPuller(t, t.Context(), f.env, append([]string{"convert-flux", in, "--keys-dir", keys}, f.base...)...)
	if r.code != 0 || !strings.Contains(r.err, "note: OCIRepository flux-system/app: copy Secret flux-system/cosign-pub into the puller's namespace "+f.NS+", mount it in the puller's pod at "+keys+"/flux-system-cosign-pub") {
		t.Fatalf("%+v", r)
	}
	// Mounted as the note says.
	pub, err := os.ReadFile(f.Key.PubPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(keys, "flux-system-cosign-pub"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(keys, "flux-system-cosign-pub", "cosign.pub"), pub, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "puller.yaml")
	if err := os.WriteFile(cfg, []byte(r.out), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runPuller(t, t.Context(), f.env, append([]string{"sync", "--config", cfg}, f.base...)...)
	if r.code != 0 || !strings.Contains(r.out, "app: applied") {
		t.Fatalf("sync of the converted configuration: %+v", r)
	}
	cm, err := f.Get(pullertest.ConfigMaps, f.Target, "a")
	if err != nil || cm.GetLabels()["converted"] != "yes" {
		t.Fatalf("ConfigMap a: %v, labels %v", err, cm.GetLabels())
	}

	// Flux's decryption: refused, exit 2, nothing on stdout.
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(flux, "  prune: true\n", "  prune: true\n  decryption: {provider: sops}\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runPuller(t, t.Context(), f.env, append([]string{"convert-flux", bad}, f.base...)...)
	if r.code != 2 || r.out != "" || !strings.Contains(r.err, "Kustomization flux-system/app: spec.decryption: not supported") {
		t.Fatalf("%+v", r)
	}
}
