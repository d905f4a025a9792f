package puller_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller/apply"
)

// tenantAccount creates the service account "tenant" in ns and a Role "tenant" that
// may manage ConfigMaps there, and returns the RoleBinding between them, not created.
func (w *world) tenantAccount(ns string) *rbacv1.RoleBinding {
	w.t.Helper()
	if _, err := w.Kube.CoreV1().ServiceAccounts(ns).Create(w.Ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "tenant"}}, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.Kube.RbacV1().Roles(ns).Create(w.Ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "tenant"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "create", "patch", "delete"}}}}, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "tenant"},
		Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "tenant", Namespace: ns}},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "tenant"}}
}

// A source that impersonates its tenant's service account cannot create what that
// account may not, whatever the artifact says.
func TestServiceAccountImpersonation(t *testing.T) {
	w := newWorld(t, registry.Options{})
	ns := w.Target
	if _, err := w.Kube.RbacV1().RoleBindings(ns).Create(w.Ctx, w.tenantAccount(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.pushSigned("tenant", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	w.pushSigned("tenant", "v2", t2, map[string]string{"a.yaml": cm("a", "2"),
		"role.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: escalate\n  namespace: NS\nsubjects: [{kind: ServiceAccount, name: tenant, namespace: NS}]\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n"})
	src := w.source("tenant", "tenant", "v1")
	src.ServiceAccountName = "tenant"
	src.TargetNamespace = ns
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err = w.sync(src); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	src.Ref.Tag = "v2"
	_, err = w.sync(src)
	if !errors.Is(err, apply.ErrDryRun) || !strings.Contains(err.Error(), "system:serviceaccount:"+ns+":tenant") {
		t.Fatalf("err = %v", err)
	}
	if w.CMData("a", "k") != "1" {
		t.Fatal("a changed although the set was refused")
	}
}
