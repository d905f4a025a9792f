package puller_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
	"github.com/gitless-dev/gitless/puller/config"
)

// The install manifests of examples/cluster (least privilege) and its platform variant
// build, apply to a real apiserver (with the puller's own builder and applier), and hold
// a valid configuration. TestLeastPrivilegeRBACBoundsTenants runs a puller with the
// base's RBAC.
func TestClusterExample(t *testing.T) {
	e := env.Use(t)
	ctx := t.Context()
	a, err := apply.New(e.Config(), apply.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ns := e.Namespace(t, "install")
	for _, tc := range []struct {
		dir     string
		sources int
	}{{"../examples/cluster", 1}, {"../examples/cluster-platform", 3}} {
		objs, err := puller.KustomizeBuilder{}.Build(ctx, tc.dir)
		if err != nil {
			t.Fatalf("%s: %v", tc.dir, err)
		}
		var cfgText string
		for _, o := range objs {
			if o.GetKind() == "ConfigMap" && o.GetName() == "gitless-puller-config" {
				cfgText, _, _ = unstructured.NestedString(o.Object, "data", "puller.yaml")
			}
			if tc.sources == 1 && (o.GetKind() == "ClusterRoleBinding" || o.GetKind() == "ClusterRole") {
				t.Errorf("%s: the least-privilege install has a cluster-wide %s %s", tc.dir, o.GetKind(), o.GetName())
			}
		}
		c, err := config.Parse([]byte(cfgText), config.Namespaces{Default: "gitless-system"})
		if err != nil {
			t.Fatalf("%s: %v", tc.dir, err)
		}
		if len(c.Sources) != tc.sources || c.DefaultServiceAccount != "gitless-tenant" {
			t.Fatalf("%s: %+v", tc.dir, c)
		}
		for _, s := range c.Sources {
			id, err := c.Tenancy().Identity(s, c.Namespace)
			if err != nil || id.ServiceAccount == "" {
				t.Fatalf("%s: source %s acts as %q (%v): every source must impersonate", tc.dir, s.Name, id.ServiceAccount, err)
			}
		}
		// The platform variant is the base plus its own objects: one set, updated.
		st, err := a.ReadParent(ctx, apply.Parent{Kind: apply.ParentConfigMap, Namespace: ns, Name: "gitless-install"})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := a.Apply(ctx, st, objs, apply.SyncOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.dir, err)
		}
		if cs.Count(apply.Created)+cs.Count(apply.Configured)+cs.Count(apply.Unchanged) != len(objs) {
			t.Fatalf("%s: %+v", tc.dir, cs)
		}
	}
}
