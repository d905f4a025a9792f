package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/cli"
	"github.com/gitless-dev/gitless/internal/testenv/npm"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/manifest/kustomize"
	"github.com/gitless-dev/gitless/render"
)

const examples = "../../examples"

// objectsOf reads a YAML stream into canonical objects by identity.
func objectsOf(t *testing.T, name string, stream []byte) map[string]string {
	t.Helper()
	objs, err := manifest.ParseYAML(stream, name, manifest.ParseYAMLOptions{})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m := map[string]string{}
	for _, o := range objs {
		y, err := o.YAML()
		if err != nil {
			t.Fatal(err)
		}
		m[o.String()] = string(y)
	}
	return m
}

// objectsOfFiles reads every YAML file below dir but kustomization.yaml.
func objectsOfFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	var stream []byte
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") || d.Name() == "kustomization.yaml" {
			return err
		}
		b, err := os.ReadFile(p)
		stream = append(append(stream, "\n---\n"...), b...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return objectsOf(t, dir, stream)
}

// TestRenderPushPullBuild is the end-to-end path of each source kind: a Tanka
// environment with a vendored library, a cdk8s app synthesized for real, a kustomize
// overlay with bases. Each is rendered and pushed in one step (push --render) to the
// CNCF distribution registry, pulled back, built with kustomize's Go API, and
// compared, object by object, with what the source's own tool gives.
func TestRenderPushPullBuild(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	env := map[string]string{"HOME": t.TempDir()}
	prov := []string{"--source", "https://github.com/acme/app", "--revision", "main@sha1:0123456789abcdef0123456789abcdef01234567", "--created", "2026-01-01T00:00:00Z"}

	type source struct {
		name  string
		args  []string                       // after --render SRC
		src   func() string                  // the source
		want  func(string) map[string]string // objects the source's own tool gives
		count int
	}
	sources := []source{
		{
			name: "tanka", args: []string{"--ext-str", "replicas=2"},
			src: func() string { return examples + "/tanka/environments/default" },
			// reviewed output of this environment (render's golden test keeps it)
			want:  func(string) map[string]string { return objectsOfFiles(t, "../../render/testdata/golden/tanka-default") },
			count: 7,
		},
		{
			name: "kustomize",
			src:  func() string { return examples + "/kustomize/overlays/production" },
			want: func(src string) map[string]string {
				y, err := kustomize.Build(context.Background(), src, kustomize.BuildOptions{})
				if err != nil {
					t.Fatal(err)
				}
				return objectsOf(t, src, y)
			},
			count: 25,
		},
		{
			name: "cdk8s", args: []string{"--synth"},
			src: func() string { return npm.App(t, examples+"/cdk8s") },
			// what cdk8s synth wrote (render ran it in the app)
			want:  func(app string) map[string]string { return objectsOfFiles(t, filepath.Join(app, "dist")) },
			count: 4,
		},
	}
	for _, s := range sources {
		t.Run(s.name, func(t *testing.T) {
			src := s.src()
			url := "oci://" + reg.Host() + "/e2e/" + s.name + ":v1"
			args := append(append([]string{"push", url, "--render", src, "-o", "json"}, s.args...), prov...)
			r := run(t, env, args...)
			if r.code != 0 {
				t.Fatalf("push --render: %+v", r)
			}
			var pushed struct {
				Digest string
				Files  int
			}
			if err := json.Unmarshal([]byte(r.out), &pushed); err != nil || pushed.Files != s.count+1 {
				t.Fatalf("push output %s (%v)", r.out, err)
			}

			pulled := filepath.Join(t.TempDir(), "pulled")
			if r := run(t, env, "pull", url, "-o", pulled); r.code != 0 {
				t.Fatalf("pull: %+v", r)
			}
			y, err := kustomize.Build(context.Background(), pulled, kustomize.BuildOptions{})
			if err != nil {
				t.Fatalf("kustomize build of the pulled tree: %v", err)
			}
			got, want := objectsOf(t, "pulled", y), s.want(src)
			if len(got) != s.count || len(want) != s.count {
				t.Fatalf("%d objects pulled, %d from the source, want %d", len(got), len(want), s.count)
			}
			for id, w := range want {
				if got[id] != w {
					t.Errorf("%s:\npulled:\n%s\nsource:\n%s", id, got[id], w)
				}
			}

			// gitless render of the same source gives the tree that was pushed
			out := filepath.Join(t.TempDir(), "out")
			rargs := append([]string{"render", src, "-o", out}, s.args...)
			if s.name == "cdk8s" {
				rargs = []string{"render", filepath.Join(src, "dist"), "-o", out} // synth ran already
			}
			if r := run(t, env, rargs...); r.code != 0 {
				t.Fatalf("render: %+v", r)
			}
			if r := run(t, env, "diff", out, url); r.code != 0 || r.out != "" {
				t.Fatalf("the rendered tree differs from the pushed one: %+v", r)
			}
		})
	}
}

func TestRenderCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	r := run(t, nil, "render", examples+"/kustomize/overlays/staging", examples+"/podinfo", "-o", out, "--json")
	if r.code != 0 {
		t.Fatalf("render: %+v", r)
	}
	var res render.Result
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.out)
	}
	if res.Out != out || len(res.Units) != 2 || res.Units[0].Dir != "podinfo" || res.Objects != 28 || len(res.Files) != 31 {
		t.Fatalf("result %+v", res)
	}
	r = run(t, map[string]string{"CLUSTER": "eu1"}, "render", examples+"/tanka/environments/default", "-o", out, "--ext-str", "replicas=2", "--namespace", "ignored-for-tanka")
	if r.code != 0 || strings.TrimSpace(r.out) != out || !strings.Contains(r.err, "rendered 7 objects from 1 unit") {
		t.Fatalf("render over an earlier render: %+v", r)
	}
	// --ext-str KEY takes the value from the environment
	r = run(t, map[string]string{"replicas": "5"}, "render", examples+"/tanka/environments/default", "-o", out, "--ext-str", "replicas")
	if b, _ := os.ReadFile(filepath.Join(out, "apps-v1.Deployment-web.yaml")); r.code != 0 || !strings.Contains(string(b), "replicas: 5") {
		t.Fatalf("--ext-str from the environment: %+v\n%s", r, b)
	}
}

func TestRenderBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	inUse := writeTree(t, map[string]string{"mine.yaml": cm})
	reg := registry.NewT(t, registry.Options{})
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no output", []string{"render", examples + "/podinfo"}, cli.ExitUsage, "--out is required"},
		{"no source", []string{"render", "-o", out}, cli.ExitUsage, "requires at least 1 arg"},
		{"bad kind", []string{"render", examples + "/podinfo", "-o", out, "--kind", "chart"}, cli.ExitUsage, `source kind "chart"`},
		{"bad ext-str", []string{"render", examples + "/tanka", "-o", out, "--ext-code", "novalue"}, cli.ExitUsage, "--ext-code \"novalue\": want KEY=VALUE"},
		{"output in use", []string{"render", examples + "/podinfo", "-o", inUse}, cli.ExitUsage, "output directory is in use"},
		{"jsonnet error", []string{"render", examples + "/tanka/environments/default", "-o", out}, cli.ExitError, "main.jsonnet:4:"},
		{"source missing", []string{"render", "nope/", "-o", out}, cli.ExitError, "source nope/: not found"},
		{"push with both", []string{"push", "oci://" + reg.Host() + "/x:v1", "--path", ".", "--render", "."}, cli.ExitUsage, "give one of --path and --render"},
		{"push render error", []string{"push", "oci://" + reg.Host() + "/x:v1", "--render", examples + "/tanka/environments/default"}, cli.ExitError, "Undefined external variable: replicas"},
		// The render library names no flags; the CLI adds them (Hint: lines).
		{"not an object", []string{"render", writeTree(t, map[string]string{"a.yaml": cm, "values.yaml": "replicas: 3\n"}), "-o", out}, cli.ExitError, "--ignore or a .gitlessignore entry"},
		{"empty source", []string{"render", writeTree(t, map[string]string{"README.md": "x"}), "-o", out}, cli.ExitError, "--allow-empty"},
		{"bad format", []string{"render", examples + "/podinfo", "-o", out, "--format", "{{.metadata.name"}, cli.ExitUsage, "--format"},
		{"format collision", []string{"render", writeTree(t, map[string]string{"a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: b}\n"}), "-o", out},
			cli.ExitError, "--format '{{.metadata.namespace}}/{{.apiVersion}}.{{.kind}}-{{.metadata.name}}'"},
		{"no cdk8s output", []string{"render", writeTree(t, map[string]string{"cdk8s.yaml": "app: node main.js\n"}), "-o", out}, cli.ExitError, "--synth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, map[string]string{"HOME": t.TempDir()}, tc.args...)
			if r.code != tc.code || !strings.Contains(r.err, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", r.code, r.err, tc.code, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed render wrote %s", out)
	}
}
