package apply_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
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

// fixture is the shared cluster part (the puller's namespace, where parents live, and
// the target namespace, where the objects go), a request counter and an applier.
type fixture struct {
	*pullertest.Cluster
	t       *testing.T
	count   *counter
	applier *apply.Applier
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{Cluster: pullertest.NewCluster(t, env), t: t, count: &counter{}}
	f.applier = f.newApplier(apply.DefaultOptions())
	return f
}

func (f *fixture) newApplier(opts apply.Options) *apply.Applier {
	f.t.Helper()
	a, err := apply.New(f.count.wrap(rest.CopyConfig(f.Config)), opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

func (f *fixture) parent(name string) apply.Parent {
	return apply.Parent{Kind: apply.ParentConfigMap, Namespace: f.NS, Name: name}
}

// sync reads the parent and applies objs to it.
func (f *fixture) sync(a *apply.Applier, parent apply.Parent, objs []*unstructured.Unstructured, opts apply.SyncOptions) (*apply.ChangeSet, error) {
	f.t.Helper()
	st, err := a.ReadParent(f.Ctx, parent)
	if err != nil {
		return nil, err
	}
	return a.Apply(f.Ctx, st, objs, opts)
}

func (f *fixture) mustSync(a *apply.Applier, parent apply.Parent, objs []*unstructured.Unstructured, opts apply.SyncOptions) *apply.ChangeSet {
	f.t.Helper()
	cs, err := f.sync(a, parent, objs, opts)
	if err != nil {
		f.t.Fatalf("sync: %v", err)
	}
	return cs
}

// configMap is a ConfigMap in NS with data {k: value}, in flow style: tests edit sets
// with strings.ReplaceAll(set, `data: {k: "1"}`, ...).
func configMap(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: NS}\ndata: {k: %q}\n", name, value)
}

// manifests joins YAML documents, each ending in a newline, into one stream.
func manifests(docs ...string) string { return strings.Join(docs, "---\n") }

// objects parses YAML documents, replacing NS with the target namespace.
func (f *fixture) objects(docs string) []*unstructured.Unstructured {
	f.t.Helper()
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(strings.ReplaceAll(docs, "NS", f.Target), "\n---\n") {
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

func (f *fixture) mustGet(gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	f.t.Helper()
	u, err := f.Get(gvr, ns, name)
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
	pullertest.WaitUntil(t, 20*time.Second, what, cond)
}
