package apply_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/puller/apply"
)

// Flux's apply policies, as a fleet ported from Flux has them in its manifests: an
// object with ssa: IfNotPresent is created and then left as the cluster has it; one
// with ssa: Ignore is neither applied nor pruned; one marked reconcile: disabled in the
// cluster (an operator pausing it) is left alone, by the apply and by the prune.
func TestFluxApplyPolicies(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-flux-policies")
	with := func(name, value, annotation string) string {
		return strings.Replace(configMap(name, value), "metadata: {name: "+name+", namespace: NS}",
			"metadata: {name: "+name+", namespace: NS, annotations: {"+annotation+"}}", 1)
	}
	v1 := manifests(with("once", "1", apply.AnnotationFluxSSA+": IfNotPresent"), configMap("paused", "1"), configMap("plain", "1"))
	cs := f.mustSync(f.applier, parent, f.objects(v1), apply.SyncOptions{Prune: true})
	if got := actions(cs); got["ConfigMap once"] != apply.Created {
		t.Fatalf("v1: %v", got)
	}
	// Operators change what they own: once's value; paused is paused in the cluster.
	for name, patch := range map[string]string{
		"once":   `{"data":{"k":"operator"}}`,
		"paused": `{"metadata":{"annotations":{"` + apply.AnnotationFluxReconcile + `":"disabled"}},"data":{"k":"operator"}}`,
	} {
		if _, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(f.Target).Patch(f.Ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	v2 := manifests(with("once", "2", apply.AnnotationFluxSSA+": IfNotPresent"), configMap("paused", "2"), configMap("plain", "2"),
		with("ignored", "1", apply.AnnotationFluxSSA+": Ignore"))
	cs = f.mustSync(f.applier, parent, f.objects(v2), apply.SyncOptions{Prune: true})
	want := map[string]apply.Action{"ConfigMap once": apply.Skipped, "ConfigMap paused": apply.Skipped, "ConfigMap plain": apply.Configured, "ConfigMap ignored": apply.Skipped}
	if got := actions(cs); !maps.Equal(got, want) {
		t.Fatalf("v2: %v, want %v", got, want)
	}
	if f.CMData("once", "k") != "operator" || f.CMData("paused", "k") != "operator" || f.CMData("plain", "k") != "2" {
		t.Fatalf("once %s, paused %s, plain %s", f.CMData("once", "k"), f.CMData("paused", "k"), f.CMData("plain", "k"))
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "ignored"); !apierrors.IsNotFound(err) {
		t.Fatalf("an ignored object was applied: %v", err)
	}
	// Left out of the set, the paused one is not pruned; plain is.
	cs = f.mustSync(f.applier, parent, f.objects(with("once", "2", apply.AnnotationFluxSSA+": IfNotPresent")), apply.SyncOptions{Prune: true})
	if got := actions(cs); got["ConfigMap paused"] != apply.Skipped || got["ConfigMap plain"] != apply.Pruned {
		t.Fatalf("v3: %v", got)
	}
	// An unknown policy is refused, named.
	_, err := f.sync(f.applier, parent, f.objects(with("odd", "1", apply.AnnotationFluxSSA+": Sometimes")), apply.SyncOptions{Prune: true})
	if !errors.Is(err, apply.ErrInvalidObject) || !strings.Contains(err.Error(), "Sometimes") {
		t.Fatalf("err = %v", err)
	}
}

// The handover docs/flux.md gives for an object moving from one source to another: the
// new set refuses it while the old one holds it; annotated prune: disabled, taken out
// of the old set and unlabelled, it is adopted by the new one, never deleted.
func TestHandoverBetweenSets(t *testing.T) {
	f := newFixture(t)
	from, to := f.parent("gitless-from"), f.parent("gitless-to")
	f.mustSync(f.applier, from, f.objects(manifests(configMap("moving", "1"), configMap("stays", "1"))), apply.SyncOptions{Prune: true})
	uid := f.mustGet(pullertest.ConfigMaps, f.Target, "moving").GetUID()
	if _, err := f.sync(f.applier, to, f.objects(configMap("moving", "1")), apply.SyncOptions{Prune: true}); !errors.Is(err, apply.ErrForeignObject) {
		t.Fatalf("taken while the other set holds it: %v", err)
	}
	patch := `{"metadata":{"annotations":{"` + apply.AnnotationPrune + `":"disabled"}}}`
	if _, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(f.Target).Patch(f.Ctx, "moving", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := actions(f.mustSync(f.applier, from, f.objects(configMap("stays", "1")), apply.SyncOptions{Prune: true})); got["ConfigMap moving"] != apply.Skipped {
		t.Fatalf("the old set: %v", got)
	}
	unlabel := `{"metadata":{"labels":{"` + apply.LabelPartOf + `":null}}}`
	if _, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(f.Target).Patch(f.Ctx, "moving", types.MergePatchType, []byte(unlabel), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := actions(f.mustSync(f.applier, to, f.objects(configMap("moving", "2")), apply.SyncOptions{Prune: true})); got["ConfigMap moving"] != apply.Configured {
		t.Fatalf("the new set: %v", got)
	}
	moved := f.mustGet(pullertest.ConfigMaps, f.Target, "moving")
	if moved.GetUID() != uid || moved.GetLabels()[apply.LabelPartOf] != to.ID() || f.CMData("moving", "k") != "2" {
		t.Fatalf("uid %s (was %s), labels %v", moved.GetUID(), uid, moved.GetLabels())
	}
	// The old set lets it go for good.
	if got := actions(f.mustSync(f.applier, from, f.objects(configMap("stays", "1")), apply.SyncOptions{Prune: true})); got["ConfigMap moving"] != "" {
		t.Fatalf("the old set still counts it: %v", got)
	}
}
