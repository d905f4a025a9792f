package manifest

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// yamlCorpus is every YAML file of the repository's examples and test data: what the
// quick path must take (most of it) and agree with yaml.v3 on (all of it).
func yamlCorpus(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, root := range []string{"../examples", "../render/testdata", "../artifact/testdata", "../internal/testenv/kube/testdata", "testdata"} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !IsYAMLName(p) {
				return nil
			}
			if b, err := os.ReadFile(p); err == nil {
				out[p] = b
			}
			return nil
		})
	}
	if len(out) < 50 {
		t.Fatalf("only %d YAML files in the corpus", len(out))
	}
	return out
}

// sameAsYAMLv3 fails when the quick path accepted a stream that yaml.v3 and the object
// checks refuse, or read other objects or origins from it.
func sameAsYAMLv3(t testing.TB, data []byte) (quick bool) {
	t.Helper()
	got, ok := quickObjects(data, "f.yaml")
	if !ok {
		return false
	}
	want, err := checkYAML(data, "f.yaml", DefaultMaxErrors)
	if err != nil {
		t.Fatalf("the quick path accepts what yaml.v3 refuses (%v):\n%s", err, data)
	}
	if g, w := describeObjects(got), describeObjects(want); g != w {
		t.Fatalf("the quick path reads\n%s\nyaml.v3 reads\n%s\nfrom:\n%s", g, w, data)
	}
	return true
}

func describeObjects(objs []*Object) string {
	var b strings.Builder
	for _, o := range objs {
		fmt.Fprintf(&b, "%s %q %q %q %q\n", o.Origin, o.apiVersion, o.kind, o.name, o.namespace)
	}
	return b.String()
}

func TestQuickObjectsAgreeOnTheCorpus(t *testing.T) {
	quick := 0
	corpus := yamlCorpus(t)
	for p, b := range corpus {
		if sameAsYAMLv3(t, b) {
			quick++
		} else if strings.Contains(p, "golden") && !strings.HasSuffix(p, "kustomization.yaml") && !strings.Contains(p, "CustomResourceDefinition") {
			t.Errorf("%s: render's own output takes the slow path", p)
		}
	}
	t.Logf("quick path for %d of %d files", quick, len(corpus))
}

// Each of these is valid YAML that yaml.v3 reads differently from a naive reading, or
// invalid YAML: the quick path must leave all of them to yaml.v3, or agree with it.
func TestQuickObjectsLeaveTheHardCasesToYAMLv3(t *testing.T) {
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
	for name, doc := range map[string]string{
		"key twice":                 cm + "data:\n  k: 1\n  k: 2\n",
		"key twice at the top":      cm + "kind: Secret\n",
		"key twice in an item":      cm + "items2:\n- a: 1\n  a: 2\n",
		"quoted key twice":          cm + "data:\n  a: 1\n  \"a\": 2\n",
		"single-quoted key twice":   cm + "data:\n  'a': 1\n  \"a\": 2\n",
		"quoted key with escape":    cm + "data:\n  \"a\\tb\": 1\n",
		"name with colon space":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a: b\n",
		"anchor and alias":          cm + "data:\n  a: &x 1\n  b: *x\n",
		"tab":                       "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n",
		"carriage return":           strings.ReplaceAll(cm, "\n", "\r\n"),
		"flow mapping":              "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"kind true":                 "apiVersion: v1\nkind: true\nmetadata:\n  name: a\n",
		"name a number":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 123\n",
		"name a timestamp":          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 2001-12-14\n",
		"namespace null":            cm + "  namespace: null\n",
		"namespace empty":           cm + "  namespace:\n",
		"no kind":                   "apiVersion: v1\nmetadata:\n  name: a\n",
		"list":                      "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(cm, "\n", "\n  "),
		"multi-line plain scalar":   cm + "data:\n  a: one\n    two\n",
		"block scalar dedent":       cm + "data:\n  a: |\n      four\n    two\n",
		"block scalar indicator":    cm + "data:\n  a: |2\n    x\n",
		"mapping value in a scalar": cm + "data:\n  a: b: c\n",
		"scalar document":           "hello\n",
		"sequence document":         "- a\n",
		"indented root":             "  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n",
		"directive":                 "%YAML 1.2\n---\n" + cm,
		"document end":              cm + "...\n",
		"non-ASCII":                 cm + "data:\n  a: café\n",
		"deep":                      cm + "x:\n" + strings.Repeat("  ", 0) + deep(150),
		"unclosed quote":            cm + "data:\n  a: \"b\n",
		"hex escape":                cm + "data:\n  a: \"\\x41\"\n",
		"CRD":                       "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: a.b\n",
		"spaces-only line in block": cm + "data:\n  a: |\n    x\n      \n    y\n",
		"comment-like in block":     cm + "data:\n  a: |\n    # not a comment\n    b: c\n  b: 2\n",
		"separator with content":    cm + "--- {}\n",
		"bad second document":       cm + "---\nkind: x\n  bad: [\n",
	} {
		t.Run(name, func(t *testing.T) { sameAsYAMLv3(t, []byte(doc)) })
	}
}

func deep(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%sk%d:\n", strings.Repeat("  ", i+1), i)
	}
	return b.String()
}

// The quick path takes what generators write, and reads the same objects.
func TestQuickObjectsTakeGeneratedYAML(t *testing.T) {
	doc := `# Source: chart/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop # a comment
  labels:
    app.kubernetes.io/name: web
  annotations: {}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: web
        image: "ghcr.io/acme/web:1.2.3"
        args: []
        command:
          - /bin/web
          - --listen=:8080
        env:
        - name: A
          value: 'it''s'
      - name: sidecar
        image: envoy
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  app.yaml: |
    server:
      port: 8080

    routes: [a, b]
  other: >-
    folded
    text
`
	if !sameAsYAMLv3(t, []byte(doc)) {
		t.Fatal("the quick path left generated YAML to yaml.v3")
	}
	objs, _ := quickObjects([]byte(doc), "f.yaml")
	if len(objs) != 2 || objs[1].Origin.Document != 2 || objs[1].Origin.Line != 27 || objs[0].namespace != "shop" {
		t.Fatalf("%s", describeObjects(objs))
	}
}

// FuzzQuickObjects: whatever the input, the quick path either leaves it to yaml.v3 or
// reads exactly what yaml.v3 and the object checks read.
func FuzzQuickObjects(f *testing.F) {
	for _, b := range yamlCorpus(f) {
		f.Add(b)
	}
	f.Add([]byte("a: 1\n---\nb: 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsYAMLv3(t, data)
		if _, ok := quickObjects(data, "f.yaml"); ok && bytes.Contains(data, []byte("\t")) {
			t.Fatal("took a tab")
		}
	})
}

// Random documents in the quick path's subset and around its edges (tricky scalars,
// duplicate keys, mis-indented lines, block scalars), each held to yaml.v3: a
// structured complement to the fuzzer, which mostly breaks the syntax early.
func TestQuickObjectsRandomDocuments(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	scalars := []string{"a", "web", "1", "01", "-1", "1e3", "0x1F", ".5", "true", "no", "yes", "null", "~", "", "a:b", "a: b", "a:", ":a",
		"http://x:80/p", "a #c", "a#b", "'q'", "'it''s'", `"d"`, `"a\"b"`, `"\t"`, "- a", "-a", "--flag", "?a", "? a", "a,b", "[]", "{}", "[a]",
		"{a: 1}", `["a", "b"]`, "[a, b]", "{a: 1, b: x}", "[a:b]", `["x #y"]`, "[a #c]", "{a: 1, a: 2}", "{~: 1}", "{null: a}", "[http://x:80]",
		"[a, , b]", "[a, b,]", `["--l=:8080"]`, "{a: [b]}", "[a: b]", "{a: b: c}", "['it''s', \"q\\\"\"]", "[ a ,b ]", "{ a: 1 }", "[a] x", "[a] # c",
		"{a:1}", "{a: }", "{: a}", "[-a, -1, --x]", "[- a]", "[?a]", "[a,b]", "{\"a\": 1}", "[a\tb]", "&x a", "*x", "!t a", "|", "|-", ">+", "|1", "@a", "`a", "%a", "2001-12-14", ">", "a - b", "---", "...", "a b c", "<<", "=", "'unclosed", `"unclosed`}
	keys := []string{"a", "b", "name", "kind", "apiVersion", "metadata", "namespace", "on", "1", `"q"`, "'q'", "a b", "a:b", "-k", "<<", "k#", "~", "null", "NULL", `"~"`}
	safe := []string{"a", "web", "1", "true", "no", "", "a:b", "http://x:80/p", "a #c", "'it''s'", `"d"`, "--flag", "[]", "{}", "a b c",
		`["--config=/etc/app.yaml", "--listen=:8080"]`, "[a, b]", "{a: 1, b: x}"}
	scalar := func() string {
		if rng.IntN(5) > 0 {
			return safe[rng.IntN(len(safe))]
		}
		return scalars[rng.IntN(len(scalars))]
	}
	key := func() string {
		if rng.IntN(6) > 0 {
			return fmt.Sprintf("k%d", rng.IntN(40))
		}
		return keys[rng.IntN(len(keys))]
	}
	var gen func(b *strings.Builder, indent, depth int)
	gen = func(b *strings.Builder, indent, depth int) {
		pad := strings.Repeat(" ", indent)
		for range 1 + rng.IntN(4) {
			switch r := rng.IntN(10); {
			case r < 5 || depth > 3:
				fmt.Fprintf(b, "%s%s: %s\n", pad, key(), scalar())
			case r < 7:
				fmt.Fprintf(b, "%s%s:\n", pad, key())
				gen(b, indent+1+rng.IntN(3), depth+1)
			case r < 9:
				fmt.Fprintf(b, "%s%s:\n", pad, key())
				in := indent + rng.IntN(3)
				for range 1 + rng.IntN(3) {
					if rng.IntN(2) == 0 {
						fmt.Fprintf(b, "%s- %s\n", strings.Repeat(" ", in), scalar())
					} else {
						fmt.Fprintf(b, "%s- %s: %s\n", strings.Repeat(" ", in), key(), scalar())
						if rng.IntN(2) == 0 {
							fmt.Fprintf(b, "%s  %s: %s\n", strings.Repeat(" ", in), key(), scalar())
						}
					}
				}
			default:
				fmt.Fprintf(b, "%s%s: |\n", pad, key())
				for range rng.IntN(4) {
					fmt.Fprintf(b, "%s%s\n", strings.Repeat(" ", indent+rng.IntN(4)), scalar())
				}
			}
			if rng.IntN(8) == 0 {
				fmt.Fprintf(b, "%s# comment\n", strings.Repeat(" ", rng.IntN(6)))
			}
		}
	}
	const streams = 20000
	quick := 0
	for i := range streams {
		var b strings.Builder
		for d := range 1 + rng.IntN(3) {
			if d > 0 || rng.IntN(3) == 0 {
				b.WriteString("---\n")
			}
			fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n", []string{"v1", "apps/v1", "1"}[rng.IntN(3)],
				[]string{"ConfigMap", "List", "Deployment"}[rng.IntN(3)], []string{"a", "b", "system:x", "true", `"q"`}[rng.IntN(5)])
			if rng.IntN(3) == 0 {
				fmt.Fprintf(&b, "  namespace: %s\n", []string{"ns", "", "null", "'ns'"}[rng.IntN(4)])
			}
			gen(&b, 0, 0)
		}
		if sameAsYAMLv3(t, []byte(b.String())) {
			quick++
		}
		if i == 0 && testing.Short() {
			break
		}
	}
	t.Logf("quick path for %d of %d random streams", quick, streams)
	if quick < 100 && !testing.Short() {
		t.Fatalf("the quick path took only %d random streams: the generator no longer tests it", quick)
	}
}

// benchTree is 100 files of 10 objects each, in the style of bench/gentree.
func benchTree() []File {
	var files []File
	for f := range 100 {
		var b strings.Builder
		for o := range 10 {
			fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%03d-%d
  namespace: team-%02d
  labels:
    app.kubernetes.io/name: app-%03d
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: registry.example.com/app@sha256:6e0dbc128807e9d24f97fb71b8b2c8eed880d2b877b523b96b1270681953cd8c
          args: ["--config=/etc/app/app.yaml", "--listen=:8080"]
          env:
            - name: LOG_LEVEL
              value: "info"
          resources:
            limits: {cpu: 500m, memory: 256Mi}
      volumes:
        - name: config
          configMap:
            name: app-config
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg-%03d-%d
  namespace: team-%02d
data:
  app.yaml: |
    server:
      port: 8080
    routes:
      - path: /api/v1/feed
        backend: profile
`, f, o, f%10, f, f, o, f%10)
		}
		files = append(files, File{Path: fmt.Sprintf("team/%03d.yaml", f), Data: []byte(b.String())})
	}
	return files
}

// BenchmarkCheckFiles: the check push runs on 2,000 objects in 100 files, with the quick
// path, against yaml.v3 for every file (what the check cost before).
func BenchmarkCheckFiles(b *testing.B) {
	files := benchTree()
	for _, f := range files {
		if _, ok := quickObjects(f.Data, f.Path); !ok {
			b.Fatalf("%s takes the slow path", f.Path)
		}
	}
	b.Run("quick", func(b *testing.B) {
		for b.Loop() {
			if err := CheckFiles(context.Background(), files, CheckOptions{Parallelism: 1}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("yaml.v3", func(b *testing.B) {
		for b.Loop() {
			for _, f := range files {
				if _, err := checkYAML(f.Data, f.Path, DefaultMaxErrors); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
