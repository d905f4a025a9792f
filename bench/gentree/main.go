// Command gentree writes a deterministic tree of Kubernetes manifests for the benchmarks:
// applications made of a ConfigMap, a Deployment and a Service, spread over namespaces and
// YAML files in one directory per namespace. The same flags always give byte-identical files.
//
//	go run ./bench/gentree -out /tmp/tree -objects 1000 -files 100
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	out := flag.String("out", "", "directory to write into (created; must be empty)")
	objects := flag.Int("objects", 1000, "number of Kubernetes objects")
	files := flag.Int("files", 100, "number of YAML files to spread them over")
	namespaces := flag.Int("namespaces", 10, "number of namespaces (one directory each)")
	seed := flag.Uint64("seed", 1, "seed of the content generator")
	flag.Parse()
	if err := run(*out, *objects, *files, *namespaces, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
}

func run(out string, objects, files, namespaces int, seed uint64) error {
	switch {
	case out == "":
		return errors.New("-out is required")
	case objects < 1 || files < 1 || namespaces < 1:
		return errors.New("-objects, -files and -namespaces must be positive")
	case files > objects:
		return fmt.Errorf("-files %d is more than -objects %d", files, objects)
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", out)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	g := &gen{
		rng:  rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)),
		apps: (objects + 2) / 3,
		nss:  namespaces,
	}
	docs := make([]string, objects)
	for i := range docs {
		docs[i] = g.object(i)
	}

	var total int
	for f := range files {
		// File f holds a contiguous run of objects, so an application mostly stays together.
		lo, hi := f*objects/files, (f+1)*objects/files
		ns := g.namespace(lo / 3)
		path := filepath.Join(out, ns, fmt.Sprintf("%03d-%s.yaml", f, appName(lo/3)))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		content := strings.Join(docs[lo:hi], "---\n")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			return err
		}
		total += len(content)
	}
	fmt.Fprintf(os.Stderr, "gentree: %d objects in %d files under %s, %d bytes\n", objects, files, out, total)
	return nil
}

var words = []string{
	"alpha", "billing", "cart", "catalog", "checkout", "delta", "edge", "feed", "gateway", "inventory",
	"ledger", "mail", "notify", "orders", "payments", "profile", "quota", "search", "session", "upload",
}

func appName(app int) string { return fmt.Sprintf("%s-%03d", words[app%len(words)], app) }

// indent prefixes every line of s with pre.
func indent(s, pre string) string {
	return pre + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pre) + "\n"
}

type gen struct {
	rng  *rand.Rand
	apps int // applications: objects/3, rounded up
	nss  int // namespaces
}

// namespace of an application: consecutive applications share one, so that the files, which
// hold consecutive objects, mostly do too.
func (g *gen) namespace(app int) string { return fmt.Sprintf("team-%02d", app*g.nss/g.apps) }

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(len(digits))]
	}
	return string(b)
}

func (g *gen) word() string { return words[g.rng.IntN(len(words))] }

// object returns object i: application i/3's ConfigMap, Deployment or Service.
func (g *gen) object(i int) string {
	app := i / 3
	name, ns := appName(app), g.namespace(app)
	labels := fmt.Sprintf(`    app.kubernetes.io/name: %s
    app.kubernetes.io/part-of: %s
    app.kubernetes.io/managed-by: gitless-bench
    team: %s
`, name, words[app%len(words)], ns)
	switch i % 3 {
	case 0:
		return g.configMap(name, ns, labels)
	case 1:
		return g.deployment(name, ns, labels)
	default:
		return g.service(name, ns, labels)
	}
}

func (g *gen) configMap(name, ns, labels string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-config\n  namespace: %s\n  labels:\n%sdata:\n", name, ns, labels)
	fmt.Fprintf(&b, "  LOG_LEVEL: %s\n  FEATURE_FLAGS: %s,%s\n  UPSTREAM_URL: http://%s.%s.svc.cluster.local:8080\n",
		[]string{"debug", "info", "warn"}[g.rng.IntN(3)], g.word(), g.word(), g.word(), ns)
	b.WriteString("  app.yaml: |\n    server:\n      port: 8080\n      readTimeout: 30s\n    routes:\n")
	for r := range 5 + g.rng.IntN(25) {
		fmt.Fprintf(&b, "      - path: /api/v%d/%s/%s\n        backend: %s\n        timeout: %dms\n        retries: %d\n",
			1+r%3, g.word(), g.hex(6), g.word(), 100*(1+g.rng.IntN(50)), g.rng.IntN(5))
	}
	return b.String()
}

func (g *gen) deployment(name, ns, labels string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
%[3]s  annotations:
    gitless.dev/bench-revision: "%[4]s"
spec:
  replicas: %[5]d
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      app.kubernetes.io/name: %[1]s
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%%
      maxUnavailable: 0
  template:
    metadata:
      labels:
%[6]s      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "9090"
    spec:
      serviceAccountName: %[1]s
      securityContext:
        runAsNonRoot: true
        runAsUser: 65532
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: app
          image: registry.example.com/%[2]s/%[1]s@sha256:%[7]s
          args: ["--config=/etc/app/app.yaml", "--listen=:8080"]
          ports:
            - name: http
              containerPort: 8080
            - name: metrics
              containerPort: 9090
          env:
`, name, ns, labels, g.hex(40), 1+g.rng.IntN(5), indent(labels, "    "), g.hex(64))
	for e := range 3 + g.rng.IntN(8) {
		fmt.Fprintf(&b, "            - name: %s_%d\n              value: \"%s\"\n", strings.ToUpper(g.word()), e, g.hex(12))
	}
	mem := 64 * (1 + g.rng.IntN(8))
	fmt.Fprintf(&b, `          envFrom:
            - configMapRef:
                name: %[1]s-config
          resources:
            requests:
              cpu: %[2]dm
              memory: %[3]dMi
            limits:
              memory: %[4]dMi
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 10
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            initialDelaySeconds: 15
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: ["ALL"]
          volumeMounts:
            - name: config
              mountPath: /etc/app
              readOnly: true
      volumes:
        - name: config
          configMap:
            name: %[1]s-config
`, name, 50*(1+g.rng.IntN(10)), mem, mem+64*(1+g.rng.IntN(8)))
	return b.String()
}

func (g *gen) service(name, ns, labels string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
  labels:
%[3]sspec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: %[1]s
  ports:
    - name: http
      port: 80
      targetPort: http
    - name: metrics
      port: 9090
      targetPort: metrics
`, name, ns, labels)
}
