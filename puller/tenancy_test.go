package puller_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
)

// The least-privilege install of examples/cluster holds: a puller running with a real
// service-account token (TokenRequest) of the gitless-puller account, bound to exactly
// the example's RBAC (rbac.yaml, and tenants.yaml for two tenants), locked down with
// defaultServiceAccount, applies a tenant's artifact into the tenant's namespace, and
// a tenant's source cannot create anything outside it, cannot read another tenant's
// pull secret, and cannot act as an account the RBAC does not name.
func TestLeastPrivilegeRBACBoundsTenants(t *testing.T) {
	w := newWorld(t, registry.Options{Auth: registry.AuthBasic}) // pull secrets are needed
	tenantA, tenantB := w.Target, env.Namespace(t, "tenant-b")

	// The example's RBAC, its namespaces renamed to the test's.
	objs, err := puller.KustomizeBuilder{}.Build(w.Ctx, "../examples/cluster")
	if err != nil {
		t.Fatal(err)
	}
	var rbac []*unstructured.Unstructured
	for _, o := range objs {
		switch o.GetKind() {
		case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
		default:
			continue
		}
		switch o.GetNamespace() {
		case "gitless-system":
			rbac = append(rbac, renamed(o, map[string]string{"gitless-system": w.NS}))
		case "apps": // the tenant template, once per tenant
			rbac = append(rbac, renamed(o, map[string]string{"gitless-system": w.NS, "apps": tenantA}),
				renamed(o, map[string]string{"gitless-system": w.NS, "apps": tenantB}))
		default:
			t.Fatalf("%s %s/%s: the least-privilege RBAC holds only namespaced objects of the puller's and the tenant's namespaces", o.GetKind(), o.GetNamespace(), o.GetName())
		}
	}
	for _, o := range rbac {
		gvr := map[string]string{"ServiceAccount": "serviceaccounts", "Role": "roles", "RoleBinding": "rolebindings"}[o.GetKind()]
		gv := o.GroupVersionKind().GroupVersion()
		b, _ := json.Marshal(o.Object)
		if _, err := w.Dyn.Resource(gv.WithResource(gvr)).Namespace(o.GetNamespace()).Patch(w.Ctx, o.GetName(), types.ApplyPatchType, b,
			metav1.PatchOptions{FieldManager: "tenancy-test", Force: ptr(true)}); err != nil {
			t.Fatalf("%s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
	// A real token of the puller's account.
	tr, err := w.Kube.CoreV1().ServiceAccounts(w.NS).CreateToken(w.Ctx, "gitless-puller",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin := w.Config
	cfg := &rest.Config{Host: admin.Host, TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData, CAFile: admin.CAFile}, BearerToken: tr.Status.Token, QPS: -1}
	p, err := puller.New(cfg, puller.Options{Namespace: w.NS, Now: w.clock.now, Tenancy: puller.Tenancy{DefaultServiceAccount: "gitless-tenant"}})
	if err != nil {
		t.Fatal(err)
	}
	sync := func(src puller.Source) error {
		t.Helper()
		_, err := p.Sync(w.Ctx, src)
		return err
	}
	// Each tenant's registry credentials, in its own namespace.
	dockerConfigSecretIn(t, w, tenantA, "regcred", w.Reg.Host(), w.Reg.Username, w.Reg.Password)
	dockerConfigSecretIn(t, w, tenantB, "regcred", w.Reg.Host(), w.Reg.Username, w.Reg.Password)

	// Tenant A's source works: its pull secret read as its account, its objects applied
	// as its account, the parent written by the puller in its own namespace.
	w.pushSigned("a", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	srcA := w.source("tenant-a", "a", "v1")
	srcA.TargetNamespace, srcA.PullSecret = tenantA, "regcred"
	if err := sync(srcA); err != nil {
		t.Fatalf("tenant A's own source: %v", err)
	}
	if w.CMData("a", "k") != "1" {
		t.Fatal("tenant A's ConfigMap was not applied")
	}

	forbidden := func(t *testing.T, err error, what string) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), what) {
			t.Fatalf("got %v, want %s forbidden", err, what)
		}
	}
	t.Run("cluster-scoped objects", func(t *testing.T) {
		w.t = t
		w.pushSigned("a", "v2", t2, map[string]string{"a.yaml": cm("a", "2"),
			"crb.yaml": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: tenant-a-escalates\nsubjects: [{kind: ServiceAccount, name: gitless-tenant, namespace: NS}]\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n",
			"ns.yaml":  "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tenant-a-extra\n"})
		s := srcA
		s.Ref.Tag = "v2"
		forbidden(t, sync(s), "system:serviceaccount:"+tenantA+":gitless-tenant")
		if w.CMData("a", "k") != "1" {
			t.Fatal("part of the refused set was applied")
		}
		if _, err := w.Kube.RbacV1().ClusterRoleBindings().Get(w.Ctx, "tenant-a-escalates", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("the ClusterRoleBinding exists: %v", err)
		}
	})
	t.Run("another tenant's namespace", func(t *testing.T) {
		w.t = t
		w.pushSigned("a", "v3", t2, map[string]string{"b.yaml": strings.ReplaceAll(cm("intruder", "1"), "namespace: NS", "namespace: "+tenantB)})
		s := srcA
		s.Name, s.Ref.Tag = "tenant-a-wide", "v3"
		s.TargetNamespace, s.ServiceAccountName = "", tenantA+"/gitless-tenant" // keep the artifact's namespaces
		forbidden(t, sync(s), tenantB)
		if _, err := w.Kube.CoreV1().ConfigMaps(tenantB).Get(w.Ctx, "intruder", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Fatalf("tenant A created a ConfigMap in tenant B's namespace: %v", err)
		}
	})
	t.Run("another tenant's pull secret", func(t *testing.T) {
		w.t = t
		s := srcA
		s.PullSecret = tenantB + "/regcred"
		if err := sync(s); !errors.Is(err, puller.ErrInvalidSource) || !strings.Contains(err.Error(), "allowCrossNamespaceRefs") {
			t.Fatalf("a cross-namespace pull secret: %v", err)
		}
		// Allowed by the lockdown, it is still read as tenant A, whom RBAC refuses.
		open, err := puller.New(cfg, puller.Options{Namespace: w.NS, Tenancy: puller.Tenancy{DefaultServiceAccount: "gitless-tenant", AllowCrossNamespaceRefs: true}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = open.Sync(w.Ctx, s)
		forbidden(t, err, `secrets "regcred"`)
	})
	t.Run("an account the RBAC does not name", func(t *testing.T) {
		w.t = t
		s := srcA
		s.Name, s.ServiceAccountName = "tenant-a-default", "default"
		forbidden(t, sync(s), "cannot impersonate")
	})
	t.Run("the puller's own rights", func(t *testing.T) {
		w.t = t
		// Without the lockdown and without serviceAccountName a source acts as the
		// puller, whose RBAC is its own namespace: nothing can be applied.
		own, err := puller.New(cfg, puller.Options{Namespace: w.NS})
		if err != nil {
			t.Fatal(err)
		}
		s := srcA
		s.Name, s.PullSecret = "puller-itself", ""
		s.PullSecretFile = writeDockerConfig(t, w)
		_, err = own.Sync(w.Ctx, s)
		forbidden(t, err, "system:serviceaccount:"+w.NS+":gitless-puller")
		if !errors.Is(err, apply.ErrDryRun) {
			t.Fatalf("refused elsewhere than at the dry-run: %v", err)
		}
	})
}

// renamed returns a copy of o with its namespace, and its subjects' namespaces,
// renamed.
func renamed(o *unstructured.Unstructured, names map[string]string) *unstructured.Unstructured {
	c := o.DeepCopy()
	if n, ok := names[c.GetNamespace()]; ok {
		c.SetNamespace(n)
	}
	subjects, _, _ := unstructured.NestedSlice(c.Object, "subjects")
	for _, s := range subjects {
		m := s.(map[string]any)
		if n, ok := names[m["namespace"].(string)]; ok {
			m["namespace"] = n
		}
	}
	if subjects != nil {
		unstructured.SetNestedSlice(c.Object, subjects, "subjects")
	}
	return c
}

// writeDockerConfig writes the registry's credentials as a dockerconfigjson file.
func writeDockerConfig(t *testing.T, w *world) string {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"auths": map[string]any{w.Reg.Host(): map[string]string{"username": w.Reg.Username, "password": w.Reg.Password}}})
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }
