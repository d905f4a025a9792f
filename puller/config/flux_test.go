package config_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/puller/config"
)

// fluxIn is one input stream named flux.yaml.
func fluxIn(s string) []config.FluxInput {
	return []config.FluxInput{{Name: "flux.yaml", Data: []byte(s)}}
}

// docBlocks returns the yaml blocks of a doc.
func docBlocks(t *testing.T, path string) []string {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	for _, part := range strings.Split(string(doc), "```yaml\n")[1:] {
		block, _, ok := strings.Cut(part, "```")
		if !ok {
			t.Fatal("a yaml block that does not end")
		}
		blocks = append(blocks, block)
	}
	return blocks
}

// The Flux fleet of docs/flux.md converts to the configuration the page shows, which
// the puller takes.
func TestConvertFluxDocExample(t *testing.T) {
	var flux, want string
	for _, b := range docBlocks(t, "../../docs/flux.md") {
		switch {
		case strings.Contains(b, "kind: OCIRepository"):
			flux = b
		case strings.Contains(b, "kind: PullerConfig"):
			want = b
		}
	}
	if flux == "" || want == "" {
		t.Fatal("docs/flux.md has no Flux example or no PullerConfig")
	}
	c, notes, err := config.FromFlux(fluxIn(flux), config.FromFluxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := config.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("convert-flux gives\n%s\nthe page shows\n%s", got, want)
	}
	if _, err := config.Parse(got, config.Namespaces{}); err != nil {
		t.Errorf("the converted configuration does not parse: %v", err)
	}
	for _, n := range []string{"pruneNamespacesAndCRDs", "anchors identity", "allowCrossNamespaceRefs is set", "read as the service account flux-system/deployer"} {
		if !strings.Contains(strings.Join(notes, "\n"), n) {
			t.Errorf("no note of %q in %q", n, notes)
		}
	}
}

const fluxPair = `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata: {name: app, namespace: team-a}
spec:
  interval: 5m
  url: oci://registry.corp/app
  ref: {semver: ">=1.0.0"}
  secretRef: {name: regcred}
  verify:
    provider: cosign
    secretRef: {name: cosign-pub}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: team-a}
spec:
  interval: 30m
  sourceRef: {kind: OCIRepository, name: app}
  path: ./deploy
  commonMetadata: {labels: {team: a}}
  images: [{name: web, newTag: "2.0"}]
  healthChecks: [{kind: Deployment, name: web, namespace: team-a}]
  suspend: true
`

func TestConvertFlux(t *testing.T) {
	c, notes, err := config.FromFlux(fluxIn(fluxPair+"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"), config.FromFluxOptions{Namespace: "team-a", KeysDir: "/keys"})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if s.Name != "app" || s.URL != "oci://registry.corp/app" || s.Ref.SemVer != ">=1.0.0" || s.Path != "deploy" || s.PullSecret != "regcred" ||
		s.Interval.Duration.String() != "5m0s" || s.DriftInterval.Duration.String() != "30m0s" || s.CommonMetadata.Labels["team"] != "a" ||
		s.Images[0].NewTag != "2.0" || !s.Suspend || c.AllowCrossNamespaceRefs || s.HealthChecks[0].APIVersion != "apps/v1" || s.RetryInterval.Duration != 0 {
		t.Fatalf("%+v", s)
	}
	// Flux verifies key signatures offline: so does the converted policy, and says so.
	if len(s.Verify.Keys) != 1 || s.Verify.Keys[0] != "/keys/team-a-cosign-pub/cosign.pub" || !s.Verify.InsecureIgnoreTlog {
		t.Fatalf("verify %+v", s.Verify)
	}
	all := strings.Join(notes, "\n")
	for _, n := range []string{"mount Secret team-a/cosign-pub", "insecureIgnoreTlog", "suspended in Flux, so suspend: true", "ConfigMap flux-system/x (flux.yaml: document 3): not an OCIRepository", "prune"} {
		if n == "prune" {
			if strings.Contains(all, "pruneNamespacesAndCRDs") {
				t.Error("a prune note without prune")
			}
			continue
		}
		if !strings.Contains(all, n) {
			t.Errorf("no note of %q in\n%s", n, all)
		}
	}
}

// What the puller cannot do is an error naming the object and the field, all of them
// together; nothing is dropped.
func TestConvertFluxRefusesWhatItCannotDo(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           []string
	}{
		{"decryption and components", "  suspend: true\n", "  decryption: {provider: sops}\n  components: [../c]\n",
			[]string{"Kustomization team-a/app: spec.decryption: not supported: decrypt in CI", "Kustomization team-a/app: spec.components: not supported"}},
		{"a GitRepository", "sourceRef: {kind: OCIRepository, name: app}", "sourceRef: {kind: GitRepository, name: app}",
			[]string{`spec.sourceRef.kind: "GitRepository": the puller reads OCI artifacts only`}},
		{"a missing OCIRepository", "sourceRef: {kind: OCIRepository, name: app}", "sourceRef: {kind: OCIRepository, name: other}",
			[]string{"OCIRepository team-a/other is not among the objects given"}},
		{"a cloud provider and a layer selector", "  interval: 5m\n", "  interval: 5m\n  provider: aws\n  layerSelector: {mediaType: x}\n",
			[]string{"OCIRepository team-a/app: spec.provider: not supported", "OCIRepository team-a/app: spec.layerSelector: not supported"}},
		{"a verify provider", "provider: cosign", "provider: notation", []string{`spec.verify.provider: "notation"`}},
		{"keyless without identities", "    secretRef: {name: cosign-pub}\n", "", []string{"spec.verify.matchOIDCIdentity: keyless verification without an identity"}},
		{"an unknown field of a patch", `images: [{name: web, newTag: "2.0"}]`, `patches: [{patch: x, path: p.yaml}]`, []string{`spec.patches: json: unknown field "path"`}},
		{"a dependency not converted", "  suspend: true\n", "  dependsOn: [{name: infra}]\n", []string{"spec.dependsOn: infra is not among the Kustomizations converted"}},
		{"a bad duration", "interval: 30m", "interval: often", []string{"spec.interval: time: invalid duration"}},
		{"a deletion policy of no meaning", "  suspend: true\n", "  deletionPolicy: Keep\n", []string{`spec.deletionPolicy: "Keep": not one of Flux's`}},
		{"an invalid source", "path: ./deploy", "path: ../deploy", []string{"Kustomization team-a/app: path"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(fluxPair, tc.old, tc.new, 1)
			if in == fluxPair {
				t.Fatalf("%q not in the input", tc.old)
			}
			_, _, err := config.FromFlux(fluxIn(in), config.FromFluxOptions{})
			if !errors.Is(err, config.ErrFlux) && tc.name != "an invalid source" {
				t.Fatalf("err = %v, want ErrFlux", err)
			}
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want %q", err, w)
				}
			}
		})
	}
}

// Marshal writes strings unquoted only where they read back as the same string in the
// puller's YAML 1.1 ("yes", "on", "1.0", "08" stay quoted).
func TestMarshalRoundTrips(t *testing.T) {
	in := strings.Replace(fluxPair, "commonMetadata: {labels: {team: a}}",
		`commonMetadata: {labels: {a: "yes", b: "1.0", c: "08", d: "on", e: "null"}, annotations: {f: "x: y", g: "#c", h: " sp", i: "~", j: "a\nb"}}`, 1)
	c, back, out := roundTrip(t, in)
	want, got := c.Sources[0].CommonMetadata, back.Sources[0].CommonMetadata
	if !reflect.DeepEqual(want, got) {
		t.Errorf("wrote %+v, read back %+v\n%s", want, got, out)
	}
}

// The input as Flux takes it: JSON streams, typed Lists, Flux's defaults (timeout from
// the interval, the ref's precedence, cosign as the verify provider); and what is
// refused rather than guessed (an OCIRepository given twice differently, an input
// without a Kustomization, one over MaxSize).
func TestConvertFluxInputs(t *testing.T) {
	j := `{"apiVersion":"source.toolkit.fluxcd.io/v1","kind":"OCIRepository","metadata":{"name":"app","namespace":"team-a"},"spec":{"url":"oci:\/\/registry.corp\/app","ref":{"tag":"latest","semver":">=1.0.0"},"verify":{"secretRef":{"name":"k"}}}}
{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"KustomizationList","items":[{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"app","namespace":"team-a"},"spec":{"interval":"10m","sourceRef":{"kind":"OCIRepository","name":"app"}}}]}`
	c, notes, err := config.FromFlux([]config.FluxInput{{Name: "flux.json", Data: []byte(j)}}, config.FromFluxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sources[0]
	if s.URL != "oci://registry.corp/app" || s.Ref.SemVer != ">=1.0.0" || s.Ref.Tag != "" || s.Timeout.Duration.String() != "9m30s" || len(s.Verify.Keys) != 1 {
		t.Fatalf("%+v", s)
	}
	if !strings.Contains(strings.Join(notes, "\n"), "the range is kept") {
		t.Errorf("no note of the ref: %q", notes)
	}

	twice := fluxPair + "---\n" + strings.Replace(strings.SplitN(fluxPair, "---\n", 2)[0], `semver: ">=1.0.0"`, "tag: evil", 1)
	for name, in := range map[string][]config.FluxInput{
		"an OCIRepository twice": fluxIn(twice),
		"no Kustomization":       fluxIn(strings.SplitN(fluxPair, "---\n", 2)[0]),
		"too large":              fluxIn(fluxPair + strings.Repeat("#", config.MaxSize)),
	} {
		if _, _, err := config.FromFlux(in, config.FromFluxOptions{}); !errors.Is(err, config.ErrFlux) {
			t.Errorf("%s: err = %v, want refused", name, err)
		}
	}
}

// Marshal shortens a source's own durations only: a substituted value that looks
// like one is written as it is; a value with characters YAML reads otherwise (NEL, DEL)
// comes back the same.
func TestMarshalKeepsValues(t *testing.T) {
	in := strings.Replace(fluxPair, "  suspend: true\n", "  postBuild: {substitute: {interval: 1m0s, timeout: 2h0m0s, nel: \"x\\u0085y\", del: \"x\\u007fy\", bom: \"\\ufeffz\"}}\n", 1)
	c, back, out := roundTrip(t, in)
	if want, got := c.Sources[0].PostBuild.Substitute, back.Sources[0].PostBuild.Substitute; !reflect.DeepEqual(want, got) {
		t.Errorf("wrote %q, read back %q\n%s", want, got, out)
	}
	if !strings.Contains(string(out), "driftInterval: 30m\n") {
		t.Errorf("the source's own duration is not shortened:\n%s", out)
	}
}

// roundTrip converts in, marshals the result and parses it back.
func roundTrip(t *testing.T, in string) (converted, back *config.PullerConfig, out []byte) {
	t.Helper()
	c, _, err := config.FromFlux(fluxIn(in), config.FromFluxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out, err = config.Marshal(c); err != nil {
		t.Fatal(err)
	}
	if back, err = config.Parse(out, config.Namespaces{}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return c, back, out
}

// What the apiserver writes into every object it stores, and Flux's deletion policies
// that mean what the puller does, convert: an export read back from a cluster carries
// provider: generic (the CRD's default). Policies that would delete objects of a source
// removed from the configuration convert with a note; a key Secret in another namespace
// than the puller's is to be copied there.
func TestConvertFluxAsStored(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, note string
	}{
		{"provider generic", "  interval: 5m\n", "  interval: 5m\n  provider: generic\n  timeout: 60s\n", ""},
		{"orphan", "  suspend: true\n", "  deletionPolicy: Orphan\n  prune: true\n", ""},
		{"mirror without prune", "  suspend: true\n", "  deletionPolicy: MirrorPrune\n", ""},
		{"mirror with prune", "  suspend: true\n", "  deletionPolicy: MirrorPrune\n  prune: true\n", "deletionPolicy MirrorPrune: the objects of a source removed from the configuration stay unless the configuration sets pruneRemovedSources: true"},
		{"delete", "  suspend: true\n", "  deletionPolicy: Delete\n", "deletionPolicy Delete:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(fluxPair, tc.old, tc.new, 1)
			if in == fluxPair {
				t.Fatalf("%q not in the input", tc.old)
			}
			_, notes, err := config.FromFlux(fluxIn(in), config.FromFluxOptions{Namespace: "gitless-system", KeysDir: "/keys"})
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(notes, "\n")
			if tc.note != "" && !strings.Contains(all, tc.note) || tc.note == "" && strings.Contains(all, "deletionPolicy") {
				t.Errorf("notes %s, want %q", all, tc.note)
			}
			if !strings.Contains(all, "copy Secret team-a/cosign-pub into the puller's namespace gitless-system, mount it in the puller's pod at /keys/team-a-cosign-pub") {
				t.Errorf("no note of copying the key Secret: %s", all)
			}
		})
	}
}

// A suspended OCIRepository: Flux keeps applying what it fetched last, so the source is
// pinned to that digest (from the exported status); without a status, suspended.
func TestConvertFluxSuspendedOCIRepository(t *testing.T) {
	d := strings.Repeat("ab", 32)
	in := strings.Replace(fluxPair, "  suspend: true\n", "", 1) // the Kustomization's
	in = strings.Replace(in, "  interval: 5m\n", "  interval: 5m\n  suspend: true\n", 1)
	withStatus := strings.Replace(in, "---\n", "status: {artifact: {revision: \"1.2.0@sha256:"+d+"\"}}\n---\n", 1)
	c, notes, err := config.FromFlux(fluxIn(withStatus), config.FromFluxOptions{})
	if err != nil || c.Sources[0].Ref.Digest != "sha256:"+d || c.Sources[0].Suspend || !strings.Contains(strings.Join(notes, "\n"), "ref pinned to its digest") {
		t.Fatalf("with a status: %+v %v %v", c.Sources[0], notes, err)
	}
	c, notes, err = config.FromFlux(fluxIn(in), config.FromFluxOptions{})
	if err != nil || !c.Sources[0].Suspend || c.Sources[0].Ref.Digest != "" || !strings.Contains(strings.Join(notes, "\n"), "no status.artifact.revision") {
		t.Fatalf("without: %+v %v %v", c.Sources[0], notes, err)
	}
}
