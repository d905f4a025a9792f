package puller_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/testenv/heap"
	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
)

// BenchmarkSyncLargeSet syncs a set of 1,000 objects (ConfigMaps, Deployments and
// Services in 100 files, as bench/soak.sh pushes) in which one object changed since the
// last sync: fetch, verify, build, a dry-run of all, one apply. Besides the time it
// reports how far the heap rose above its level before the sync (objects live and not
// yet collected, what the process's RSS follows): the soak's memory is this, two
// sources at a time.
//
//	KUBEBUILDER_ASSETS=$(hack/build-kube.sh) go test -run '^$' -bench SyncLargeSet -benchtime 5x ./puller/
func BenchmarkSyncLargeSet(b *testing.B) {
	f := pullertest.New(b, env, registry.Options{})
	p, err := puller.New(f.Config, puller.Options{Namespace: f.NS})
	if err != nil {
		b.Fatal(err)
	}
	files := largeSet(f.Target, 1000, 100)
	src := puller.Source{Name: "big", URL: f.URL("big"), Ref: puller.Ref{Tag: "live"}, Verify: f.Key.Policy, Prune: true}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	push := func(rev int) {
		files["zz/revision.yaml"] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: revision\n  namespace: %s\ndata:\n  revision: %q\n", f.Target, fmt.Sprint(rev))
		f.Sign(f.Push("big", "live", files, artifact.Metadata{Revision: fmt.Sprintf("main@sha1:%040d", rev), Created: created.Add(time.Duration(rev) * time.Minute)}))
	}
	push(0)
	if _, err := p.Sync(f.Ctx, src); err != nil {
		b.Fatal(err)
	}
	var peak uint64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		push(i + 1)
		w := heap.Watch()
		b.StartTimer()
		res, err := p.Sync(f.Ctx, src)
		b.StopTimer()
		peak = max(peak, w.Stop())
		if err != nil {
			b.Fatal(err)
		}
		if res.Configured != 1 || res.Unchanged != 1000 {
			b.Fatalf("want 1 configured and 1,000 unchanged: %+v", res)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/1e6, "heap-peak-MB")
}

// largeSet is n objects in nfiles files: a ConfigMap, a Deployment and a Service per
// application, of the sizes bench/gentree makes, all in namespace ns.
func largeSet(ns string, n, nfiles int) map[string]string {
	docs := make([][]string, nfiles)
	for i := range n {
		app := fmt.Sprintf("app-%03d", i/3)
		var doc string
		switch i % 3 {
		case 0:
			doc = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config\n  namespace: %s\n  labels: {app.kubernetes.io/name: %s, team: bench}\ndata:\n  settings.yaml: |\n%s", app, ns, app, strings.Repeat("    key: a value that takes some room in the object\n", 8+i%24))
		case 1:
			doc = fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app.kubernetes.io/name: %[1]s, team: bench}
spec:
  replicas: 2
  selector:
    matchLabels: {app.kubernetes.io/name: %[1]s}
  template:
    metadata:
      labels: {app.kubernetes.io/name: %[1]s}
    spec:
      containers:
      - name: app
        image: ghcr.io/stefanprodan/podinfo:6.9.2
        ports:
        - {name: http, containerPort: 9898}
        - {name: metrics, containerPort: 9797}
        env:
        - {name: CONFIG, value: /etc/%[1]s/settings.yaml}
        resources:
          requests: {cpu: 10m, memory: 32Mi}
          limits: {memory: 128Mi}
        readinessProbe:
          httpGet: {path: /readyz, port: http}
`, app, ns)
		default:
			doc = fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n  namespace: %s\n  labels: {app.kubernetes.io/name: %s, team: bench}\nspec:\n  selector: {app.kubernetes.io/name: %s}\n  ports:\n  - {name: http, port: 80, targetPort: http}\n", app, ns, app, app)
		}
		docs[i%nfiles] = append(docs[i%nfiles], doc)
	}
	files := map[string]string{}
	for i, d := range docs {
		files[fmt.Sprintf("apps/%03d.yaml", i)] = strings.Join(d, "---\n")
	}
	return files
}

// BenchmarkFirstSyncLargeSet is the first sync of a source of 1,000 objects (as
// BenchmarkSyncLargeSet's, their names new at each round): fetch, verify, build, a
// dry-run of all, 1,000 creates. It reports the heap's rise as BenchmarkSyncLargeSet
// does: what each of the soak's initial syncs takes.
func BenchmarkFirstSyncLargeSet(b *testing.B) {
	f := pullertest.New(b, env, registry.Options{})
	p, err := puller.New(f.Config, puller.Options{Namespace: f.NS})
	if err != nil {
		b.Fatal(err)
	}
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var peak uint64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		files := map[string]string{}
		for k, v := range largeSet(f.Target, 1000, 100) {
			files[k] = strings.ReplaceAll(v, "app-", fmt.Sprintf("r%d-app-", i))
		}
		name := fmt.Sprintf("first-%d", i)
		f.Sign(f.Push(name, "live", files, artifact.Metadata{Revision: fmt.Sprintf("main@sha1:%040d", i), Created: created}))
		src := puller.Source{Name: name, URL: f.URL(name), Ref: puller.Ref{Tag: "live"}, Verify: f.Key.Policy, Prune: true}
		w := heap.Watch()
		b.StartTimer()
		res, err := p.Sync(f.Ctx, src)
		b.StopTimer()
		peak = max(peak, w.Stop())
		if err != nil {
			b.Fatal(err)
		}
		if res.Created != 1000 {
			b.Fatalf("want 1,000 created: %+v", res)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(peak)/1e6, "heap-peak-MB")
}
