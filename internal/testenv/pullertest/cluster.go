package pullertest

import (
	"context"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitless-dev/gitless/internal/testenv/kube"
)

// The resources the tests read back most.
var (
	ConfigMaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	Deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

// Cluster is one test's part of a shared control plane: two fresh namespaces, the
// puller's and the one its objects go to, and admin clients without client-side rate
// limits.
type Cluster struct {
	t          testing.TB
	Ctx        context.Context // the test's
	Config     *rest.Config    // admin (system:masters), QPS -1: the test's own copy, free to change
	Dyn        dynamic.Interface
	Kube       kubernetes.Interface
	Kubeconfig string // a kubeconfig file for the same admin user
	NS         string // the puller's namespace: ApplySet parents, events, Secrets
	Target     string // where the synced objects go; NS in manifests stands for it
}

// NewCluster starts env's control plane if no test has yet (skipping t without the
// binaries, see kube.Env.Use) and makes t's two namespaces, "gitless-…" and "apps-…".
func NewCluster(t testing.TB, env *kube.Env) *Cluster {
	t.Helper()
	e := env.Use(t)
	c := &Cluster{t: t, Ctx: t.Context(), Config: e.Config(), Kubeconfig: e.KubeconfigPath()}
	c.NS, c.Target = e.Namespace(t, "gitless"), e.Namespace(t, "apps")
	c.Config.QPS, c.Config.Burst = -1, 0
	c.Dyn = dynamic.NewForConfigOrDie(c.Config)
	c.Kube = kubernetes.NewForConfigOrDie(c.Config)
	return c
}

// InTarget returns files with every "NS" replaced by the target namespace.
func (c *Cluster) InTarget(files map[string]string) map[string]string {
	out := make(map[string]string, len(files))
	for p, s := range files {
		out[p] = strings.ReplaceAll(s, "NS", c.Target)
	}
	return out
}

// Get reads an object; ns "" for a cluster-scoped one.
func (c *Cluster) Get(gvr schema.GroupVersionResource, ns, name string) (*unstructured.Unstructured, error) {
	if ns == "" {
		return c.Dyn.Resource(gvr).Get(c.Ctx, name, metav1.GetOptions{})
	}
	return c.Dyn.Resource(gvr).Namespace(ns).Get(c.Ctx, name, metav1.GetOptions{})
}

// CMData returns data[key] of the ConfigMap name in the target namespace, or "<absent>"
// when the ConfigMap cannot be read.
func (c *Cluster) CMData(name, key string) string {
	u, err := c.Get(ConfigMaps, c.Target, name)
	if err != nil {
		return "<absent>"
	}
	v, _, _ := unstructured.NestedString(u.Object, "data", key)
	return v
}

// CountCMs counts the ConfigMaps of the target namespace whose names start with
// prefix; an error fails the test.
func (c *Cluster) CountCMs(prefix string) int {
	c.t.Helper()
	l, err := c.Kube.CoreV1().ConfigMaps(c.Target).List(c.Ctx, metav1.ListOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	n := 0
	for _, cm := range l.Items {
		if strings.HasPrefix(cm.Name, prefix) {
			n++
		}
	}
	return n
}

// Events lists the events of the puller's namespace that match fieldSelector
// ("reason=Applied", "involvedObject.name=gitless-app"); an error fails the test.
func (c *Cluster) Events(fieldSelector string) []corev1.Event {
	c.t.Helper()
	l, err := c.Kube.CoreV1().Events(c.NS).List(c.Ctx, metav1.ListOptions{FieldSelector: fieldSelector})
	if err != nil {
		c.t.Fatal(err)
	}
	return l.Items
}

// Policy creates the ValidatingAdmissionPolicy name with spec, bound with actions (Deny
// when none are given), and deletes both when the test ends. The apiserver takes it up
// within seconds: callers wait until it acts.
func (c *Cluster) Policy(name string, spec admissionv1.ValidatingAdmissionPolicySpec, actions ...admissionv1.ValidationAction) {
	c.t.Helper()
	if len(actions) == 0 {
		actions = []admissionv1.ValidationAction{admissionv1.Deny}
	}
	api := c.Kube.AdmissionregistrationV1()
	if _, err := api.ValidatingAdmissionPolicies().Create(c.Ctx, &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
	if _, err := api.ValidatingAdmissionPolicyBindings().Create(c.Ctx, &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name, ValidationActions: actions}}, metav1.CreateOptions{}); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() {
		api.ValidatingAdmissionPolicyBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		api.ValidatingAdmissionPolicies().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}
