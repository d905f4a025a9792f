package puller_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

var env *kube.Env

func TestMain(m *testing.M) { os.Exit(kube.Main(m, &env)) }

// world is one test's cluster namespaces, registry and signing key (the shared
// fixture), a clock and a puller.
type world struct {
	*pullertest.Fixture
	t     *testing.T
	clock *clock
	p     *puller.Puller
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Now()} }

func newWorld(t *testing.T, regOpts registry.Options) *world {
	t.Helper()
	w := &world{Fixture: pullertest.New(t, env, regOpts), t: t, clock: newClock()}
	w.p = w.newPuller(puller.Options{})
	return w
}

func (w *world) newPuller(opts puller.Options) *puller.Puller {
	w.t.Helper()
	if opts.Namespace == "" {
		opts.Namespace = w.NS
	}
	if opts.Now == nil {
		opts.Now = w.clock.now
	}
	p, err := puller.New(w.Config, opts)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// newKey makes another cosign key pair and the policy that trusts it.
func newKey(t *testing.T) (*sign.SigningKey, *verify.Policy) {
	t.Helper()
	k := pullertest.NewKey(t)
	return k.Signing, k.Policy
}

// push packages files as an artifact at repo:tag (moving the tag) and returns it
// pinned to its digest. NS in the files is replaced by the target namespace.
func (w *world) push(repo, tag string, created time.Time, files map[string]string) artifact.Reference {
	w.t.Helper()
	return w.Push(repo, tag, w.InTarget(files), artifact.Metadata{
		Source: "https://github.com/acme/app", Revision: "main@sha1:" + strings.Repeat(tag[:1], 40), Created: created,
	})
}

func (w *world) pushSigned(repo, tag string, created time.Time, files map[string]string) artifact.Reference {
	w.t.Helper()
	ref := w.push(repo, tag, created, files)
	w.Sign(ref)
	return ref
}

// source is a source for repo:tag with the world's policy, pruning on.
func (w *world) source(name, repo, tag string) puller.Source {
	return puller.Source{Name: name, URL: w.URL(repo), Ref: puller.Ref{Tag: tag}, Verify: w.Key.Policy, Prune: true}
}

func (w *world) sync(src puller.Source) (*puller.Result, error) {
	w.t.Helper()
	return w.p.Sync(w.Ctx, src)
}

// control returns what the `gitless-puller` status and reconcile commands use.
func (w *world) control() *puller.Control {
	w.t.Helper()
	c, err := puller.NewControl(w.Config, w.NS)
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// requestReconcile asks, as an operator's `gitless-puller reconcile` does, for an
// immediate sync of the named source and returns the request's token.
func (w *world) requestReconcile(name string) string {
	w.t.Helper()
	token, err := w.control().RequestReconcile(w.Ctx, name)
	if err != nil {
		w.t.Fatalf("request a reconcile of %s: %v", name, err)
	}
	return token
}

func (w *world) mustSync(src puller.Source) *puller.Result {
	w.t.Helper()
	res, err := w.sync(src)
	if err != nil {
		w.t.Fatalf("sync %s: %v", src.Name, err)
	}
	return res
}

// status returns the annotations of a source's ApplySet parent.
func (w *world) status(name string) map[string]string {
	w.t.Helper()
	u, err := w.Get(pullertest.ConfigMaps, w.NS, "gitless-"+name)
	if err != nil {
		w.t.Fatal(err)
	}
	return u.GetAnnotations()
}

// events returns "Type Reason: message" of the events on a source's parent.
func (w *world) events(name string) []string {
	w.t.Helper()
	var out []string
	for _, e := range w.Events("involvedObject.name=gitless-" + name) {
		out = append(out, e.Type+" "+e.Reason+": "+e.Message)
	}
	return out
}

func countPrefix(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

var cm = pullertest.ConfigMap
