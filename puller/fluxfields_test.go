package puller_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
)

// healthChecks, as Flux's: an object outside the set, made ready by another controller,
// is waited for after the apply; not ready at the timeout, the sync fails naming it
// (its objects applied, nothing pruned); Stalled, it fails at once; ignored when the
// source waits for its whole set.
func TestHealthChecksAsFlux(t *testing.T) {
	w := newWorld(t, registry.Options{})
	group := strings.TrimPrefix(w.Target, "apps-") + ".health.example.com"
	w.pushSigned("infra", "v1", t1, map[string]string{"crd.yaml": pullertest.OpenCRD(group, "Widget")})
	infra := w.source("infra", "infra", "v1")
	infra.PruneNamespacesAndCRDs = true
	w.mustSync(infra)
	widgets := w.Dyn.Resource(schema.GroupVersionResource{Group: group, Version: "v1", Resource: "widgets"}).Namespace(w.Target)
	db := &unstructured.Unstructured{Object: map[string]any{"apiVersion": group + "/v1", "kind": "Widget",
		"metadata": map[string]any{"name": "db"}, "status": map[string]any{"conditions": []any{
			map[string]any{"type": "Ready", "status": "False", "reason": "Progressing", "message": "installing"}}}}}
	db, err := widgets.Create(w.Ctx, db, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	setConditions := func(conds ...map[string]any) {
		t.Helper()
		l := make([]any, len(conds))
		for i, c := range conds {
			l[i] = c
		}
		if err := unstructured.SetNestedSlice(db.Object, l, "status", "conditions"); err != nil {
			t.Fatal(err)
		}
		if db, err = widgets.Update(w.Ctx, db, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": pullertest.ConfigMap("a", "1")})
	w.pushSigned("app", "v2", t2, map[string]string{"b.yaml": pullertest.ConfigMap("b", "2")})
	src := w.source("app", "app", "v1")
	src.TargetNamespace = w.Target // the health check names no namespace: the target's
	src.HealthChecks = []puller.HealthCheck{{APIVersion: group + "/v1", Kind: "Widget", Name: "db"}}
	src.Timeout = metav1.Duration{Duration: 5 * time.Second}
	_, err = w.sync(src)
	var oe *apply.ObjectError
	if !errors.As(err, &oe) || oe.Kind != apply.ErrNotReady || oe.Object.Kind != "Widget" || oe.Object.Namespace != w.Target ||
		!strings.Contains(err.Error(), "Ready is False: installing") {
		t.Fatalf("sync with the Widget not ready: err = %v, want it named not ready, with its condition", err)
	}
	if w.CMData("a", "k") != "1" {
		t.Error("the set was not applied before the health check")
	}
	if got := w.status("app")[puller.AnnotationResult]; got == string(puller.Applied) {
		t.Errorf("result %q after a failed health check", got)
	}

	setConditions(map[string]any{"type": "Ready", "status": "True", "reason": "Succeeded"})
	w.mustSync(src)

	// Stalled: the next revision's sync stops at once, with a long timeout, and does not prune a.
	setConditions(map[string]any{"type": "Ready", "status": "False", "reason": "Failed"},
		map[string]any{"type": "Stalled", "status": "True", "reason": "InstallFailed", "message": "chart not found"})
	src.Ref.Tag = "v2"
	src.Timeout = metav1.Duration{Duration: time.Minute}
	start := time.Now()
	_, err = w.sync(src)
	if took := time.Since(start); err == nil || !strings.Contains(err.Error(), "failed: Stalled InstallFailed: chart not found") || took > 30*time.Second {
		t.Fatalf("sync with the Widget stalled: err = %v after %s, want it failed at once", err, took)
	}
	if w.CMData("a", "k") != "1" {
		t.Error("a was pruned although the health check failed")
	}

	// wait: true waits for the set, and the health checks are ignored, as in Flux.
	src.Wait = true
	w.mustSync(src)

	// A namespaced object named without a namespace, and no target namespace: refused at once.
	other := w.source("other", "app", "v1")
	other.Name = "other"
	other.HealthChecks = []puller.HealthCheck{{APIVersion: group + "/v1", Kind: "Widget", Name: "db"}}
	other.Timeout = metav1.Duration{Duration: time.Minute}
	start = time.Now()
	_, err = w.sync(other)
	if took := time.Since(start); err == nil || !strings.Contains(err.Error(), "needs a namespace") || took > 30*time.Second {
		t.Fatalf("a health check without a namespace: err = %v after %s", err, took)
	}
}

// commonMetadata, as Flux's: set on every object's own metadata (not its pod template),
// replacing the object's own value; changed or removed, the objects follow.
func TestCommonMetadataAsFlux(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{
		"a.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: NS\n  labels: {team: old, app: a}\n  annotations: {note: kept}\n",
		"web.yaml": pullertest.Deployment,
	})
	src := w.source("app", "app", "v1")
	src.CommonMetadata = &puller.CommonMetadata{Labels: map[string]string{"team": "shop", "env": "prod"}, Annotations: map[string]string{"owner": "shop@example.com"}}
	w.mustSync(src)
	cm, err := w.Get(pullertest.ConfigMaps, w.Target, "a")
	if err != nil {
		t.Fatal(err)
	}
	l, a := cm.GetLabels(), cm.GetAnnotations()
	if l["team"] != "shop" || l["env"] != "prod" || l["app"] != "a" || l[apply.LabelPartOf] == "" || a["owner"] != "shop@example.com" || a["note"] != "kept" {
		t.Fatalf("labels %v, annotations %v", l, a)
	}
	dep, err := w.Kube.AppsV1().Deployments(w.Target).Get(w.Ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dep.Labels["env"] != "prod" || dep.Spec.Template.Labels["env"] != "" || dep.Spec.Selector.MatchLabels["env"] != "" {
		t.Errorf("Deployment labels %v, template %v, selector %v", dep.Labels, dep.Spec.Template.Labels, dep.Spec.Selector.MatchLabels)
	}

	// The same digest under a new commonMetadata is applied again; a key no longer set goes.
	src.CommonMetadata = &puller.CommonMetadata{Labels: map[string]string{"env": "staging"}}
	w.mustSync(src)
	cm, err = w.Get(pullertest.ConfigMaps, w.Target, "a")
	if err != nil {
		t.Fatal(err)
	}
	l, a = cm.GetLabels(), cm.GetAnnotations()
	if l["env"] != "staging" || l["team"] != "old" || a["owner"] != "" {
		t.Errorf("after the change: labels %v, annotations %v", l, a)
	}
}

// retryInterval, as Flux's: a failing source tries again within it, however long its
// interval and the first backoff step (here a minute, against a retryInterval of 1 s).
func TestRetryIntervalBoundsTheBackoff(t *testing.T) {
	w := newWorld(t, registry.Options{})
	src := w.source("app", "app", "v1") // not pushed yet: the first syncs fail
	src.Interval = metav1.Duration{Duration: time.Hour}
	src.RetryInterval = metav1.Duration{Duration: time.Second}
	var mu sync.Mutex
	failures := 0
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() {
		done <- w.p.Run(ctx, []puller.Source{src}, puller.RunOptions{MinRetry: time.Minute, OnResult: func(r *puller.Result, err error) {
			if err != nil {
				mu.Lock()
				failures++
				mu.Unlock()
			}
		}})
	}()
	defer func() { cancel(); <-done }()
	pullertest.WaitUntil(t, 10*time.Second, "two failed syncs", func() bool { mu.Lock(); defer mu.Unlock(); return failures >= 2 })
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": pullertest.ConfigMap("a", "1")})
	pullertest.WaitUntil(t, 10*time.Second, "the pushed artifact applied", func() bool { ok, _ := w.p.Health().Ready(); return ok })
}

// webWithConfig is the Deployment web (its metadata's rest, then the ConfigMap it
// takes its environment from).
const webWithConfig = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web%s}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        envFrom: [{configMapRef: {name: %s}}]
`

// namePrefix, nameSuffix, patches and images, as Flux's: kustomize's transformers in a
// kustomization around the set, so references follow the renamed objects; a patch the
// build refuses fails the source naming what was set, with nothing applied.
func TestKustomizeFieldsAsFlux(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{
		"config.yaml": pullertest.ConfigMap("config", "1"),
		"web.yaml":    fmt.Sprintf(webWithConfig, ", namespace: NS", "config"),
	})
	src := w.source("app", "app", "v1")
	src.NamePrefix, src.NameSuffix = "eu-", "-1"
	src.Patches = []puller.Patch{
		{Patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: " + w.Target + "}\nspec: {replicas: 3}\n"},
		{Patch: `[{"op": "add", "path": "/metadata/labels", "value": {"patched": "yes"}}]`, Target: &puller.PatchTarget{Kind: "ConfigMap", Name: "config"}},
	}
	src.Images = []puller.Image{{Name: "nginx", NewTag: "1.28"}}
	w.mustSync(src)
	dep, err := w.Kube.AppsV1().Deployments(w.Target).Get(w.Ctx, "eu-web-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if *dep.Spec.Replicas != 3 || c.Image != "nginx:1.28" || c.EnvFrom[0].ConfigMapRef.Name != "eu-config-1" {
		t.Errorf("Deployment: replicas %d, image %s, envFrom %s", *dep.Spec.Replicas, c.Image, c.EnvFrom[0].ConfigMapRef.Name)
	}
	cm, err := w.Get(pullertest.ConfigMaps, w.Target, "eu-config-1")
	if err != nil {
		t.Fatal(err)
	}
	if cm.GetLabels()["patched"] != "yes" {
		t.Errorf("ConfigMap labels %v", cm.GetLabels())
	}
	if _, err := w.Get(pullertest.ConfigMaps, w.Target, "config"); err == nil {
		t.Error("the ConfigMap was also applied under its own name")
	}

	// A JSON patch whose path is not there: refused by the build, nothing applied.
	bad := w.source("bad", "app", "v1")
	bad.NamePrefix = "bad-"
	bad.Patches = []puller.Patch{{Patch: `[{"op": "replace", "path": "/spec/nothing/here", "value": 1}]`, Target: &puller.PatchTarget{Kind: "Deployment"}}}
	_, err = w.sync(bad)
	if err == nil || !strings.Contains(err.Error(), "setting namePrefix bad-, patches") {
		t.Fatalf("a patch that does not apply: err = %v, want the build refused, naming what was set", err)
	}
	if _, err := w.Get(pullertest.ConfigMaps, w.Target, "bad-config"); err == nil {
		t.Error("bad-config applied although the build failed")
	}
}

// A common label another manager took is taken back, also by a puller that has just
// started (the previous configuration rebuilt from its artifact carries the label).
func TestCommonMetadataTakenBackAfterARestart(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": pullertest.ConfigMap("a", "1")})
	w.pushSigned("app", "v2", t2, map[string]string{"a.yaml": pullertest.ConfigMap("a", "2")})
	src := w.source("app", "app", "v1")
	src.CommonMetadata = &puller.CommonMetadata{Labels: map[string]string{"team": "shop"}}
	w.mustSync(src)
	cm, err := w.Get(pullertest.ConfigMaps, w.Target, "a")
	if err != nil {
		t.Fatal(err)
	}
	l := cm.GetLabels()
	l["team"] = "other"
	cm.SetLabels(l)
	if _, err := w.Dyn.Resource(pullertest.ConfigMaps).Namespace(w.Target).Update(w.Ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	w.p = w.newPuller(puller.Options{}) // a restart: nothing kept in memory
	src.Ref.Tag = "v2"
	w.mustSync(src)
	if cm, err = w.Get(pullertest.ConfigMaps, w.Target, "a"); err != nil || cm.GetLabels()["team"] != "shop" {
		t.Fatalf("after the restart: %v, labels %v", err, cm.GetLabels())
	}
}

// With a kustomization of its own at the path, the fields are written into it, as
// Flux's generator writes them: the prefix and suffix replace the artifact's, an image
// replaces the artifact's entry of the same name, and a generated ConfigMap keeps its
// hash last (eu-cfg-x-HASH, as Flux names it, not eu-app-cfg-HASH-x).
func TestKustomizeFieldsIntoTheArtifactsKustomization(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{
		"kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: NS
namePrefix: app-
resources: [web.yaml]
images: [{name: nginx, newName: registry.local/nginx, newTag: "1.0"}]
configMapGenerator: [{name: cfg, literals: [k=v]}]
`,
		"web.yaml": fmt.Sprintf(webWithConfig, "", "cfg"),
	})
	src := w.source("app", "app", "v1")
	src.NamePrefix, src.NameSuffix = "eu-", "-x"
	src.Images = []puller.Image{{Name: "nginx", NewTag: "2.0"}}
	w.mustSync(src)
	dep, err := w.Kube.AppsV1().Deployments(w.Target).Get(w.Ctx, "eu-web-x", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	ref := c.EnvFrom[0].ConfigMapRef.Name
	if c.Image != "nginx:2.0" || !strings.HasPrefix(ref, "eu-cfg-x-") {
		t.Errorf("image %s (want nginx:2.0), ConfigMap %s (want eu-cfg-x-HASH)", c.Image, ref)
	}
	if _, err := w.Get(pullertest.ConfigMaps, w.Target, ref); err != nil {
		t.Errorf("the ConfigMap the Deployment names: %v", err)
	}
}

// A patch that writes a Secret's value and cannot be applied: the error, the status
// and the Events do not show the value (kustomize quotes the patch it refuses).
func TestPatchOfASecretIsNotQuoted(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{
		"kustomization.yaml": "resources: [s.yaml]\n",
		"s.yaml":             "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: NS}\nstringData: {user: bot}\n",
	})
	for _, p := range []puller.Patch{
		{Patch: `[{"op": "replace", "path": "/stringData/nothing/here", "value": "ghp_SUPERSECRET"}]`, Target: &puller.PatchTarget{Kind: "Secret", Name: "creds"}},
		{Patch: "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: " + w.Target + "}\nstringData: {token: ghp_SUPERSECRET}\ndata: 12\n"},
		{Patch: "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: " + w.Target + ", annotations: [x]}\nstringData: {token: ghp_SUPERSECRET}\n"},
		{Patch: "apiVersion: v1\nkind: Secret\nmetadata: {name: [creds]}\nstringData: {token: ghp_SUPERSECRET}\n", Target: &puller.PatchTarget{Kind: "Secret"}},
		{Patch: "kind: Secret\nmetadata: {name: creds, namespace: " + w.Target + "}\nstringData: {token: ghp_SUPERSECRET}\n---\nkind: x\n"},
	} {
		src := w.source("app", "app", "v1")
		src.Patches = []puller.Patch{p}
		_, err := w.sync(src)
		if err == nil {
			t.Fatalf("patch %q applied", p.Patch)
		}
		seen := err.Error() + fmt.Sprint(w.status("app")) + strings.Join(w.events("app"), "\n")
		if strings.Contains(seen, "ghp_SUPERSECRET") {
			t.Errorf("the value is shown:\n%s", seen)
		}
		t.Logf("%v", err)
	}
}

// Taking a cluster over from Flux: objects Flux's kustomize-controller applied (server-
// side, its field manager, its labels) are adopted by the first sync of the same
// manifests, and the next revision's changes are applied although kustomize-controller
// still co-owns the fields.
func TestTakesOverWhatFluxApplied(t *testing.T) {
	w := newWorld(t, registry.Options{})
	cm := func(v string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: NS}\ndata: {k: \"" + v + "\"}\n"
	}
	// As kustomize-controller applies: server-side, forced, with Flux's labels.
	flux := strings.ReplaceAll("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: NS\n  labels: {kustomize.toolkit.fluxcd.io/name: apps, kustomize.toolkit.fluxcd.io/namespace: flux-system}\ndata: {k: \"1\"}\n", "NS", w.Target)
	body, err := yaml.YAMLToJSON([]byte(flux))
	if err != nil {
		t.Fatal(err)
	}
	force := true
	if _, err := w.Dyn.Resource(pullertest.ConfigMaps).Namespace(w.Target).Patch(w.Ctx, "a", types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "kustomize-controller", Force: &force}); err != nil {
		t.Fatal(err)
	}
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("1")})
	w.pushSigned("app", "v2", t2, map[string]string{"a.yaml": cm("2")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)
	got, err := w.Get(pullertest.ConfigMaps, w.Target, "a")
	if err != nil || got.GetLabels()[apply.LabelPartOf] == "" {
		t.Fatalf("not adopted: %v %v", err, got.GetLabels())
	}
	src.Ref.Tag = "v2"
	w.mustSync(src)
	if v := w.CMData("a", "k"); v != "2" {
		t.Fatalf("k = %q after v2: the change was left to kustomize-controller", v)
	}
}

// A kustomization with a malformed openapi schema of its own fails its source's build
// and nothing else: kustomize loads the schema into process-wide state, which is reset
// after each build, so a scope lookup of the same artifact does not panic and another
// source's build is not refused for it.
func TestAnOpenAPISchemaStaysInItsBuild(t *testing.T) {
	write := func(files map[string]string) string {
		dir := t.TempDir()
		for n, c := range files {
			p := filepath.Join(dir, n)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	widget := "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: x}\n"
	one := write(map[string]string{"w.yaml": widget, "k/kustomization.yaml": "openapi: {path: s.json}\nresources: []\n", "k/s.json": "{not json"})
	if _, err := (puller.KustomizeBuilder{Root: one}).Build(t.Context(), one); err == nil {
		t.Log("the artifact with the schema built") // either way: no panic
	}
	bad := write(map[string]string{"kustomization.yaml": "openapi: {path: s.json}\n", "s.json": "{not json"})
	_, _ = puller.KustomizeBuilder{Root: bad, AllowEmpty: true}.Build(t.Context(), bad)
	other := write(map[string]string{"kustomization.yaml": "resources: [w.yaml]\n", "w.yaml": widget})
	objs, err := puller.KustomizeBuilder{Root: other}.Build(t.Context(), other)
	if err != nil || len(objs) != 1 {
		t.Fatalf("another source after the schema: %d objects, %v", len(objs), err)
	}
}

// The artifact's kustomization with an images field that is no list is refused, not
// overwritten by the source's images.
func TestKustomizeFieldsRefuseAMalformedKustomization(t *testing.T) {
	dir := t.TempDir()
	for n, c := range map[string]string{"kustomization.yaml": "resources: [a.yaml]\nimages: {name: nginx}\n", "a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := puller.KustomizeBuilder{Root: dir, Images: []puller.Image{{Name: "nginx", NewTag: "2"}}}.Build(t.Context(), dir)
	if err == nil || !strings.Contains(err.Error(), "its images is not a list") {
		t.Fatalf("err = %v", err)
	}
}

// A retryInterval longer than the interval, as Flux's: the polls in between only
// resolve the tag (the failing digest is not fetched or applied again), and a new
// digest is synced at the next poll.
func TestRetryIntervalLongerThanTheInterval(t *testing.T) {
	w := newWorld(t, registry.Options{})
	// No such kind in the cluster: the apply fails, in a way worth retrying.
	w.pushSigned("app", "latest", t1, map[string]string{"a.yaml": "apiVersion: nowhere.example.com/v1\nkind: Gadget\nmetadata: {name: g, namespace: NS}\n"})
	src := w.source("app", "app", "latest")
	src.Interval = metav1.Duration{Duration: time.Second}
	src.RetryInterval = metav1.Duration{Duration: time.Hour}
	var mu sync.Mutex
	var fetched, skipped int
	ctx, cancel := context.WithCancel(w.Ctx)
	done := make(chan error)
	go func() {
		done <- w.p.Run(ctx, []puller.Source{src}, puller.RunOptions{MinRetry: 200 * time.Millisecond, OnResult: func(r *puller.Result, err error) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
			case r.Phases["fetch"] > 0:
				fetched++
			case strings.Contains(err.Error(), "tried again after retryInterval"):
				skipped++
			}
		}})
	}()
	defer func() { cancel(); <-done }()
	pullertest.WaitUntil(t, 20*time.Second, "three polls after the failure", func() bool { mu.Lock(); defer mu.Unlock(); return skipped >= 3 })
	mu.Lock()
	if fetched != 1 {
		t.Errorf("the failing digest was fetched %d times, want once", fetched)
	}
	mu.Unlock()
	w.pushSigned("app", "latest", t2, map[string]string{"a.yaml": pullertest.ConfigMap("a", "fixed")})
	pullertest.WaitUntil(t, 10*time.Second, "the fixed artifact applied", func() bool { ok, _ := w.p.Health().Ready(); return ok })
}
