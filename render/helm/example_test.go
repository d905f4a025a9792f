package helm_test

import (
	"context"
	"fmt"

	"github.com/gitless-dev/gitless/render/helm"
)

// Render a chart directory as `helm template --include-crds --skip-tests` would.
func ExampleEngine_Template() {
	e := helm.New(helm.DefaultOptions())
	c, err := helm.LoadChart("../../examples/helm/charts/infra-controllers")
	if err != nil {
		fmt.Println(err)
		return
	}
	objs, err := e.Template(context.Background(), c, helm.Release{
		Name:        "infra",
		Namespace:   "infra-system",
		Values:      map[string]any{"preflight": map[string]any{"enabled": false}},
		IncludeCRDs: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Info.Name, c.Info.Version)
	for _, o := range objs {
		fmt.Printf("%s (%s)\n", o, o.Origin.File)
	}
	// Output:
	// infra-controllers 0.3.0
	// apiextensions.k8s.io/v1 CustomResourceDefinition widgets.infra.example.com (infra-controllers/crds/widgets.infra.example.com.yaml)
	// policy/v1 PodDisruptionBudget infra-system/infra-infra-controllers (infra-controllers/templates/pdb.yaml)
	// v1 ServiceAccount infra-system/infra-infra-controllers (infra-controllers/templates/serviceaccount.yaml)
	// v1 ConfigMap infra-system/infra-infra-controllers-config (infra-controllers/templates/configmap.yaml)
	// rbac.authorization.k8s.io/v1 ClusterRole infra-infra-controllers (infra-controllers/templates/rbac.yaml)
	// rbac.authorization.k8s.io/v1 ClusterRoleBinding infra-infra-controllers (infra-controllers/templates/rbac.yaml)
	// v1 Service infra-system/infra-infra-controllers-metrics (infra-controllers/templates/service.yaml)
	// apps/v1 Deployment infra-system/infra-infra-controllers (infra-controllers/templates/deployment.yaml)
	// infra.example.com/v1 Widget infra-system/default (infra-controllers/templates/widget.yaml)
}
