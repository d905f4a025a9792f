package render_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/gitless-dev/gitless/manifest"
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
