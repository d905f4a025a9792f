package jsonnet_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/fstree"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/internal/golden"
	"github.com/gitless-dev/gitless/render/jsonnet"
)

const examples = "../../examples"

func options(jo jsonnet.Options) render.Options {
	o := render.DefaultOptions()
	l := jsonnet.NewLoader(jo)
	o.Loaders[render.KindJsonnet], o.Loaders[render.KindTanka] = l, l
	return o
}

func TestGolden(t *testing.T) {
	replicas := map[string]string{"replicas": "2"}
	cases := []struct {
		name    string
		sources []string
		jo      jsonnet.Options
		opts    func(*render.Options)
	}{
		{name: "tanka-default", sources: []string{examples + "/tanka/environments/default"}, jo: jsonnet.Options{ExtVars: replicas}},
		{name: "tanka-default", sources: []string{examples + "/tanka/environments/default/main.jsonnet"}, jo: jsonnet.Options{ExtVars: replicas}},
		{name: "tanka-project", sources: []string{examples + "/tanka"}, jo: jsonnet.Options{ExtVars: replicas}},
		{name: "tanka-select", sources: []string{examples + "/tanka"},
			jo: jsonnet.Options{Envs: []string{"environments/prod", "inline-staging"}, TLAVars: map[string]string{"image": "ghcr.io/acme/web:2.0.1"}}},
		{name: "tanka-format", sources: []string{examples + "/tanka/environments/default"}, jo: jsonnet.Options{ExtVars: replicas},
			opts: func(o *render.Options) { o.Format = "{{.metadata.namespace}}/{{.kind}}/{{.metadata.name}}" }},
		{name: "jsonnet-app", sources: []string{examples + "/jsonnet/app.jsonnet"},
			jo: jsonnet.Options{JPath: []string{examples + "/jsonnet/lib"}, TLAVars: map[string]string{"tag": "6.14.0"}, TLACode: map[string]string{"replicas": "1 + 2"}}},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+filepath.Base(c.sources[0]), func(t *testing.T) {
			opts := options(c.jo)
			if c.opts != nil {
				c.opts(&opts)
			}
			out := filepath.Join(t.TempDir(), "out")
			if _, err := render.Render(context.Background(), out, opts, c.sources...); err != nil {
				t.Fatal(err)
			}
			golden.Compare(t, out, filepath.Join("../testdata/golden", c.name))
		})
	}
}

const project = `{"version": 1, "dependencies": []}`

func TestBadInput(t *testing.T) {
	cases := []struct {
		name    string
		files   map[string]string
		src     string
		kind    render.Kind
		jo      jsonnet.Options
		is      error
		contain []string
		check   func(t *testing.T, e *jsonnet.EvalError)
	}{
		{name: "syntax error", files: map[string]string{"jsonnetfile.json": project, "environments/a/main.jsonnet": "{\n  a: [1, 2,\n  b: 3\n"},
			src: "environments/a", contain: []string{"environments/a/main.jsonnet:3:", "STATIC ERROR"},
			check: func(t *testing.T, e *jsonnet.EvalError) {
				if e.Runtime || e.Line != 3 || e.Column == 0 || !strings.HasSuffix(e.File, "environments/a/main.jsonnet") {
					t.Errorf("static error %+v", e)
				}
			}},
		{name: "runtime error with stack", files: map[string]string{"jsonnetfile.json": project,
			"lib/util.libsonnet":          "{\n  check(x):: if x > 1 then error 'too many: ' + x else x,\n}\n",
			"environments/a/main.jsonnet": "local u = import 'util.libsonnet';\n{\n  cm: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { n: '' + u.check(5) } },\n}\n"},
			src: "environments/a", contain: []string{"lib/util.libsonnet:2:", "RUNTIME ERROR: too many: 5", "environments/a/main.jsonnet:3:"},
			check: func(t *testing.T, e *jsonnet.EvalError) {
				if !e.Runtime || e.Line != 2 || len(e.Stack) < 2 || !strings.HasSuffix(e.Stack[len(e.Stack)-1].File, "main.jsonnet") {
					t.Errorf("runtime error %+v", e)
				}
			}},
		{name: "import not found", files: map[string]string{"jsonnetfile.json": project, "environments/a/main.jsonnet": "import 'k.libsonnet'\n"},
			src: "environments/a", contain: []string{`import "k.libsonnet" not found; searched`, "environments/a/k.libsonnet", "lib/k.libsonnet", "environments/a/vendor/k.libsonnet", "/vendor/k.libsonnet", "main.jsonnet:1:"}},
		{name: "import not found, plain jsonnet with -J", files: map[string]string{"app.jsonnet": "import 'k.libsonnet'\n"},
			src: "app.jsonnet", jo: jsonnet.Options{JPath: []string{"first", "second"}},
			contain: []string{`searched`, "k.libsonnet, second/k.libsonnet, first/k.libsonnet"}},
		{name: "environment does not exist", files: map[string]string{"jsonnetfile.json": project, "environments/a/main.jsonnet": "{}"},
			src: "environments/b", kind: render.KindTanka, is: render.ErrNotFound, contain: []string{"environments/b does not exist"}},
		{name: "environment name not found", files: map[string]string{"jsonnetfile.json": project,
			"environments/a/main.jsonnet": "{}", "environments/a/spec.json": `{"spec": {}}`},
			jo: jsonnet.Options{Envs: []string{"environments/zz"}}, is: render.ErrNotFound, contain: []string{"environment environments/zz not in", "(environments: environments/a)"}},
		{name: "no environment in a directory", files: map[string]string{"jsonnetfile.json": project, "lib/x.libsonnet": "{}"},
			kind: render.KindTanka, is: render.ErrNotFound, contain: []string{"no environment (main.jsonnet)"}},
		{name: "not in a Tanka project", files: map[string]string{"env/main.jsonnet": "{}"}, src: "env", kind: render.KindTanka,
			is: render.ErrNotFound, contain: []string{"not in a Tanka project"}},
		{name: "a string where objects belong", files: map[string]string{"jsonnetfile.json": project, "environments/a/main.jsonnet": "{ apps: { web: 'oops' } }"},
			src: "environments/a", is: render.ErrInvalidObject, contain: []string{"main.jsonnet (.apps.web)", `the string "oops"`}},
		{name: "object without a name", files: map[string]string{"jsonnetfile.json": project, "environments/a/main.jsonnet": "{ cm: { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} } }"},
			src: "environments/a", is: render.ErrInvalidObject, contain: []string{"(.cm)", "no metadata.name"}},
		{name: "bad spec.json", files: map[string]string{"jsonnetfile.json": project, "environments/a/main.jsonnet": "{}", "environments/a/spec.json": "{"},
			src: "environments/a", contain: []string{"spec.json", "invalid Tanka environment"}},
		{name: "missing ext var", files: map[string]string{"jsonnetfile.json": project, "environments/a/main.jsonnet": "{ x: std.extVar('cluster') }"},
			src: "environments/a", contain: []string{"RUNTIME ERROR: Undefined external variable: cluster"}},
		{name: "duplicate across environments", files: map[string]string{"jsonnetfile.json": project,
			"environments/a/main.jsonnet": "{ cm: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'n' } } }",
			"environments/b/main.jsonnet": "{ cm: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'n' } } }"},
			is: render.ErrDuplicate, contain: []string{"environments/a/main.jsonnet (.cm)", "environments/b/main.jsonnet (.cm)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fstree.Write(t, c.files)
			opts := options(c.jo)
			opts.Kind = c.kind
			if c.jo.JPath != nil { // relative -J paths: run where the tree is
				wd, _ := os.Getwd()
				os.Chdir(dir)
				defer os.Chdir(wd)
				dir = "."
			}
			parent := t.TempDir()
			_, err := render.Render(context.Background(), filepath.Join(parent, "out"), opts, filepath.Join(dir, c.src))
			if err == nil {
				t.Fatal("rendered without an error")
			}
			t.Log(err)
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error is not %v", c.is)
			}
			for _, s := range c.contain {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error does not say %q", s)
				}
			}
			if c.check != nil {
				var e *jsonnet.EvalError
				if !errors.As(err, &e) {
					t.Fatalf("not an *EvalError: %T", err)
				}
				c.check(t, e)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Errorf("left %v behind", left[0].Name())
			}
		})
	}
}

// TestParallelEnvironments: several environments evaluate at once and give the same
// tree as one at a time.
func TestParallelEnvironments(t *testing.T) {
	render1 := func(par int) map[string]string {
		out := filepath.Join(t.TempDir(), "out")
		o := options(jsonnet.Options{ExtVars: map[string]string{"replicas": "2"}, Parallelism: par})
		if _, err := render.Render(context.Background(), out, o, examples+"/tanka"); err != nil {
			t.Fatal(err)
		}
		return golden.Tree(t, out)
	}
	a, b := render1(1), render1(4)
	if len(a) != len(b) {
		t.Fatalf("%d vs %d files", len(a), len(b))
	}
	for p := range a {
		if a[p] != b[p] {
			t.Errorf("%s differs", p)
		}
	}
}

func TestContextCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := render.Load(ctx, options(jsonnet.Options{ExtVars: map[string]string{"replicas": "2"}}), examples+"/tanka")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

// Imports read only below the project (or the directories given with --jpath), links
// resolved, and never in a VCS directory: what CI keeps beside the tree (its
// environment, the token in .git/config) does not reach the manifests.
func TestImportsStayInTheSource(t *testing.T) {
	outside := fstree.Write(t, map[string]string{"secret.txt": "s3cret-marker"})
	root := fstree.Write(t, map[string]string{
		"jsonnetfile.json": "{}",
		".git/config":      "[http] extraheader = AUTHORIZATION: basic token-marker",
		"lib/ok.txt":       "fine",
	})
	env := filepath.Join(root, "environments", "a")
	os.MkdirAll(env, 0o755)
	os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(env, "link.txt"))
	main := func(expr string) string {
		return "{ cm: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'n' }, data: { k: " + expr + " } } }\n"
	}
	for _, tc := range []struct {
		name, expr string
		jpath      []string
		want       string // "" for success
	}{
		{"inside", "importstr '../../lib/ok.txt'", nil, ""},
		{"absolute, outside", "importstr '" + filepath.Join(outside, "secret.txt") + "'", nil, "is outside the source"},
		{"the process's environment", "importstr '/proc/self/environ'", nil, "is outside the source"},
		{"a link out", "importstr 'link.txt'", nil, "is outside the source"},
		{"the checkout's git config", "importstr '../../.git/config'", nil, "in a VCS directory"},
		{"outside, named with --jpath", "importstr 'secret.txt'", []string{outside}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.WriteFile(filepath.Join(env, "main.jsonnet"), []byte(main(tc.expr)), 0o644)
			units, err := render.Load(context.Background(), options(jsonnet.Options{JPath: tc.jpath}), env)
			if tc.want == "" {
				if err != nil || len(units) != 1 {
					t.Fatalf("%v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "s3cret-marker") || strings.Contains(err.Error(), "token-marker") {
				t.Fatalf("the error quotes what it refused to read: %v", err)
			}
		})
	}
}
