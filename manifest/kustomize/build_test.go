package kustomize_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/peers"
	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/manifest/kustomize"
)

// TestBuildIsKustomizeBuild: Build gives what `kustomize build` prints, on an overlay
// with bases, generators and a builtin transformer, and on trees render wrote.
func TestBuildIsKustomizeBuild(t *testing.T) {
	cli := peers.Bin(t, "kustomize")
	for _, dir := range []string{
		"../../examples/kustomize/overlays/production",
		"../../render/testdata/golden/kustomize-two-overlays",
		"../../render/testdata/golden/tanka-project",
		"../../render/testdata/golden/yaml-format",
	} {
		got, err := kustomize.Build(context.Background(), dir, kustomize.BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := exec.Command(cli, "build", dir).Output()
		if err != nil {
			t.Fatalf("kustomize build %s: %v", dir, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Build differs from kustomize build", dir)
		}
	}
}

func TestCheckLocal(t *testing.T) {
	if err := kustomize.CheckLocal("../../examples/kustomize/overlays/staging"); err != nil {
		t.Fatal(err)
	}
	if err := kustomize.CheckLocal(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no kustomization file") {
		t.Fatalf("no kustomization: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources:\n- ssh://git@example.com/acme/app.git\n"), 0o644)
	if err := kustomize.CheckLocal(dir); !errors.Is(err, kustomize.ErrRefused) {
		t.Fatalf("ssh base: %v", err)
	}
	// Addresses kustomize tries as a git repository before a local directory of that
	// name, which the tree provides so that the path exists: refused all the same.
	// "x@evil.example/org/repo" is an scp-style address to kustomize too (no colon
	// needed), and its ?ref= reaches git fetch as an option: --upload-pack runs a command.
	for _, base := range []string{"github.com/acme/evil", "GitHub.com/acme/evil", "x@evil.example:org/repo", "gh:acme/evil",
		"x@evil.example/org/repo", "x@evil.example/org/repo?ref=--upload-pack=touch%20%2Ftmp%2Fx%20%23", "git@github.com/acme/evil"} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, base), 0o755)
		os.WriteFile(filepath.Join(dir, base, "kustomization.yaml"), []byte("resources: []\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources:\n- "+base+"\n"), 0o644)
		if err := kustomize.CheckLocal(dir); !errors.Is(err, kustomize.ErrRefused) {
			t.Errorf("%s with a local directory of that name: %v", base, err)
		}
	}
}

// What kustomize refuses as a resource, push's check (manifest.CheckFiles, with its
// quick path for block-style YAML) refuses too; and what both accept is the same.
func TestCheckRefusesWhatKustomizeRefuses(t *testing.T) {
	const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
	for name, doc := range map[string]string{
		"key twice at the top":     cm + "kind: Secret\n",
		"key twice in data":        cm + "data:\n  k: a\n  k: b\n",
		"key twice in metadata":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    x: a\n  labels:\n    y: b\n",
		"key twice in a list item": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: a\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: x\n        name: b\n",
		"quoted and plain key":     cm + "data:\n  on: a\n  \"on\": b\n",
		"tab indentation":          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n\tname: a\n",
		"unclosed flow":            cm + "data: {a: b\n",
		"mapping in a scalar":      cm + "data:\n  a: b: c\n",
		"bad indentation":          cm + "data:\n  a: b\n   c: d\n",
		"no kind":                  "apiVersion: v1\nmetadata:\n  name: a\n",
		"no name":                  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    a: b\n",
		"valid":                    cm + "data:\n  a: |\n    x: 1\n    x: 1\n",
		"valid, quoted":            cm + "data:\n  \"on\": \"off\"\n  'x': 'y'\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: [a.yaml]\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(doc), 0o644)
			_, kerr := kustomize.Build(context.Background(), dir, kustomize.BuildOptions{})
			cerr := manifest.CheckFiles(context.Background(), []manifest.File{{Path: "a.yaml", Data: []byte(doc)}}, manifest.CheckOptions{})
			if strings.HasPrefix(name, "valid") {
				if kerr != nil || cerr != nil {
					t.Fatalf("kustomize: %v; check: %v", kerr, cerr)
				}
				return
			}
			if cerr == nil {
				t.Fatalf("the check accepts what kustomize refuses (%v):\n%s", kerr, doc)
			}
			if kerr == nil {
				t.Fatalf("kustomize accepts this; the case no longer shows that the check refuses what kustomize refuses:\n%s", doc)
			}
		})
	}
}

// Input that makes kustomize panic (kyaml indexes a list of annotations as a map) fails
// the build with ErrPanicked, and the next build runs: the lock is not left held.
func TestBuildSurvivesAKustomizePanic(t *testing.T) {
	files := map[string][]byte{
		"kustomization.yaml": []byte("resources: [s.yaml]\npatches:\n- patch: |\n    apiVersion: v1\n    kind: Secret\n    metadata: {name: s, annotations: [x]}\n    stringData: {token: hunter2}\n"),
		"s.yaml":             []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"),
	}
	_, err := kustomize.BuildFiles(t.Context(), files)
	if !errors.Is(err, kustomize.ErrPanicked) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v, want ErrPanicked without the patch", err)
	}
	files["kustomization.yaml"] = []byte("resources: [s.yaml]\n")
	if _, err := kustomize.BuildFiles(t.Context(), files); err != nil {
		t.Fatalf("the next build: %v", err)
	}
}

// A base named as kustomize reads an scp-style git address, with a ?ref= that git
// fetch takes as an option, is refused before kustomize can clone it: with the
// directory of that name in the tree (so that it "exists"), kustomize would run
// `git fetch x@evil.example/org/repo --upload-pack=CMD`, and git the command.
func TestBuildNeverRunsGit(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	base := "x@evil.example/org/repo?ref=--upload-pack=touch%20" + strings.ReplaceAll(marker, "/", "%2F") + "%20%23"
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "app", base), 0o755)
	os.WriteFile(filepath.Join(root, "app", base, "kustomization.yaml"), []byte("resources: []\n"), 0o644)
	os.WriteFile(filepath.Join(root, "app", "kustomization.yaml"), []byte("resources:\n- '"+base+"'\n"), 0o644)
	_, err := kustomize.Build(context.Background(), filepath.Join(root, "app"), kustomize.BuildOptions{Root: root})
	if _, serr := os.Stat(marker); serr == nil {
		t.Fatalf("the build ran a command through git (%v)", err)
	}
	if !errors.Is(err, kustomize.ErrRefused) || !strings.Contains(err.Error(), "kustomization.yaml: resources entry") {
		t.Fatalf("want the entry refused, naming the file: %v", err)
	}
}
