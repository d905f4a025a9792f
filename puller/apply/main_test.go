package apply_test

import (
	"context"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/puller/apply"
)

var env *kube.Env

func TestMain(m *testing.M) { os.Exit(kube.Main(m, &env)) }

// counter counts the requests a client sends, and among them the writes: requests
// other than GET, LIST and WATCH that are not dry-runs.
type counter struct{ requests, writes atomic.Int64 }

func (c *counter) wrap(cfg *rest.Config) *rest.Config {
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			c.requests.Add(1)
			if r.Method != http.MethodGet && r.URL.Query().Get("dryRun") == "" {
				c.writes.Add(1)
			}
			return rt.RoundTrip(r)
		})
	})
	return cfg
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type fixture struct {
	t       *testing.T
	ctx     context.Context
	cfg     *rest.Config
	ns      string // the puller's namespace, where parents live
	target  string // where the objects go
	dyn     dynamic.Interface
	cs      kubernetes.Interface
	count   *counter
	applier *apply.Applier
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	e := env.Use(t)
	f := &fixture{t: t, ctx: t.Context(), count: &counter{}}
	f.ns = e.Namespace(t, "puller")
	f.target = e.Namespace(t, "apps")
	f.cfg = e.Config()
	f.cfg.QPS, f.cfg.Burst = -1, 0
	f.dyn = dynamic.NewForConfigOrDie(f.cfg)
	f.cs = kubernetes.NewForConfigOrDie(f.cfg)
	f.applier = f.newApplier(apply.DefaultOptions())
	return f
}

func (f *fixture) newApplier(opts apply.Options) *apply.Applier {
	f.t.Helper()
	a, err := apply.New(f.count.wrap(rest.CopyConfig(f.cfg)), opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) parent(name string) apply.Parent {
	return apply.Parent{Kind: apply.ParentConfigMap, Namespace: f.ns, Name: name}
}

// sync reads the parent and applies objs to it.
func (f *fixture) sync(a *apply.Applier, parent apply.Parent, objs []*unstructured.Unstructured, opts apply.SyncOptions) (*apply.ChangeSet, error) {
	f.t.Helper()
	st, err := a.ReadParent(f.ctx, parent)
	if err != nil {
		return nil, err
	}
	return a.Apply(f.ctx, st, objs, opts)
}

func (f *fixture) mustSync(a *apply.Applier, parent apply.Parent, objs []*unstructured.Unstructured, opts apply.SyncOptions) *apply.ChangeSet {
	f.t.Helper()
	cs, err := f.sync(a, parent, objs, opts)
	if err != nil {
		f.t.Fatalf("sync: %v", err)
	}
	return cs
}

// objects parses YAML documents, replacing NS with the target namespace.
func (f *fixture) objects(docs string) []*unstructured.Unstructured {
	f.t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(strings.ReplaceAll(docs, "NS", f.target), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(doc), &u.Object); err != nil {
			f.t.Fatalf("%v\n%s", err, doc)
		}
		out = append(out, u)
	}
	return out
}

var (
	gvrCM     = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	gvrDeploy = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

func (f *fixture) get(gvr schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error) {
	if ns == "" {
		return f.dyn.Resource(gvr).Get(f.ctx, name, metav1.GetOptions{})
	}
	return f.dyn.Resource(gvr).Namespace(ns).Get(f.ctx, name, metav1.GetOptions{})
}

func (f *fixture) mustGet(gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	f.t.Helper()
	u, err := f.get(gvr, ns, name)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// actions maps "Kind name" to the action taken.
func actions(cs *apply.ChangeSet) map[string]apply.Action {
	out := map[string]apply.Action{}
	for _, c := range cs.Changes {
		out[c.Object.Kind+" "+c.Object.Name] = c.Action
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
