package puller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// denyConfigMap installs a ValidatingAdmissionPolicy (CEL, in the apiserver) that
// denies ConfigMaps named name in the target namespace, and waits until it bites.
func denyConfigMap(t *testing.T, w *world, name string) {
	t.Helper()
	probe := []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":%q}}`, name, w.Target))
	denyWhen(t, w, "deny-"+w.Target, fmt.Sprintf("object.metadata.namespace == %q && object.metadata.name == %q", w.Target, name), w.Target, name, probe)
}

// denyWhen installs a ValidatingAdmissionPolicy named policy that denies creating or
// updating a ConfigMap where the CEL expression cond holds, and waits until it bites:
// until a server-side dry-run apply of probe, the ConfigMap ns/name, is denied.
func denyWhen(t *testing.T, w *world, policy, cond, ns, name string, probe []byte) {
	t.Helper()
	installPolicy(t, w, policy, admissionv1.RuleWithOperations{
		Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
		Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
	}, admissionv1.Validation{Expression: "!(" + cond + ")", Message: "denied by the test policy"})
	force := true
	for deadline := time.Now().Add(20 * time.Second); ; {
		_, err := w.Dyn.Resource(pullertest.ConfigMaps).Namespace(ns).Patch(w.Ctx, name, types.ApplyPatchType, probe, metav1.PatchOptions{FieldManager: "probe", Force: &force, DryRun: []string{"All"}})
		if err != nil && strings.Contains(err.Error(), "denied by the test policy") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admission policy does not take effect: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// installPolicy installs a ValidatingAdmissionPolicy named policy (failing closed) with
// one rule and one validation, bound with the Deny action, and removes both at the end
// of the test. The caller waits until it bites.
func installPolicy(t *testing.T, w *world, policy string, rule admissionv1.RuleWithOperations, v admissionv1.Validation) {
	t.Helper()
	fail := admissionv1.Fail
	_, err := w.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Create(w.Ctx, &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: policy},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy:    &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: rule}}},
			Validations:      []admissionv1.Validation{v},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Create(w.Ctx, &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: policy},
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: policy, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// w.Ctx (the test's context) has ended by now.
		ctx := context.Background()
		w.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, policy, metav1.DeleteOptions{})
		w.Kube.AdmissionregistrationV1().ValidatingAdmissionPolicies().Delete(ctx, policy, metav1.DeleteOptions{})
	})
}

// A set that relabels its own existing Namespace (the label an admission policy's
// namespace check admits by) and adds an object that needs the new label: the Namespace
// goes first, the object is dry-run after it, and the sync applies both. An early
// dry-run against the old labels would refuse it at every sync.
func TestNamespaceChangedBeforeTheObjectsItAdmits(t *testing.T) {
	w := newWorld(t, registry.Options{})
	probe := []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"probe","namespace":%q}}`, w.Target))
	denyWhen(t, w, "gate-"+w.Target, fmt.Sprintf(`object.metadata.namespace == %q && !(has(namespaceObject.metadata.labels) && "gate" in namespaceObject.metadata.labels && namespaceObject.metadata.labels["gate"] == "open")`, w.Target),
		w.Target, "probe", probe)
	w.pushSigned("app", "v1", t1, map[string]string{
		"ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: NS\n  labels: {gate: open}\n",
		"a.yaml":  cm("gated", "1"),
	})
	if _, err := w.sync(w.source("app", "app", "v1")); err != nil {
		t.Fatalf("the Namespace's new label was not applied before its ConfigMap: %v", err)
	}
	if w.CMData("gated", "k") != "1" {
		t.Fatal("the ConfigMap the new label admits is not there")
	}
}
