package render_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/fstree"
	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/manifest/kustomize"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/internal/golden"
)

const cmA = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"

func cm(name, ns string) string {
	s := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n"
	if ns != "" {
		s += "  namespace: " + ns + "\n"
	}
	return s
}

// TestBadInput: every kind of bad input is an error that says where and what, wraps
// the right sentinel, and leaves no output behind.
func TestBadInput(t *testing.T) {
	kust := func(body string) string {
		return "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + body
	}
	cases := []struct {
		name    string
		files   map[string]string
		src     string // relative to the tree; "" for its root
		opts    func(*render.Options)
		is      error
		contain []string
	}{
		{name: "document is a sequence", files: map[string]string{"a.yaml": cmA + "---\n- a\n- b\n"},
			is: render.ErrInvalidObject, contain: []string{"a.yaml:6", "a sequence, not a mapping"}},
		{name: "document is a scalar", files: map[string]string{"a.yaml": "just text\n"},
			is: render.ErrInvalidObject, contain: []string{"a.yaml:1", "a string, not a mapping"}},
		{name: "a Helm chart in a YAML tree", files: map[string]string{"a.yaml": cmA, "charts/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 1.0.0\n",
			"charts/web/templates/cm.yaml": "{{ if .Values.x }}\n" + cmA + "{{ end }}\n"},
			is: render.ErrUnsupported, contain: []string{"charts/web", "a Helm chart inside a YAML tree"}},
		{name: "not a Kubernetes object", files: map[string]string{"app/values.yaml": "replicas: 3\n"},
			is: manifest.ErrNotObject, contain: []string{"app/values.yaml:1", "without apiVersion and kind"}},
		{name: "YAML syntax", files: map[string]string{"a.yaml": cmA + "data:\n  a: [1, 2\n"},
			contain: []string{"a.yaml:", "invalid YAML"}},
		{name: "no metadata.name", files: map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n"},
			is: render.ErrInvalidObject, contain: []string{"a.yaml:1", "v1 ConfigMap", "v1 ConfigMap: invalid Kubernetes object: no metadata.name"}},
		{name: "no metadata", files: map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\n"},
			is: render.ErrInvalidObject, contain: []string{"metadata is missing"}},
		{name: "kind not a string", files: map[string]string{"a.yaml": "apiVersion: v1\nkind: [ConfigMap]\nmetadata: {name: a}\n"},
			is: render.ErrInvalidObject, contain: []string{"kind is a sequence, not a string"}},
		{name: "key twice", files: map[string]string{"a.yaml": cmA + "data:\n  k: 1\n  k: 2\n"},
			is: render.ErrInvalidObject, contain: []string{"a.yaml:7", `key "k" appears twice`}},
		{name: "alias bomb", files: map[string]string{"a.yaml": cmA + aliasBomb},
			is: render.ErrInvalidObject, contain: []string{"aliases expand to more than"}},
		{name: "duplicate object", files: map[string]string{"a.yaml": cm("x", "ns"), "sub/b.yaml": "# b\n" + cm("x", "ns")},
			is: render.ErrDuplicate, contain: []string{"duplicate object ConfigMap ns/x", "a.yaml:1", "sub/b.yaml:2"}},
		{name: "duplicate after the default namespace", files: map[string]string{"a.yaml": cm("x", "ns"), "b.yaml": cm("x", "")},
			opts: func(o *render.Options) { o.Namespace = "ns" }, is: render.ErrDuplicate},
		{name: "file name would leave the output (..)", files: map[string]string{"a.yaml": cmA},
			opts: func(o *render.Options) { o.Format = "../{{.metadata.name}}" }, is: render.ErrUnsafePath, contain: []string{"outside the output directory"}},
		{name: "file name from a value would leave the output", files: map[string]string{"a.yaml": cm("..", "")},
			opts: func(o *render.Options) { o.Format = "{{.metadata.name}}/x" }, is: render.ErrUnsafePath, contain: []string{"outside the output directory"}},
		{name: "absolute file name", files: map[string]string{"a.yaml": cmA},
			opts: func(o *render.Options) { o.Format = "/tmp/{{.metadata.name}}" }, is: render.ErrUnsafePath, contain: []string{"absolute"}},
		{name: "two objects one file", files: map[string]string{"a.yaml": cm("x", "one") + "---\n" + cm("x", "two")},
			is: render.ErrUnsafePath, contain: []string{"one/x", "two/x", "v1.ConfigMap-x.yaml"}},
		{name: "file name of the kustomization", files: map[string]string{"a.yaml": cm("kustomization", "")},
			opts: func(o *render.Options) { o.Format = "{{.metadata.name}}" }, is: render.ErrUnsafePath, contain: []string{"kept for the generated kustomization"}},
		{name: "bad format template", files: map[string]string{"a.yaml": cmA},
			opts: func(o *render.Options) { o.Format = "{{.metadata.name" }, contain: []string{"file name format"}},
		{name: "empty source", files: map[string]string{"README.md": "nothing\n"}, is: render.ErrEmpty},
		{name: "source does not exist", files: map[string]string{}, src: "nope", is: render.ErrNotFound},
		{name: "cdk8s output empty", files: map[string]string{"cdk8s.yaml": "app: node main.js\n", "dist/.keep": ""},
			is: render.ErrEmpty, contain: []string{"cdk8s output", "empty"}},
		{name: "cdk8s output missing", files: map[string]string{"cdk8s.yaml": "app: node main.js\n"},
			is: render.ErrNotFound, contain: []string{"run cdk8s synth first"}},
		{name: "cdk8s output outside the app", files: map[string]string{"cdk8s.yaml": "output: ../elsewhere\n"},
			is: render.ErrUnsafePath},
		{name: "cdk8s synth fails", files: map[string]string{"cdk8s.yaml": "app: node main.js\n"},
			opts: func(o *render.Options) {
				o.Synth = true
				o.SynthCommand = []string{"sh", "-c", "echo synth broke >&2; exit 3"}
			}, contain: []string{"exit status 3", "synth broke"}},
		{name: "kustomize resource missing", files: map[string]string{"kustomization.yaml": kust("resources: [gone.yaml]\n")},
			is: kustomize.ErrRefused, contain: []string{"gone.yaml", "no such file or directory in the tree"}},
		{name: "kustomize remote base", files: map[string]string{"kustomization.yaml": kust("resources:\n- https://github.com/acme/app//deploy?ref=v1\n")},
			is: kustomize.ErrRefused, contain: []string{"remote resources are not allowed"}},
		{name: "kustomize scheme-less remote base", files: map[string]string{"kustomization.yaml": kust("resources:\n- github.com/acme/app/deploy\n")},
			is: kustomize.ErrRefused},
		{name: "kustomize remote base in a base", files: map[string]string{
			"overlay/kustomization.yaml": kust("resources: [../base]\n"),
			"base/kustomization.yaml":    kust("resources: [git@github.com:acme/app.git]\n")}, src: "overlay",
			is: kustomize.ErrRefused, contain: []string{"base/kustomization.yaml"}},
		{name: "kustomize remote file", files: map[string]string{"kustomization.yaml": kust("configMapGenerator:\n- name: x\n  files: [https://example.com/x.conf]\n")},
			is: kustomize.ErrRefused, contain: []string{"remote files are not allowed"}},
		{name: "kustomize helm", files: map[string]string{"kustomization.yaml": kust("helmCharts:\n- name: podinfo\n  repo: https://stefanprodan.github.io/podinfo\n")},
			is: kustomize.ErrRefused, contain: []string{"Helm"}},
		{name: "kustomize file outside the root", files: map[string]string{
			"app/kustomization.yaml": kust("configMapGenerator:\n- name: x\n  files: [../secret.txt]\n"), "secret.txt": "s3cr3t"}, src: "app",
			contain: []string{"kustomize build", "security; file", "is not in or below"}},
		{name: "kustomize exec plugin", files: map[string]string{
			"kustomization.yaml": kust("generators: [gen.yaml]\n"),
			"gen.yaml":           "apiVersion: example.com/v1\nkind: Exec\nmetadata:\n  name: x\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: /bin/sh\n"},
			contain: []string{"kustomize build", "external plugins disabled"}},
		{name: "kustomize build error", files: map[string]string{"kustomization.yaml": kust("resources: [a.yaml]\npatches:\n- patch: '[{\"op\": \"replace\", \"path\": \"/data/x\", \"value\": 1}]'\n  target: {kind: ConfigMap}\n"), "a.yaml": cmA},
			contain: []string{"kustomize build"}},
		{name: "no loader for the kind", files: map[string]string{"main.jsonnet": "{}"},
			is: render.ErrUnsupported, contain: []string{"no loader for jsonnet"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fstree.Write(t, c.files)
			opts := render.DefaultOptions()
			if c.opts != nil {
				c.opts(&opts)
			}
			parent := t.TempDir()
			out := filepath.Join(parent, "out")
			_, err := render.Render(context.Background(), out, opts, filepath.Join(dir, c.src))
			if err == nil {
				t.Fatal("rendered without an error")
			}
			t.Log(err)
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
			for _, s := range c.contain {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Errorf("left %d entries behind: %v", len(left), left[0].Name())
			}
		})
	}
}

// aliasBomb is the "billion laughs" in YAML: nine levels of nine aliases.
var aliasBomb = func() string {
	s := "data:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	for i := 1; i <= 9; i++ {
		p := "*a" + string(rune('0'+i-1))
		s += "  a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" + strings.Repeat(p+", ", 8) + p + "]\n"
	}
	return s
}()

func TestIgnoredNonObjects(t *testing.T) {
	dir := fstree.Write(t, map[string]string{"a.yaml": cmA, "values/values.yaml": "replicas: 3\n", "b/.gitlessignore": "extra.yaml\n", "b/extra.yaml": "x: 1\n"})
	opts := render.DefaultOptions()
	opts.Ignore = []string{"values/"}
	if _, err := render.Render(context.Background(), filepath.Join(t.TempDir(), "out"), opts, dir); err != nil {
		t.Fatal(err)
	}
}

func TestAllowEmpty(t *testing.T) {
	dir := fstree.Write(t, map[string]string{"README.md": "nothing\n"})
	opts := render.DefaultOptions()
	opts.AllowEmpty = true
	out, _ := renderTo(t, opts, dir)
	tree := golden.Tree(t, out)
	if len(tree) != 1 || !strings.Contains(tree["kustomization.yaml"], "kind: Kustomization") {
		t.Fatalf("empty render: %v", tree)
	}
}

// TestSeparateAllowsOverlap: objects may repeat across units with Separate only.
func TestSeparateAllowsOverlap(t *testing.T) {
	a := fstree.Write(t, map[string]string{"a.yaml": cm("x", "ns")})
	b := fstree.Write(t, map[string]string{"b.yaml": cm("x", "ns")})
	opts := render.DefaultOptions()
	_, err := render.Render(context.Background(), filepath.Join(t.TempDir(), "out"), opts, a, b)
	var de *render.DuplicateError
	if !errors.As(err, &de) || de.ID.String() != "ConfigMap ns/x" {
		t.Fatalf("overlapping units: %v", err)
	}
	opts.Separate = true
	if _, err := render.Render(context.Background(), filepath.Join(t.TempDir(), "out"), opts, a, b); err != nil {
		t.Fatalf("separate: %v", err)
	}
}

// TestOutputLeftUntouchedOnError: a failed render leaves an earlier output as it was.
func TestOutputLeftUntouchedOnError(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	if _, err := render.Render(context.Background(), out, render.DefaultOptions(), "testdata/yaml/nested"); err != nil {
		t.Fatal(err)
	}
	before := golden.Tree(t, out)
	bad := fstree.Write(t, map[string]string{"a.yaml": cmA, "b.yaml": "- not an object\n"})
	if _, err := render.Render(context.Background(), out, render.DefaultOptions(), bad); err == nil {
		t.Fatal("bad source rendered")
	}
	after := golden.Tree(t, out)
	if len(after) != len(before) {
		t.Fatalf("output changed: %d files, was %d", len(after), len(before))
	}
	for p, c := range before {
		if after[p] != c {
			t.Errorf("%s changed", p)
		}
	}
	if left, _ := os.ReadDir(filepath.Dir(out)); len(left) != 1 {
		t.Errorf("left temporary directories: %v", left)
	}
}

// TestOutputInUse: render replaces only what it wrote.
func TestOutputInUse(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"a hand-written tree":          {"deploy.yaml": cmA},
		"a hand-written kustomization": {"kustomization.yaml": "resources: [a.yaml]\n", "a.yaml": cmA},
		"a file beside a render":       {"kustomization.yaml": render.GeneratedHeader + "resources: []\n", "../notes.txt": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(fstree.Write(t, files))
			if name == "a file beside a render" {
				out = filepath.Dir(out) // holds notes.txt and the render below it
			}
			_, err := render.Render(context.Background(), out, render.DefaultOptions(), "testdata/yaml/nested")
			if !errors.Is(err, render.ErrOutputInUse) {
				t.Fatalf("rendering over %s: %v", name, err)
			}
		})
	}
	file := filepath.Join(t.TempDir(), "out")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := render.Render(context.Background(), file, render.DefaultOptions(), "testdata/yaml/nested"); !errors.Is(err, render.ErrOutputInUse) {
		t.Fatalf("rendering over a file: %v", err)
	}
}

func TestSymlinkedDirectoryRefused(t *testing.T) {
	dir := fstree.Write(t, map[string]string{"a.yaml": cmA})
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, "link")); err != nil {
		t.Skip(err)
	}
	_, err := render.Render(context.Background(), filepath.Join(t.TempDir(), "out"), render.DefaultOptions(), dir)
	if err == nil || !strings.Contains(err.Error(), "symbolic link to a directory") {
		t.Fatalf("symlinked directory: %v", err)
	}
}

// A link to a file is followed while it stays in the source; one out of it (to the CI's
// secrets beside the checkout) is refused, and what it leads to is not read.
func TestSymlinkedFileOutsideRefused(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.yaml")
	os.WriteFile(secret, []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: ci, namespace: n}\nstringData: {token: s3cret-marker}\n"), 0o644)
	dir := fstree.Write(t, map[string]string{"a.yaml": cmA, "shared/b.yaml": strings.ReplaceAll(cmA, "name: a", "name: b")})
	if err := os.Symlink(filepath.Join(dir, "shared", "b.yaml"), filepath.Join(dir, "b.yaml")); err != nil {
		t.Skip(err)
	}
	if _, err := render.Load(context.Background(), render.DefaultOptions(), dir); err != nil && !errors.Is(err, render.ErrDuplicate) {
		t.Fatalf("a link inside the source: %v", err)
	}
	os.Remove(filepath.Join(dir, "b.yaml"))
	os.Symlink(secret, filepath.Join(dir, "ci.yaml"))
	out := filepath.Join(t.TempDir(), "out")
	_, err := render.Render(context.Background(), out, render.DefaultOptions(), dir)
	if err == nil || !strings.Contains(err.Error(), "outside the source") || !strings.Contains(err.Error(), "ci.yaml") || strings.Contains(err.Error(), "s3cret-marker") {
		t.Fatalf("a link out of the source: %v", err)
	}
}

// TestCheck validates without a tree: what gitless-puller does with built manifests.
func TestCheck(t *testing.T) {
	objs, err := manifest.ParseYAML([]byte(cm("x", "")+"---\n"+cm("x", "apps")+"---\n"+cm("y", "")), "a.yaml", manifest.ParseYAMLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := render.DefaultOptions()
	if err := render.Check(context.Background(), []*render.Unit{{Objects: objs}}, opts); err != nil {
		t.Fatalf("no default namespace, no duplicate: %v", err)
	}
	opts.Namespace = "apps"
	err = render.Check(context.Background(), []*render.Unit{{Objects: objs}}, opts)
	var de *render.DuplicateError
	if !errors.As(err, &de) || de.First.Line != 1 || de.Second.Line != 6 || objs[2].Namespace() != "apps" {
		t.Fatalf("duplicate once defaulted: %v", err)
	}
	if err := render.Check(context.Background(), []*render.Unit{{Kind: render.KindYAML, Source: "empty"}}, render.DefaultOptions()); !errors.Is(err, render.ErrEmpty) {
		t.Fatalf("empty: %v", err)
	}
}

// A NUL in a value (YAML's "\0") is not a directory separator of the file name: the
// format's own "/" are the only ones.
func TestFormatValueWithNUL(t *testing.T) {
	dir := fstree.Write(t, map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations: {x: \"evil\\0dir\\0x\"}\n"})
	opts := render.DefaultOptions()
	opts.Format = `{{index .metadata.annotations "x"}}`
	out := filepath.Join(t.TempDir(), "out")
	if _, err := render.Render(context.Background(), out, opts, dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "evil_dir_x.yaml")); err != nil {
		t.Fatalf("want evil_dir_x.yaml: %v", err)
	}
}

// A kustomization that asks for more than MaxBuildBytes (a generator naming one file
// again and again: kustomize reads it each time) fails with kustomize's ErrTooLarge,
// naming the file, instead of taking the CI machine's memory.
func TestKustomizeBuildIsBounded(t *testing.T) {
	var k strings.Builder
	k.WriteString("configMapGenerator:\n- name: big\n  files:\n")
	for i := range 64 {
		fmt.Fprintf(&k, "  - k%d=big.txt\n", i)
	}
	dir := fstree.Write(t, map[string]string{"kustomization.yaml": k.String(), "big.txt": strings.Repeat("x", 64<<10)})
	opts := render.DefaultOptions()
	opts.MaxBuildBytes = 1 << 20 // the build asks for 4 MiB of reads, and as much of YAML
	_, err := render.Load(context.Background(), opts, dir)
	if !errors.Is(err, kustomize.ErrTooLarge) || !strings.Contains(err.Error(), "big.txt") {
		t.Fatalf("err = %v, want kustomize's ErrTooLarge naming big.txt", err)
	}
	opts.MaxBuildBytes = 0 // the default, 512 MiB
	if _, err := render.Load(context.Background(), opts, dir); err != nil {
		t.Fatalf("within the default: %v", err)
	}
}
