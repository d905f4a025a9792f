package puller_test

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
	"github.com/gitless-dev/gitless/puller/config"
)

// The install manifests of examples/cluster build, apply to a real apiserver (with the
// puller's own builder and applier), and hold a valid configuration.
func TestClusterExample(t *testing.T) {
	e := env.Use(t)
	ctx := t.Context()
	objs, err := puller.KustomizeBuilder{}.Build(ctx, "../examples/cluster")
	if err != nil {
		t.Fatal(err)
	}
	var cfgText string
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == "gitless-puller-config" {
			cfgText, _, _ = unstructured.NestedString(o.Object, "data", "puller.yaml")
		}
	}
	c, err := config.Parse([]byte(cfgText), "gitless-system")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sources) != 3 || c.Sources[2].DependsOn[0] != "infra-configs" {
		t.Fatalf("%+v", c)
	}
	a, err := apply.New(e.Config(), apply.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ns := e.Namespace(t, "install")
	st, err := a.ReadParent(ctx, apply.Parent{Kind: apply.ParentConfigMap, Namespace: ns, Name: "gitless-install"})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := a.Apply(ctx, st, objs, apply.SyncOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cs.Count(apply.Created)+cs.Count(apply.Configured)+cs.Count(apply.Unchanged) != len(objs) {
		t.Fatalf("%+v", cs)
	}
}
