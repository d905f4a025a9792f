package puller_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
	"github.com/gitless-dev/gitless/verify"
)

func changeOf(res *puller.Result, kind, name string) *apply.Change {
	for i, c := range res.Changes {
		if c.Object.Kind == kind && c.Object.Name == name {
			return &res.Changes[i]
		}
	}
	return nil
}

// A plan says what the sync of the next artifact would create, configure (with the diff,
// a Secret's values masked) and prune, writes nothing, and the sync then does just that.
func TestPlanSaysWhatASyncWouldDoAndWritesNothing(t *testing.T) {
	w := newWorld(t, registry.Options{})
	secret := func(v string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: NS}\nstringData: {token: " + v + ", user: bot}\n"
	}
	v1 := w.pushSigned("app", "v1.0.0", t1, map[string]string{"a.yaml": cm("a", "1"), "b.yaml": cm("b", "1"), "s.yaml": secret("tok-ONE-value")})
	src := w.source("app", "app", "v1.0.0")
	w.mustSync(src)
	events := w.events("app")

	v2 := w.pushSigned("app", "v2.0.0", t2, map[string]string{"a.yaml": cm("a", "2"), "c.yaml": cm("c", "1"), "s.yaml": secret("tok-TWO-value")})
	src.Ref.Tag = "v2.0.0"
	plan, err := w.newPuller(puller.Options{}).Plan(w.Ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Outcome != puller.Planned || plan.Digest != v2.Digest || plan.Created != 1 || plan.Configured != 2 || plan.Pruned != 1 {
		t.Fatalf("plan: %+v", plan)
	}
	if plan.Requests.APIWrites != 0 {
		t.Fatalf("a plan wrote %d times to the apiserver", plan.Requests.APIWrites)
	}
	a := changeOf(plan, "ConfigMap", "a")
	if a == nil || a.Action != apply.Configured || !strings.Contains(a.Diff, "-  k: \"1\"\n+  k: \"2\"\n") ||
		!strings.Contains(a.Diff, "--- cluster: ConfigMap "+w.Target+"/a") || strings.Contains(a.Diff, "managedFields") {
		t.Fatalf("a: %+v", a)
	}
	if c := changeOf(plan, "ConfigMap", "c"); c == nil || c.Action != apply.Created || c.Diff != "" {
		t.Fatalf("c: %+v", c)
	}
	if b := changeOf(plan, "ConfigMap", "b"); b == nil || b.Action != apply.Pruned {
		t.Fatalf("b: %+v", b)
	}
	s := changeOf(plan, "Secret", "creds")
	if s == nil || s.Action != apply.Configured || !strings.Contains(s.Diff, "-  token: '*** (before)'") ||
		!strings.Contains(s.Diff, "+  token: '*** (after)'\n   user: '***'\n") {
		t.Fatalf("secret: %+v", s)
	}
	for _, c := range plan.Changes {
		for _, v := range []string{"tok-ONE-value", "tok-TWO-value", "dG9rLU9ORS12YWx1ZQ", "dG9rLVRXTy12YWx1ZQ"} {
			if strings.Contains(c.Diff, v) {
				t.Fatalf("the diff of %s shows a Secret value: %s", c.Object, c.Diff)
			}
		}
	}
	// Nothing changed: the objects, the parent, the Events.
	if w.CMData("a", "k") != "1" || w.CMData("b", "k") != "1" || w.CMData("c", "k") != "<absent>" {
		t.Fatal("the plan changed the cluster")
	}
	if st := w.status("app"); st[puller.AnnotationDigest] != v1.Digest.String() || st[puller.AnnotationAttempted] != "" || st[puller.AnnotationSyncing] != "" {
		t.Fatalf("the plan wrote the parent: %v", st)
	}
	if got := w.events("app"); len(got) != len(events) {
		t.Fatalf("the plan recorded Events: %v", got)
	}

	res := w.mustSync(src)
	if res.Created != plan.Created || res.Configured != plan.Configured || res.Pruned != plan.Pruned || res.Unchanged != plan.Unchanged {
		t.Fatalf("the sync did not do what the plan said: %+v, plan %+v", res, plan)
	}
	// Planned again: nothing left to do.
	again, err := w.p.Plan(w.Ctx, src)
	if err != nil || again.Created+again.Configured+again.Pruned != 0 || again.Unchanged != 3 {
		t.Fatalf("plan after the sync: %+v %v", again, err)
	}
}

// A plan of an artifact the policy refuses fails as the sync would, and records nothing:
// no Warning Event, no failure on the parent, no refusal remembered for the syncs.
func TestPlanOfARefusedArtifactRecordsNothing(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1.0.0", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1.0.0")
	w.mustSync(src)
	before := w.status("app")
	w.push("app", "v2.0.0", t2, map[string]string{"a.yaml": cm("a", "2")}) // unsigned
	src.Ref.Tag = "v2.0.0"
	res, err := w.p.Plan(w.Ctx, src)
	if !errors.Is(err, verify.ErrVerificationFailed) || res.Outcome != puller.Failed || res.Requests.APIWrites != 0 {
		t.Fatalf("unsigned: %+v %v", res, err)
	}
	if got := countPrefix(w.events("app"), "Warning"); got != 0 {
		t.Fatalf("the plan recorded a Warning: %v", w.events("app"))
	}
	after := w.status("app")
	for _, k := range []string{puller.AnnotationResult, puller.AnnotationMessage, puller.AnnotationRefused, puller.AnnotationDigest} {
		if after[k] != before[k] {
			t.Fatalf("the plan changed %s: %q → %q", k, before[k], after[k])
		}
	}
	// The sync still verifies it itself (and records its refusal once).
	if _, err := w.sync(src); !errors.Is(err, verify.ErrVerificationFailed) {
		t.Fatalf("sync: %v", err)
	}
	if got := countPrefix(w.events("app"), "Warning VerificationFailed"); got != 1 {
		t.Fatalf("events %v", w.events("app"))
	}
}

// Objects in a Namespace the set creates cannot be dry-run before it exists: the plan
// names them as created, not dry-run, and says why; the rest are dry-run as usual.
func TestPlanOfObjectsInANewNamespace(t *testing.T) {
	w := newWorld(t, registry.Options{})
	ns := w.Target + "-new"
	w.pushSigned("app", "v1.0.0", t1, map[string]string{
		"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n",
		"in.yaml": strings.ReplaceAll(cm("inside", "1"), "namespace: NS", "namespace: "+ns),
		"a.yaml":  cm("a", "1"),
		"d.yaml":  pullertest.Deployment,
	})
	res, err := w.p.Plan(w.Ctx, w.source("app", "app", "v1.0.0"))
	if err != nil {
		t.Fatal(err)
	}
	in := changeOf(res, "ConfigMap", "inside")
	if res.Created != 4 || in == nil || !strings.Contains(in.Reason, "not dry-run") {
		t.Fatalf("plan: %+v", res)
	}
	if r := changeOf(res, "ConfigMap", "a"); r == nil || r.Reason != "" {
		t.Fatalf("a: %+v", r)
	}
	if n := changeOf(res, "Namespace", ns); n == nil || n.Action != apply.Created {
		t.Fatalf("namespace: %+v", n)
	}
}

// suspend: true in the configuration (Flux's spec.suspend, what convert-flux writes for a
// suspended Kustomization) stops the source before anything is resolved, also before its
// first sync; removing it lets the source sync, and a suspension lifted does not count
// as a change of the source's configuration.
func TestSuspendInTheConfiguration(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1.0.0", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1.0.0")
	src.Suspend = true
	res, err := w.sync(src)
	if err != nil || res.Outcome != puller.Suspended || res.Requests.Registry != 0 || w.CMData("a", "k") != "<absent>" {
		t.Fatalf("suspended: %+v %v", res, err)
	}
	src.Suspend = false
	if res := w.mustSync(src); res.Outcome != puller.Applied || res.Created != 1 {
		t.Fatalf("resumed: %+v", res)
	}
	src.Suspend = true
	if res := w.mustSync(src); res.Outcome != puller.Suspended {
		t.Fatalf("suspended again: %+v", res)
	}
	src.Suspend = false
	w.clock.add(time.Minute)
	if res := w.mustSync(src); res.Outcome != puller.UpToDate {
		t.Fatalf("resumed again: %+v", res)
	}
}

// A build error names the files as the artifact has them, not where this process
// extracted it, and a local entry that is missing is said to be missing.
func TestBuildErrorNamesPathsInTheArtifact(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("app", "v1", t1, map[string]string{
		"app/kustomization.yaml": "resources: [a.yaml, missing.yaml]\n", "app/a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	src.Path = "app"
	_, err := w.sync(src)
	if err == nil || !strings.Contains(err.Error(), `app/kustomization.yaml: resources entry "missing.yaml": refused: no such file or directory in the tree`) ||
		strings.Contains(err.Error(), os.TempDir()) {
		t.Fatalf("%v", err)
	}
}

// A Secret's value substituted into a ConfigMap is masked in the plan's diff even where
// YAML quotes it otherwise (a quote doubled, a line folded).
func TestPlanDiffMasksASubstitutedSecretValueAsYAMLQuotesIt(t *testing.T) {
	w := newWorld(t, registry.Options{})
	if _, err := w.Kube.CoreV1().Secrets(w.NS).Create(w.Ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vars", Namespace: w.NS},
		StringData: map[string]string{"pw": "it's: hunter22-secret"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	conf := func(v string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf, namespace: NS}\ndata:\n  dsn: \"${pw}\"\n  v: \"" + v + "\"\n"
	}
	w.pushSigned("app", "v1.0.0", t1, map[string]string{"c.yaml": conf("1")})
	src := w.source("app", "app", "v1.0.0")
	src.PostBuild = &puller.PostBuild{SubstituteFrom: []puller.SubstituteReference{{Kind: "Secret", Name: "vars"}}}
	w.mustSync(src)
	w.pushSigned("app", "v2.0.0", t2, map[string]string{"c.yaml": conf("2")})
	src.Ref.Tag = "v2.0.0"
	plan, err := w.newPuller(puller.Options{}).Plan(w.Ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if c := changeOf(plan, "ConfigMap", "conf"); c == nil || c.Diff == "" || strings.Contains(c.Diff, "hunter22") {
		t.Fatalf("%+v", c)
	}
}

// After the Secret a variable comes from is rotated, the value in the cluster is the
// old one, which this process never learned: the changed values of an object given
// variables from a Secret are masked whatever they are.
func TestPlanDiffMasksARotatedSecretsOldValue(t *testing.T) {
	w := newWorld(t, registry.Options{})
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vars", Namespace: w.NS}, StringData: map[string]string{"pw": "OLD-db-password-1"}}
	if _, err := w.Kube.CoreV1().Secrets(w.NS).Create(w.Ctx, sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.pushSigned("app", "v1.0.0", t1, map[string]string{"c.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf, namespace: NS}\ndata:\n  pw: \"${pw}\"\n  same: x\n"})
	src := w.source("app", "app", "v1.0.0")
	src.PostBuild = &puller.PostBuild{SubstituteFrom: []puller.SubstituteReference{{Kind: "Secret", Name: "vars"}}}
	w.mustSync(src)
	sec.StringData = map[string]string{"pw": "NEW-db-password-2"}
	if _, err := w.Kube.CoreV1().Secrets(w.NS).Update(w.Ctx, sec, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	plan, err := w.newPuller(puller.Options{}).Plan(w.Ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	c := changeOf(plan, "ConfigMap", "conf")
	if c == nil || c.Action != apply.Configured || strings.Contains(c.Diff, "password") ||
		!strings.Contains(c.Diff, "-  pw: '*** (before)'\n+  pw: '*** (after)'\n") || !strings.Contains(c.Diff, "  same: x\n") {
		t.Fatalf("%+v", c)
	}
}

// A plan that would recreate an object (an immutable field changed, force on) asks the
// cluster about the delete with a dry-run, which is no write.
func TestPlanOfARecreationWritesNothing(t *testing.T) {
	w := newWorld(t, registry.Options{})
	imm := func(v string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: imm, namespace: NS, annotations: {gitless.dev/force: enabled}}\nimmutable: true\ndata: {k: \"" + v + "\"}\n"
	}
	w.pushSigned("app", "v1.0.0", t1, map[string]string{"imm.yaml": imm("1")})
	src := w.source("app", "app", "v1.0.0")
	w.mustSync(src)
	w.pushSigned("app", "v2.0.0", t2, map[string]string{"imm.yaml": imm("2")})
	src.Ref.Tag = "v2.0.0"
	plan, err := w.p.Plan(w.Ctx, src)
	if err != nil || plan.Recreated != 1 || w.CMData("imm", "k") != "1" || plan.Requests.APIWrites != 0 {
		t.Fatalf("%+v %v", plan, err)
	}
}

// A source suspended before anything of it was applied is not ready: what depends on it
// waits (Flux's dependents wait for a Kustomization suspended before it was ever ready).
// Once applied and then suspended, its dependents go on.
func TestDependentOfASourceSuspendedBeforeItsFirstSyncWaits(t *testing.T) {
	w := newWorld(t, registry.Options{})
	w.pushSigned("infra", "v1.0.0", t1, map[string]string{"a.yaml": cm("infra", "1")})
	w.pushSigned("apps", "v1.0.0", t1, map[string]string{"a.yaml": cm("app", "1")})
	infra := w.source("infra", "infra", "v1.0.0")
	infra.Suspend = true
	apps := w.source("apps", "apps", "v1.0.0")
	apps.DependsOn = []string{"infra"}
	if _, err := w.p.SyncAll(w.Ctx, []puller.Source{infra, apps}); !errors.Is(err, puller.ErrDependency) || w.CMData("app", "k") != "<absent>" {
		t.Fatalf("apps synced before infra was ever applied: %v", err)
	}
	infra.Suspend = false
	w.mustSync(infra)
	infra.Suspend = true
	if _, err := w.p.SyncAll(w.Ctx, []puller.Source{infra, apps}); err != nil || w.CMData("app", "k") != "1" {
		t.Fatalf("apps after infra was applied and suspended: %v", err)
	}
}
