package apply_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/puller/apply"
)

func mustConfigMap(name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

// denyPolicy installs a ValidatingAdmissionPolicy (in-process CEL admission) that
// denies ConfigMaps named name in namespace ns.
func denyPolicy(t *testing.T, f *fixture, ns, name string) {
	t.Helper()
	policyName := "deny-" + ns
	f.Policy(policyName, admissionv1.ValidatingAdmissionPolicySpec{
		FailurePolicy: ptr(admissionv1.Fail),
		MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
			RuleWithOperations: admissionv1.RuleWithOperations{
				Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
				Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}},
			},
		}}},
		Validations: []admissionv1.Validation{{
			Expression: fmt.Sprintf("object.metadata.namespace != %q || object.metadata.name != %q", ns, name),
			Message:    "denied by test policy",
		}},
	})
	// The policy takes effect asynchronously: wait until a dry-run is denied.
	probe := []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":%q}}`, name, ns))
	waitFor(t, "the admission policy", func() bool {
		_, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(ns).Patch(f.Ctx, name, types.ApplyPatchType, probe, metav1.PatchOptions{FieldManager: "probe", DryRun: []string{"All"}})
		return err != nil && strings.Contains(err.Error(), "denied by test policy")
	})
}

func ptr[T any](v T) *T { return &v }

func TestAdmissionDenialOnTheFifthObject(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-admission")
	f.mustSync(f.applier, parent, f.objects(v1), apply.SyncOptions{Prune: true})
	denyPolicy(t, f, f.Target, "fifth")

	// v2 changes a, drops b and the Service, and adds a fifth object that admission denies.
	objs := f.objects(strings.ReplaceAll(v1, `data: {k: "1"}`, `data: {k: "2"}`))[:3]
	objs = append(objs, f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: NS}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: fifth, namespace: NS}
`)...)
	f.count.writes.Store(0)
	cs, err := f.sync(f.applier, parent, objs, apply.SyncOptions{Prune: true})
	var se *apply.SetError
	if !errors.Is(err, apply.ErrDryRun) || !errors.As(err, &se) || len(se.Errors) != 1 || se.Errors[0].Object.Name != "fifth" ||
		!strings.Contains(err.Error(), "denied by test policy") {
		t.Fatalf("err = %v", err)
	}
	if cs.Count(apply.Created)+cs.Count(apply.Configured)+cs.Count(apply.Pruned) != 0 {
		t.Fatalf("changes %+v", cs.Changes)
	}
	if w := f.count.writes.Load(); w != 0 {
		t.Fatalf("%d writes after a failed dry-run", w)
	}
	for _, name := range []string{"a", "b"} {
		u := f.mustGet(pullertest.ConfigMaps, f.Target, name)
		if v, _, _ := unstructured.NestedString(u.Object, "data", "k"); v != "1" {
			t.Fatalf("%s changed: %v", name, v)
		}
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "c"); err == nil {
		t.Fatal("c was created")
	}
}

func TestImpersonatedServiceAccountCannotExceedItsRBAC(t *testing.T) {
	f := newFixture(t)
	// A tenant service account that may manage ConfigMaps in the target namespace only.
	if _, err := f.Kube.CoreV1().ServiceAccounts(f.Target).Create(f.Ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "tenant"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Kube.RbacV1().Roles(f.Target).Create(f.Ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "update", "patch", "delete"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Kube.RbacV1().RoleBindings(f.Target).Create(f.Ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "tenant", Namespace: f.Target}},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "tenant"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	opts := apply.DefaultOptions()
	opts.ServiceAccount = f.Target + "/tenant"
	tenant := f.newApplier(opts)
	parent := f.parent("gitless-tenant")

	cms := f.objects(v1)[:2]
	var last error
	for range 100 {
		if _, last = f.sync(tenant, parent, cms, apply.SyncOptions{Prune: true}); last == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last != nil {
		t.Fatal(last)
	}

	// A Secret (or anything else) is beyond the tenant's rights: refused at the dry-run.
	_, err := f.sync(tenant, parent, append(f.objects(v1)[:2], f.objects(`
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: NS}
stringData: {k: v}
`)...), apply.SyncOptions{Prune: true})
	if !errors.Is(err, apply.ErrDryRun) || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), "system:serviceaccount:"+f.Target+":tenant") {
		t.Fatalf("err = %v", err)
	}
	if _, err := f.Kube.CoreV1().Secrets(f.Target).Get(f.Ctx, "s", metav1.GetOptions{}); err == nil {
		t.Fatal("secret created")
	}
}
