package install_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/config"
	"github.com/gitless-dev/gitless/puller/install"
	"github.com/gitless-dev/gitless/verify"
)

var update = flag.Bool("update", false, "rewrite examples/cluster from the generator")

// exampleOptions is what examples/cluster is generated from: a least-privilege install
// (defaultServiceAccount: every source acts as the tenant account of its namespace; the
// puller has no right outside its own namespace) with one tenant, "apps", a key-based
// policy, per-cluster values, two replicas with leader election and webhooks.
// examples/cluster-platform adds the platform's sources on top.
func exampleOptions() install.Options {
	apps := puller.Source{Name: "apps", URL: "oci://ghcr.io/acme/apps", Ref: puller.Ref{Tag: "production"},
		Verify: &verify.Policy{Keys: []string{install.KeysDir + "/cosign.pub"}}, PullSecret: "ghcr", TargetNamespace: "apps", Prune: true,
		PostBuild: &puller.PostBuild{SubstituteFrom: []puller.SubstituteReference{{Kind: "ConfigMap", Name: "cluster-vars", Optional: true}}}}
	apps.Interval.Duration = 2 * 60e9
	return install.Options{
		Namespace: "gitless-system", Image: "ghcr.io/gitless-dev/gitless-puller:v0.1.0", LeaderElect: true, Webhook: true,
		Config: &config.PullerConfig{APIVersion: config.APIVersion, Kind: config.Kind,
			DefaultServiceAccount: "gitless-tenant",
			Webhook:               &puller.WebhookSecret{SecretRef: &puller.LocalObjectReference{Name: "gitless-webhook"}},
			Sources:               []puller.Source{apps}},
		Keys:              map[string]string{"cosign.pub": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEiwNSrHbHw9ZDue9b50Z4RR51olh6\nQ+1RhkYMf3AkJZtkbd7ycac2Y16GvO1Uj74U/39zQbBtjQBbm0RN2/4+TA==\n-----END PUBLIC KEY-----\n"},
		PullSecretExample: true,
	}
}

// examples/cluster is what the generator makes of exampleOptions: run
// `go test ./puller/install -run TestExampleClusterIsGenerated -update` after changing
// either.
func TestExampleClusterIsGenerated(t *testing.T) {
	files, err := install.Files(exampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "examples", "cluster")
	for _, f := range files {
		path := filepath.Join(dir, f.Name)
		if *update {
			if err := os.WriteFile(path, f.Content, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, f.Content) {
			t.Errorf("%s differs from the generator's output (go test ./puller/install -update):\n%s", path, f.Content)
		}
	}
}

// The configuration the install writes is the one it was given, as the puller reads
// it (YAML 1.1): a substituted value "on", "yes" or "1m0s" stays that string (it was
// written plain, read back as a boolean, and refused; or shortened as a duration), and
// a PEM key is written as a block.
func TestConfigYAMLRoundTrips(t *testing.T) {
	pem := "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
	c := &config.PullerConfig{APIVersion: config.APIVersion, Kind: config.Kind, Namespace: "gitless-system", Sources: []puller.Source{{
		Name: "a", URL: "oci://r.io/a", Verify: &verify.Policy{Keys: []string{pem}, InsecureIgnoreTlog: true},
		PostBuild: &puller.PostBuild{Substitute: map[string]string{"flag": "on", "yes": "yes", "interval": "1m0s", "n": "08"}},
	}}}
	b, err := install.ConfigYAML(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := config.Parse(b, config.Namespaces{})
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if !reflect.DeepEqual(back.Sources[0].PostBuild, c.Sources[0].PostBuild) || back.Sources[0].Verify.Keys[0] != pem {
		t.Errorf("read back %+v %q\n%s", back.Sources[0].PostBuild, back.Sources[0].Verify.Keys, b)
	}
	if !strings.Contains(string(b), "- |\n") {
		t.Errorf("the key is not a block:\n%s", b)
	}
}

// The manifests read as written by kubectl's YAML (1.1): a namespace named "on" or "y"
// (valid names) is quoted, not read back as a boolean.
func TestManifestsQuoteWhatYAMLWouldReadOtherwise(t *testing.T) {
	for _, ns := range []string{"on", "y", "no"} {
		out, err := install.Manifests(install.Options{Namespace: ns, Image: "example.com/puller:v1", Config: &config.PullerConfig{APIVersion: config.APIVersion, Kind: config.Kind}})
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(out), "\n---\n") {
			j, err := sigsyaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%s: %v", ns, err)
			}
			var obj struct {
				Metadata struct{ Name, Namespace any } `json:"metadata"`
			}
			if err := json.Unmarshal(j, &obj); err != nil {
				t.Fatal(err)
			}
			for _, v := range []any{obj.Metadata.Name, obj.Metadata.Namespace} {
				if _, ok := v.(bool); ok {
					t.Fatalf("namespace %q: a name read as a boolean in\n%s", ns, doc)
				}
			}
		}
	}
}
