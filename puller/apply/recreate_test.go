package apply_test

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/puller/apply"
)

var jobs = schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}

// job is a Job in NS whose pod template runs image, with extra lines under its
// metadata (annotations) and its pod spec.
func job(name, image, meta, podSpec string) string {
	return `apiVersion: batch/v1
kind: Job
metadata:
  name: ` + name + `
  namespace: NS
` + meta + `spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: "` + image + `"}]
` + podSpec
}

// A Job's template is immutable: a changed one is refused by the dry-run, naming the
// object and ErrImmutable, with nothing of the set applied; with Force, or the object's
// force annotation (gitless's or Flux's), the Job is deleted and created again, and
// the rest of the set applied. An object the cluster would not create either, or one
// of another set, is never deleted.
func TestImmutableFieldChangeRecreatesOnlyWithForce(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-force")
	f.mustSync(f.applier, parent, f.objects(manifests(configMap("a", "1"), job("migrate", "busybox:1", "", ""))), apply.SyncOptions{Prune: true})
	uid := func() string { return string(f.mustGet(jobs, f.Target, "migrate").GetUID()) }
	image := func() string {
		cs, _, _ := unstructured.NestedSlice(f.mustGet(jobs, f.Target, "migrate").Object, "spec", "template", "spec", "containers")
		img, _, _ := unstructured.NestedString(cs[0].(map[string]any), "image")
		return img
	}
	first := uid()

	v2 := f.objects(manifests(configMap("a", "2"), job("migrate", "busybox:2", "", "")))
	_, err := f.sync(f.applier, parent, v2, apply.SyncOptions{Prune: true})
	if !errors.Is(err, apply.ErrDryRun) || !errors.Is(err, apply.ErrImmutable) ||
		!strings.Contains(err.Error(), "Job.batch "+f.Target+"/migrate") || !strings.Contains(err.Error(), apply.AnnotationForce) {
		t.Fatalf("without force: err = %v", err)
	}
	if v, _, _ := unstructured.NestedString(f.mustGet(pullertest.ConfigMaps, f.Target, "a").Object, "data", "k"); v != "1" || uid() != first {
		t.Fatalf("a refused change applied something: a.data.k = %q, job uid %s (was %s)", v, uid(), first)
	}

	cs := f.mustSync(f.applier, parent, v2, apply.SyncOptions{Prune: true, Force: true})
	want := map[string]apply.Action{"ConfigMap a": apply.Configured, "Job migrate": apply.Recreated}
	if got := actions(cs); !maps.Equal(got, want) {
		t.Fatalf("with force: %v, want %v", got, want)
	}
	second := uid()
	if second == first || image() != "busybox:2" {
		t.Fatalf("job uid %s (was %s), image %s", second, first, image())
	}
	if got := f.mustGet(jobs, f.Target, "migrate").GetLabels()[apply.LabelPartOf]; got != parent.ID() {
		t.Fatalf("the recreated job's part-of label %q", got)
	}
	if !strings.Contains(cs.Summary(), "1 recreated") {
		t.Fatalf("summary %q", cs.Summary())
	}

	// The annotation, without Force: for that object only. Flux's key works the same.
	for i, key := range []string{apply.AnnotationForce, apply.AnnotationFluxForce} {
		img := []string{"busybox:3", "busybox:4"}[i]
		cs = f.mustSync(f.applier, parent, f.objects(manifests(configMap("a", "2"),
			job("migrate", img, "  annotations: {"+key+": "+[]string{"enabled", "Enabled"}[i]+"}\n", ""))), apply.SyncOptions{Prune: true})
		if got := actions(cs)["Job migrate"]; got != apply.Recreated || image() != img {
			t.Fatalf("annotation %s: %v, image %s", key, got, image())
		}
	}

	// Refused as a new object too (a Job may not restart Always): the refusal stands,
	// and the Job is not deleted, even with Force.
	before := uid()
	bad := job("migrate", "busybox:5", "", "")
	bad = strings.Replace(bad, "restartPolicy: Never", "restartPolicy: Always", 1)
	_, err = f.sync(f.applier, parent, f.objects(manifests(configMap("a", "2"), bad)), apply.SyncOptions{Prune: true, Force: true})
	if !errors.Is(err, apply.ErrDryRun) || errors.Is(err, apply.ErrImmutable) || !strings.Contains(err.Error(), "restartPolicy") {
		t.Fatalf("invalid job: err = %v", err)
	}
	if uid() != before {
		t.Fatal("an invalid job was deleted")
	}

	// Another set's Job is not recreated, force or not.
	other := f.parent("gitless-force-other")
	f.mustSync(f.applier, other, f.objects(job("theirs", "busybox:1", "", "")), apply.SyncOptions{})
	theirs := string(f.mustGet(jobs, f.Target, "theirs").GetUID())
	_, err = f.sync(f.applier, parent, f.objects(manifests(configMap("a", "2"), job("migrate", "busybox:4", "", ""), job("theirs", "busybox:2", "", ""))), apply.SyncOptions{Prune: true, Force: true})
	if !errors.Is(err, apply.ErrForeignObject) {
		t.Fatalf("another set's job: err = %v", err)
	}
	if u, err := f.Get(jobs, f.Target, "theirs"); err != nil || string(u.GetUID()) != theirs {
		t.Fatalf("another set's job was recreated: %v", err)
	}
	if _, err := f.Get(jobs, f.Target, "migrate"); apierrors.IsNotFound(err) {
		t.Fatal("the set's job is gone")
	}
}

// refusePolicy installs a ValidatingAdmissionPolicy (Deny) refusing ops on resource of
// group in the target namespace with message, and waits until it refuses probe.
func refusePolicy(t *testing.T, f *fixture, name string, ops []admissionv1.OperationType, group, resource, message string, probe func() error) {
	t.Helper()
	fail := admissionv1.Fail
	f.Policy(name, admissionv1.ValidatingAdmissionPolicySpec{FailurePolicy: &fail,
		MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: ops, Rule: admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{"*"}, Resources: []string{resource}}}}}},
		MatchConditions: []admissionv1.MatchCondition{{Name: "ns", Expression: fmt.Sprintf("(has(object.metadata) && object.metadata.namespace == %[1]q) || (oldObject != null && oldObject.metadata.namespace == %[1]q)", f.Target)}},
		Validations:     []admissionv1.Validation{{Expression: "false", Message: message}}})
	waitFor(t, "the policy", func() bool { err := probe(); return err != nil && strings.Contains(err.Error(), message) })
}

// Force recreates only what the cluster refuses for an immutable field: an admission
// policy that freezes updates (a 422 with no field) is not bypassed by a delete and a
// create; and a recreation whose delete the cluster would refuse fails the dry-run,
// with nothing of the set applied.
func TestForceNeverBypassesAdmission(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-force-admission")
	f.mustSync(f.applier, parent, f.objects(manifests(configMap("a", "1"), configMap("frozen", "1"), job("migrate", "busybox:1", "", ""))), apply.SyncOptions{Prune: true})
	frozen := f.mustGet(pullertest.ConfigMaps, f.Target, "frozen").GetUID()
	jobUID := f.mustGet(jobs, f.Target, "migrate").GetUID()

	refusePolicy(t, f, "freeze-"+f.Target, []admissionv1.OperationType{admissionv1.Update}, "", "configmaps", "change freeze", func() error {
		_, err := f.Kube.CoreV1().ConfigMaps(f.Target).Update(f.Ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "frozen", Namespace: f.Target}}, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	})
	_, err := f.sync(f.applier, parent, f.objects(manifests(configMap("a", "2"), configMap("frozen", "2"), job("migrate", "busybox:1", "", ""))), apply.SyncOptions{Prune: true, Force: true})
	if !errors.Is(err, apply.ErrDryRun) || errors.Is(err, apply.ErrImmutable) || !strings.Contains(err.Error(), "change freeze") {
		t.Fatalf("a frozen object: err = %v", err)
	}
	if f.mustGet(pullertest.ConfigMaps, f.Target, "frozen").GetUID() != frozen || f.CMData("a", "k") != "1" {
		t.Fatal("the freeze was bypassed, or the set half-applied")
	}

	refusePolicy(t, f, "nodelete-"+f.Target, []admissionv1.OperationType{admissionv1.Delete}, "batch", "jobs", "jobs are kept", func() error {
		return f.Kube.BatchV1().Jobs(f.Target).Delete(f.Ctx, "migrate", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
	})
	_, err = f.sync(f.applier, parent, f.objects(manifests(configMap("a", "2"), configMap("frozen", "1"), job("migrate", "busybox:2", "", ""))), apply.SyncOptions{Prune: true, Force: true})
	if !errors.Is(err, apply.ErrDryRun) || !errors.Is(err, apply.ErrImmutable) || !strings.Contains(err.Error(), "jobs are kept") {
		t.Fatalf("a job that may not be deleted: err = %v", err)
	}
	if f.mustGet(jobs, f.Target, "migrate").GetUID() != jobUID || f.CMData("a", "k") != "1" {
		t.Fatal("the job was recreated, or the set half-applied")
	}
}
