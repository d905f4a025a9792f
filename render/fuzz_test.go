package render_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/manifest/kustomize"
	"github.com/gitless-dev/gitless/render"
)

// BenchmarkPlan measures what render adds to loading: checking 1,000 objects,
// naming their files, encoding them and making the kustomization.
func BenchmarkPlan(b *testing.B) {
	var src bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&src, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%04d
  labels: {app: app-%04d, tier: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: app-%04d}}
  template:
    metadata: {labels: {app: app-%04d}}
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/app:1.%d.0
        args: [--listen=:8080, --log-level=info]
        env: [{name: A, value: "yes"}, {name: B, value: "1.0"}, {name: C, value: plain}]
        ports: [{name: http, containerPort: 8080}]
        resources: {requests: {cpu: 100m, memory: 128Mi}, limits: {cpu: "1", memory: 1Gi}}
`, i, i, i, i, i%7)
	}
	opts := render.DefaultOptions()
	opts.Namespace = "bench"
	b.ReportAllocs()
	b.SetBytes(int64(src.Len()))
	for b.Loop() {
		objs, err := manifest.ParseYAML(src.Bytes(), "bench.yaml", manifest.ParseYAMLOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := render.Plan(context.Background(), []*render.Unit{{Kind: render.KindYAML, Objects: objs}}, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzPlan fuzzes kustomization generation: whatever objects the YAML holds (two
// units, so that both the unit kustomizations and the top one are made), a tree that
// Plan accepts has only clean relative paths, and kustomize builds its generated
// kustomization.yaml into exactly the objects planned, each once.
func FuzzPlan(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\n",
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {k: v}}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"../../etc\"}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kustomization}\n",
		"apiVersion: example.com/v1\nkind: Kustomization\nmetadata: {name: k}\n",
	} {
		f.Add([]byte(s), "u1/b")
	}
	f.Fuzz(func(t *testing.T, data []byte, second string) {
		objs, err := manifest.ParseYAML(data, "fuzz.yaml", manifest.ParseYAMLOptions{})
		if err != nil || len(objs) == 0 || len(objs) > 50 {
			return
		}
		opts := render.DefaultOptions()
		opts.Namespace = "fuzz"
		units := []*render.Unit{{Name: "one", Kind: render.KindYAML, Objects: objs}, {Name: second, Kind: render.KindYAML, Objects: objs}}
		tree, err := render.Plan(context.Background(), units, opts)
		if err != nil {
			return
		}
		dir := t.TempDir()
		for p, b := range tree.Files() {
			if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "\\") {
				t.Fatalf("planned path %q", p)
			}
			abs := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(abs, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		built, err := kustomize.BuildObjects(context.Background(), dir, kustomize.BuildOptions{})
		if err != nil {
			t.Fatalf("the generated kustomization does not build: %v\n%v", err, tree.Result().Files)
		}
		if len(built) != tree.Objects {
			t.Fatalf("kustomize built %d objects, the plan has %d", len(built), tree.Objects)
		}
		seen := map[string]bool{}
		for _, o := range built {
			if seen[o.String()] {
				t.Fatalf("%s built twice", o)
			}
			seen[o.String()] = true
		}
	})
}
