package manifest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/manifest"
)

func cm(name, ns string) string {
	s := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n"
	if ns != "" {
		s += "  namespace: " + ns + "\n"
	}
	return s
}

func files(m map[string]string) []manifest.File {
	var fs []manifest.File
	for p, c := range m {
		fs = append(fs, manifest.File{Path: p, Data: []byte(c)})
	}
	return fs
}

const kust = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"

// TestCheckFiles: push refuses what render and the puller refuse, naming file, line
// and document, and accepts the shapes of kustomize trees.
func TestCheckFiles(t *testing.T) {
	for _, c := range []struct {
		name    string
		files   map[string]string
		is      error
		contain []string
	}{
		{name: "objects", files: map[string]string{"a.yaml": cm("a", "") + "---\n" + cm("b", ""), "b/c.yml": cm("c", "x"), "README.md": "# not read\n"}},
		{name: "empty documents and a List", files: map[string]string{"a.yaml": "---\n---\n# nothing\n---\napiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(cm("a", ""), "\n", "\n  ")}},
		{name: "no kind", files: map[string]string{"a.yaml": cm("a", "") + "---\napiVersion: v1\nmetadata: {name: b}\n"},
			is: manifest.ErrNotObject, contain: []string{"a.yaml:6 (document 2)", "without apiVersion and kind"}},
		{name: "kind empty", files: map[string]string{"a.yaml": "apiVersion: v1\nkind: ''\nmetadata: {name: b}\n"},
			is: manifest.ErrInvalidObject, contain: []string{"a.yaml:1", "kind is empty"}},
		{name: "no name", files: map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n"},
			is: manifest.ErrInvalidObject, contain: []string{"a.yaml:1", "v1 ConfigMap", "invalid Kubernetes object: no metadata.name"}},
		{name: "not a mapping", files: map[string]string{"a.yaml": cm("a", "") + "---\n- a\n"},
			is: manifest.ErrInvalidObject, contain: []string{"a.yaml:6 (document 2)", "a sequence, not a mapping"}},
		{name: "key twice", files: map[string]string{"a.yaml": cm("a", "") + "data:\n  k: 1\n  k: 2\n"},
			is: manifest.ErrInvalidObject, contain: []string{"a.yaml:7", `key "k" appears twice`}},
		{name: "null key (a fuzzing finding: the canonical YAML and the object disagreed)", files: map[string]string{"a.yaml": cm("a", "") + "data:\n  k: 1\n  ~: 2\n"},
			is: manifest.ErrInvalidObject, contain: []string{"a.yaml:7", "a mapping key is null"}},
		{name: "syntax", files: map[string]string{"d/a.yaml": cm("a", "") + "data: [\n"},
			is: manifest.ErrSyntax, contain: []string{"d/a.yaml:", "invalid YAML"}},
		{name: "syntax in a later document", files: map[string]string{"d/a.yaml": cm("a", "") + "---\n" + cm("b", "") + "---\ndata: [\n"},
			is: manifest.ErrSyntax, contain: []string{"d/a.yaml:", "(document 3)", "invalid YAML"}},
		{name: "kustomize: a patch's syntax, in a later document", files: map[string]string{
			"kustomization.yaml": kust + "resources: [cm.yaml]\npatches:\n- path: patch.yaml\n", "cm.yaml": cm("a", ""), "patch.yaml": "a: 1\n---\nb: [\n"},
			is: manifest.ErrSyntax, contain: []string{"patch.yaml:", "(document 2)"}},
		{name: "kustomize: a resource missing, one outside the tree; a directory, a JSON file and a URL are fine", files: map[string]string{
			"app/kustomization.yaml": kust + "resources: [cm.yaml, missing.yaml, ../../base, base, x.json, 'https://example.com/a.yaml', 'x@host/org/repo']\n",
			"app/cm.yaml":            cm("a", ""), "app/base/kustomization.yaml": kust + "resources: [b.yaml]\n", "app/base/b.yaml": cm("b", ""), "app/x.json": "{}"},
			is: manifest.ErrMissingResource, contain: []string{`app/kustomization.yaml: kustomization resource not in the tree: resources entry "missing.yaml": no file or directory app/missing.yaml`,
				`app/kustomization.yaml: kustomization resource not in the tree: resources entry "../../base" is outside the tree`}},
		{name: "duplicate", files: map[string]string{"a.yaml": cm("x", "ns"), "b/c.yaml": "# c\n" + cm("x", "ns")},
			is: manifest.ErrDuplicate, contain: []string{"duplicate object ConfigMap ns/x", "a.yaml:1", "b/c.yaml:2"}},
		{name: "cluster-scoped kinds ignore the namespace", files: map[string]string{
			"a.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: x, namespace: a}\n", "b.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n"},
			is: manifest.ErrDuplicate},
		{name: "same name in two namespaces", files: map[string]string{"a.yaml": cm("x", "a") + "---\n" + cm("x", "b")}},
		{name: "kustomize: patches and configurations need only parse", files: map[string]string{
			"kustomization.yaml":     kust + "resources: [cm.yaml, sub]\npatches:\n- path: patch.yaml\n",
			"cm.yaml":                cm("a", ""),
			"patch.yaml":             "- op: replace\n  path: /data/x\n  value: 1\n",
			"config/values.yaml":     "replicas: 3\n",
			"sub/kustomization.yaml": kust + "resources: [a.yaml]\n",
			"sub/a.yaml":             cm("a", ""), // another kustomization: namePrefix may tell them apart
		}},
		{name: "kustomize: resources must be objects", files: map[string]string{
			"app/kustomization.yaml": kust + "resources:\n- cm.yaml\n- ./more/b.yaml\n", "app/cm.yaml": cm("a", ""), "app/more/b.yaml": "replicas: 3\n"},
			is: manifest.ErrNotObject, contain: []string{"app/more/b.yaml:1"}},
		{name: "kustomize: duplicates among one kustomization's resources", files: map[string]string{
			"kustomization.yaml": kust + "resources: [a.yaml, b.yaml]\n", "a.yaml": cm("x", ""), "b.yaml": cm("x", "")},
			is: manifest.ErrDuplicate},
		{name: "kustomize: the kustomization must parse", files: map[string]string{"kustomization.yaml": kust + "resources: [\n"},
			is: manifest.ErrSyntax, contain: []string{"kustomization.yaml:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := manifest.CheckFiles(context.Background(), files(c.files), manifest.CheckOptions{})
			if c.is == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, c.is) {
				t.Fatalf("error %v is not %v", err, c.is)
			}
			for _, s := range c.contain {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
		})
	}
}

// Every file's error is reported, in path order, up to MaxErrors.
func TestCheckFilesReportsEveryError(t *testing.T) {
	fs := files(map[string]string{"c.yaml": "kind: x\n", "a.yaml": "a: [\n", "b.yaml": cm("ok", ""), "d.yaml": cm("ok", "")})
	err := manifest.CheckFiles(context.Background(), fs, manifest.CheckOptions{})
	var j interface{ Unwrap() []error }
	if !errors.As(err, &j) || len(j.Unwrap()) != 3 {
		t.Fatalf("want 3 errors, got %v", err)
	}
	got := j.Unwrap()
	if !strings.HasPrefix(got[0].Error(), "a.yaml:1") || !strings.HasPrefix(got[1].Error(), "c.yaml:1") || !errors.Is(got[2], manifest.ErrDuplicate) {
		t.Fatalf("errors out of order: %v", err)
	}
	err = manifest.CheckFiles(context.Background(), fs, manifest.CheckOptions{MaxErrors: 2})
	if !errors.As(err, &j) || len(j.Unwrap()) != 2 {
		t.Fatalf("want 2 errors, got %v", err)
	}
}

// The check refuses what kustomize refuses, whatever decoder it uses: a key twice (at
// any depth, also in flow style and after a merge), an alias bomb, a document that is
// not a mapping, tabs for indentation.
func TestCheckFilesRejectsWhatKustomizeRejects(t *testing.T) {
	for name, doc := range map[string]string{
		"top-level key twice": cm("a", "") + "kind: Secret\n",
		"nested key twice":    cm("a", "") + "data: {a: 1, a: 2}\n",
		"key twice in a list": cm("a", "") + "spec:\n  items:\n  - {x: 1, y: 2, x: 3}\n",
		"quoted key twice":    cm("a", "") + "data:\n  \"a\": 1\n  'a': 2\n",
		"alias bomb":          cm("a", "") + aliasBomb,
		"scalar document":     "hello\n",
		"tab indentation":     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n",
		"unclosed flow":       cm("a", "") + "data: {a: 1\n",
		"metadata a sequence": "apiVersion: v1\nkind: ConfigMap\nmetadata: [a]\n",
		"name a number":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 12}\n",
		"namespace a mapping": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: {x: 1}}\n",
		"key that is a list":  cm("a", "") + "data:\n  ? [a, b]\n  : 1\n",
		"unknown alias":       cm("a", "") + "data: *nope\n",
		"apiVersion null":     "apiVersion: null\nkind: ConfigMap\nmetadata: {name: a}\n",
	} {
		t.Run(name, func(t *testing.T) {
			err := manifest.CheckFiles(context.Background(), files(map[string]string{"a.yaml": doc}), manifest.CheckOptions{})
			if err == nil {
				t.Fatalf("accepted:\n%s", doc)
			}
			if _, perr := manifest.ParseYAML([]byte(doc), "a.yaml", manifest.ParseYAMLOptions{}); perr == nil {
				t.Fatalf("render's reader accepts what the check refuses:\n%s", doc)
			}
		})
	}
}

// Only the missing entries are reported: a directory with a kustomization, a JSON file
// and what kustomize would fetch are not.
func TestCheckFilesMissingResourcesOnly(t *testing.T) {
	files := []manifest.File{
		{Path: "app/kustomization.yaml", Data: []byte(kust + "resources: [cm.yaml, gone.yaml, base, ./x.json, 'https://example.com/a.yaml', 'x@host/org/repo', 'github.com/a/b']\n")},
		{Path: "app/cm.yaml", Data: []byte(cm("a", ""))},
		{Path: "app/base/kustomization.yaml", Data: []byte(kust + "resources: [b.yaml]\n")},
		{Path: "app/base/b.yaml", Data: []byte(cm("b", ""))},
		{Path: "app/x.json", Data: []byte("{}")},
	}
	err := manifest.CheckFiles(t.Context(), files, manifest.CheckOptions{})
	if n := strings.Count(fmt.Sprint(err), "not in the tree"); n != 1 || !strings.Contains(err.Error(), `"gone.yaml"`) {
		t.Fatalf("%d errors: %v", n, err)
	}
}

// Every problem of a file is reported, not only its first: a document that is no
// valid object does not hide the ones after it.
func TestCheckFilesReportsEveryDocument(t *testing.T) {
	data := cm("a", "") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: [x]}\n---\n" + cm("a", "")
	err := manifest.CheckFiles(t.Context(), []manifest.File{{Path: "all.yaml", Data: []byte(data)}}, manifest.CheckOptions{})
	for _, want := range []string{"(document 2): v1 ConfigMap: invalid Kubernetes object: no metadata.name", "(document 3): v1 ConfigMap: invalid Kubernetes object: metadata.name is a sequence", "duplicate object"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want %q in\n%v", want, err)
		}
	}
}

// The cap counts problems, not files: one file's many, or many files', stop at it; a
// document that is no mapping does not hide the ones after it.
func TestCheckFilesCapCountsProblems(t *testing.T) {
	count := func(err error) int { return strings.Count(fmt.Sprint(err), "invalid Kubernetes object") }
	noName := "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}\n"
	err := manifest.CheckFiles(t.Context(), []manifest.File{{Path: "a.yaml", Data: []byte(strings.Repeat(noName+"---\n", 10))}}, manifest.CheckOptions{MaxErrors: 3})
	if n := count(err); n != 3 {
		t.Errorf("one file, cap 3: %d problems", n)
	}
	var files []manifest.File
	for i := range 25 {
		files = append(files, manifest.File{Path: fmt.Sprintf("f%02d.yaml", i), Data: []byte(strings.Repeat(noName+"---\n", 16))})
	}
	if n := count(manifest.CheckFiles(t.Context(), files, manifest.CheckOptions{})); n != manifest.DefaultMaxErrors {
		t.Errorf("25 files, default cap: %d problems", n)
	}
	if n := count(manifest.CheckFiles(t.Context(), []manifest.File{{Path: "a.yaml", Data: []byte("- a list\n---\n" + noName)}}, manifest.CheckOptions{})); n != 2 {
		t.Errorf("a list, then an object without a name: %d problems", n)
	}
}
