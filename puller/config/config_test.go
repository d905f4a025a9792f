package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/config"
)

const good = `apiVersion: gitless.dev/v1alpha1
kind: PullerConfig
namespace: gitless-system
sources:
- name: infra-controllers
  url: oci://ghcr.io/acme/infra
  ref: {semver: ">=1.0.0"}
  path: controllers
  verify:
    keys: [/etc/gitless/cosign.pub]
  pullSecret: ghcr
  prune: true
  interval: 5m
- name: apps
  url: oci://ghcr.io/acme/apps:production
  verify:
    identities:
    - issuer: https://token.actions.githubusercontent.com
      subjectRegexp: https://github\.com/acme/apps/\.github/workflows/release\.yml@refs/tags/v.*
  dependsOn: [infra-controllers]
  targetNamespace: apps
  wait: true
  timeout: 2m
`

func TestParseGood(t *testing.T) {
	c, err := config.Parse([]byte(good), config.Namespaces{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 2 || c.Sources[0].Interval.Duration != 5*time.Minute || c.Sources[0].Ref.SemVer != ">=1.0.0" ||
		c.Sources[1].Verify.Identities[0].Issuer != "https://token.actions.githubusercontent.com" || !c.Sources[1].Wait {
		t.Fatalf("%+v", c)
	}
	s := c.Sources[1].WithDefaults()
	if s.Ref.Tag != "production" || s.Interval.Duration != puller.DefaultInterval {
		t.Fatalf("%+v", s)
	}
	c, err = config.Parse([]byte(strings.Replace(good, "namespace: gitless-system\n", "", 1)), config.Namespaces{Default: "from-env"})
	if err != nil || c.Namespace != "from-env" {
		t.Fatalf("%v %v", c, err)
	}
}

func TestParseNamesTheOffendingField(t *testing.T) {
	for _, tc := range []struct{ old, new, field string }{
		{"apiVersion: gitless.dev/v1alpha1", "apiVersion: v1", "apiVersion"},
		{"kind: PullerConfig", "kind: Config", "kind"},
		{"  prune: true", "  prun: true", "sources[0].prun"},
		{"      subjectRegexp", "      subjctRegexp", "sources[1].verify.identities[0].subjctRegexp"},
		{"  prune: true", "  prune: yes please", "sources[0].prune"},
		{"  wait: true", "  wait: [true]", "sources[1].wait"},
		{`{semver: ">=1.0.0"}`, `{semver: ">=1.0.0", tag: v1}`, "sources[0].ref"},
		{`{semver: ">=1.0.0"}`, `{semver: "not a range"}`, "sources[0].ref.semver"},
		{"  path: controllers", "  path: ../etc", "sources[0].path"},
		{"url: oci://ghcr.io/acme/infra", "url: https://ghcr.io/acme/infra", "sources[0].url"},
		{"- name: apps", "- name: Apps", "sources[1].name"},
		{"- name: apps", "- name: infra-controllers", "sources[1].dependsOn[0]"},
		{"  dependsOn: [infra-controllers]\n", "  dependsOn: [apps]\n", "sources[1].dependsOn[0]"},
		{"[infra-controllers]", "[nope]", "sources[1].dependsOn[0]"},
		{"[infra-controllers]", "[{name: infra-controllers, namespace: flux-system}]", "sources[1].dependsOn[0].namespace"},
		{"[infra-controllers]", "[{nam: infra-controllers}]", "sources[1].dependsOn[0].nam"},
		{"[infra-controllers]", "[{name: nope}]", "sources[1].dependsOn[0]"},
		{"    keys: [/etc/gitless/cosign.pub]", "    keys: []", "sources[0].verify.keys"},
		{"      subjectRegexp: https", "      issuerRegexp: x\n      subjectRegexp: https", "sources[1].verify.identities[0]"},
		{"  interval: 5m", "  interval: 5 minutes", "sources[0].interval"},
		{"  interval: 5m", "  interval: 10ms", "sources[0].interval"},
		{"  pullSecret: ghcr", "  pullSecret: Bad_Name", "sources[0].pullSecret"},
		// Tenancy: an account lives in the tenant's namespace, never implicitly in the
		// puller's; a pull secret of another namespace needs allowCrossNamespaceRefs.
		{"  pullSecret: ghcr", "  serviceAccountName: deployer", "sources[0].serviceAccountName"},
		{"  pullSecret: ghcr", "  pullSecret: other/ghcr", "sources[0].pullSecret"},
		{"  targetNamespace: apps", "  targetNamespace: apps\n  serviceAccountName: deployer\n  pullSecret: gitless-system/ghcr", "sources[1].pullSecret"},
		{"namespace: gitless-system\n", "namespace: gitless-system\ndefaultServiceAccount: gitless-tenant\n", "sources[0].targetNamespace"},
		{"namespace: gitless-system\n", "namespace: gitless-system\ndefaultServiceAccount: Bad_SA\n", "defaultServiceAccount"},
		{"namespace: gitless-system\n", "namespace: gitless-system\nlimits: {list: {maxPages: -1}}\n", "limits.list.maxPages"},
		{"namespace: gitless-system\n", "namespace: gitless-system\nlimits: {extract: {maxEntries: -1}}\n", "limits.extract.maxEntries"},
		{"namespace: gitless-system\n", "namespace: gitless-system\nlimits: {extract: {maxDepth: -1}}\n", "limits.extract.maxDepth"},
		{"namespace: gitless-system\n", "namespace: gitless-system\nlimits: {extract: {maxFiles: 10}}\n", "limits.extract.maxFiles"},
	} {
		doc := strings.Replace(good, tc.old, tc.new, 1)
		if doc == good {
			t.Fatalf("%q not in the document", tc.old)
		}
		_, err := config.Parse([]byte(doc), config.Namespaces{})
		var fe *puller.FieldError
		if !errors.As(err, &fe) || !errors.Is(err, puller.ErrInvalidSource) || !strings.HasPrefix(fe.Field, tc.field) {
			t.Errorf("%s → %s: err = %v, want the field %s named", tc.old, tc.new, err, tc.field)
		}
	}
	dup := strings.Replace(strings.Replace(good, "- name: apps", "- name: infra-controllers", 1), "  dependsOn: [infra-controllers]\n", "", 1)
	if _, err := config.Parse([]byte(dup), config.Namespaces{}); err == nil || !strings.Contains(err.Error(), "sources[1].name") || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("err = %v", err)
	}
	if _, err := config.Parse([]byte(strings.Replace(good, "  pullSecret: ghcr", "  pullSecret: a.b/ghcr", 1)), config.Namespaces{}); err == nil || !strings.Contains(err.Error(), "want NAME or NAMESPACE/NAME") {
		t.Errorf("a pull secret in the namespace a.b (not a namespace name): err = %v", err)
	}
	// Flux's form of a dependency, as a Kustomization's dependsOn ports unchanged.
	if c, err := config.Parse([]byte(strings.Replace(good, "[infra-controllers]", "[{name: infra-controllers}]", 1)), config.Namespaces{}); err != nil || len(c.Sources[1].DependsOn) != 1 || c.Sources[1].DependsOn[0] != "infra-controllers" {
		t.Fatalf("{name: …}: %v %+v", err, c)
	}
	missingVerify := strings.Replace(good, "  verify:\n    keys: [/etc/gitless/cosign.pub]\n", "", 1)
	if _, err := config.Parse([]byte(missingVerify), config.Namespaces{}); err == nil || !strings.Contains(err.Error(), "sources[0].verify: required") {
		t.Fatalf("err = %v", err)
	}
}

// A url may name a tag and a digest (REPO:TAG@DIGEST): the digest pins the source, the
// tag is a label. A ref that says otherwise than the url is refused, naming both.
func TestParseURLWithTagAndDigest(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	doc := strings.Replace(good, "url: oci://ghcr.io/acme/apps:production", "url: oci://ghcr.io/acme/apps:production@"+d, 1)
	c, err := config.Parse([]byte(doc), config.Namespaces{})
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Sources[1].WithDefaults().Ref; r != (puller.Ref{Digest: d}) {
		t.Errorf("ref %+v, want the digest only", r)
	}
	for ref, ok := range map[string]bool{"{digest: " + d + "}": true, "{tag: production}": false, "{semver: '>=1'}": false} {
		withRef := strings.Replace(doc, "  targetNamespace: apps\n", "  targetNamespace: apps\n  ref: "+ref+"\n", 1)
		_, err := config.Parse([]byte(withRef), config.Namespaces{})
		var fe *puller.FieldError
		if ok != (err == nil) || !ok && (!errors.As(err, &fe) || fe.Field != "sources[1].ref" || !strings.Contains(err.Error(), "the url names digest "+d)) {
			t.Errorf("ref %s: err = %v, want ok %v", ref, err, ok)
		}
	}
}

// The file is one YAML document with no key twice: what a second document or a repeated
// key says would otherwise be dropped without a word.
func TestParseRefusesWhatItWouldDrop(t *testing.T) {
	for name, doc := range map[string]string{
		"a key twice":           strings.Replace(good, "namespace: gitless-system\n", "namespace: gitless-system\nnamespace: other\n", 1),
		"a key twice, deep":     strings.Replace(good, "  prune: true\n", "  prune: true\n  prune: false\n", 1),
		"a second document":     good + "---\napiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nsources: []\n",
		"a second, any kind":    good + "---\nsources: []\n",
		"a second, broken":      good + "---\nsources: [\n",
		"a second, null-tagged": good + "---\n!!null x\n",
		"a second, a scalar":    good + "---\nx\n",
	} {
		_, err := config.Parse([]byte(doc), config.Namespaces{})
		var fe *puller.FieldError
		if !errors.As(err, &fe) || fe.Field != "(file)" {
			t.Errorf("%s: err = %v, want the file refused", name, err)
		}
	}
	// An empty document after the first, or a comment, is nothing dropped.
	for _, tail := range []string{"---\n# the end\n", "---\n", "---\n~\n", "---\nnull\n"} {
		if _, err := config.Parse([]byte(good+tail), config.Namespaces{}); err != nil {
			t.Errorf("a trailing empty document %q: %v", tail, err)
		}
	}
}

// The puller's --namespace (Namespaces.Override) replaces the file's before the file is
// checked: a tenant source whose targetNamespace is that namespace is refused, as it is
// when the file names it.
func TestParseChecksTheOverriddenNamespace(t *testing.T) {
	doc := strings.Replace(good, "namespace: gitless-system\n", "namespace: gitless-system\ndefaultServiceAccount: gitless-tenant\n", 1)
	doc = strings.Replace(doc, "  pullSecret: ghcr", "  pullSecret: ghcr\n  serviceAccountName: gitless-system/platform", 1)
	c, err := config.Parse([]byte(doc), config.Namespaces{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != "gitless-system" {
		t.Fatalf("namespace %q", c.Namespace)
	}
	_, err = config.Parse([]byte(doc), config.Namespaces{Default: "x", Override: "apps"})
	var fe *puller.FieldError
	if !errors.As(err, &fe) || fe.Field != "sources[1].targetNamespace" || !strings.Contains(err.Error(), "the puller's own namespace") {
		t.Fatalf("--namespace apps, the tenant's namespace: err = %v, want sources[1].targetNamespace refused", err)
	}
	if c, err := config.Parse([]byte(doc), config.Namespaces{Default: "x", Override: "ops"}); err != nil || c.Namespace != "ops" {
		t.Fatalf("--namespace ops: %v %v", c, err)
	}
}

// The lockdown: sources act as the default account of their namespace, or name one
// explicitly; the platform's as NAMESPACE/NAME; limits parse.
func TestParseTenancyAndLimits(t *testing.T) {
	doc := strings.Replace(good, "namespace: gitless-system\n", "namespace: gitless-system\ndefaultServiceAccount: gitless-tenant\nallowCrossNamespaceRefs: true\nlimits: {list: {maxPages: 50, maxBytes: 1048576}, extract: {maxEntries: 5000, maxDepth: 8, maxPathLength: 200}}\n", 1)
	doc = strings.Replace(doc, "  pullSecret: ghcr", "  pullSecret: ghcr\n  serviceAccountName: gitless-system/platform", 1)
	c, err := config.Parse([]byte(doc), config.Namespaces{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Limits.List.MaxPages != 50 || c.Limits.List.MaxBytes != 1<<20 || c.Limits.Extract.MaxEntries != 5000 || c.Limits.Extract.MaxDepth != 8 || c.Limits.Extract.MaxPathLength != 200 {
		t.Fatalf("%+v", c.Limits)
	}
	for i, want := range []puller.Identity{{ServiceAccount: "gitless-system/platform", Namespace: "gitless-system"}, {ServiceAccount: "apps/gitless-tenant", Namespace: "apps"}} {
		if id, err := c.Tenancy().Identity(c.Sources[i], c.Namespace); err != nil || id != want {
			t.Errorf("sources[%d]: %+v %v, want %+v", i, id, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nsources: [{name: a, url: 'oci://x.io/y', insecureSkipVerify: true}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, config.Namespaces{})
		if err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("parsed but invalid: %v", err)
			}
			if _, err := puller.Order(c.Sources); err != nil {
				t.Fatal(err)
			}
		} else if !errors.Is(err, puller.ErrInvalidSource) {
			t.Fatalf("error not classified: %v", err)
		}
	})
}

// The YAML of docs/puller-config.md is what Parse takes: the example file as it stands,
// and the limits block inside a minimal file (with the values it shows as the defaults).
func TestDocExamplesParse(t *testing.T) {
	blocks := docBlocks(t, "../../docs/puller-config.md")
	if len(blocks) != 2 {
		t.Fatalf("%d yaml blocks, want the example and the limits", len(blocks))
	}
	c, err := config.Parse([]byte(blocks[0]), config.Namespaces{})
	if err != nil {
		t.Fatalf("the example: %v", err)
	}
	if len(c.Sources) == 0 {
		t.Fatal("the example has no sources")
	}
	minimal := "apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nsources: []\n" + blocks[1]
	withLimits, err := config.Parse([]byte(minimal), config.Namespaces{})
	if err != nil {
		t.Fatalf("the limits: %v", err)
	}
	// Zero fields take these defaults: the doc shows them.
	defaults := config.Limits{List: remote.DefaultListLimits(), Extract: artifact.DefaultLimits()}
	if !reflect.DeepEqual(withLimits.Limits, defaults) {
		t.Errorf("the limits the doc shows %+v are not the defaults %+v", withLimits.Limits, defaults)
	}
}
