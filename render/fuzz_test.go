package render_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/gitless-dev/gitless/render"
)

// FuzzParseYAML: no input makes the YAML reader panic, and every object it accepts
// encodes to YAML that reads back as the same object.
func FuzzParseYAML(f *testing.F) {
	for _, s := range []string{
		cmA,
		cmA + "data:\n  a: 'yes'\n  b: &x [1, 2]\n  c: *x\n",
		"apiVersion: v1\nkind: List\nitems:\n- " + "apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n",
		"---\n---\n" + cmA + "---\n- a\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {\"on\": off, 1: 2, k: \"multi\\nline\"}\n",
		cmA + aliasBomb,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := render.ParseYAML(data, "fuzz.yaml", render.ParseYAMLOptions{})
		if err != nil {
			return
		}
		for _, o := range objs {
			y, err := o.YAML()
			if err != nil {
				t.Fatalf("encoding %s: %v", o, err)
			}
			again, err := render.ParseYAML(y, "again.yaml", render.ParseYAMLOptions{})
			if err != nil || len(again) != 1 {
				t.Fatalf("re-reading %s: %v\n%s", o, err, y)
			}
			y2, err := again[0].YAML()
			if err != nil || !bytes.Equal(y, y2) {
				t.Fatalf("not stable:\n%s\n---\n%s", y, y2)
			}
		}
	})
}

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
		objs, err := render.ParseYAML(src.Bytes(), "bench.yaml", render.ParseYAMLOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := render.Plan(context.Background(), []*render.Unit{{Kind: render.KindYAML, Objects: objs}}, opts); err != nil {
			b.Fatal(err)
		}
	}
}
