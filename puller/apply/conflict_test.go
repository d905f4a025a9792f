package apply_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/puller/apply"
)

// conflictSet is the ConfigMap cfg with this data, and the Deployment web.
func conflictSet(data string) string {
	return manifests("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: NS}\ndata: "+data+"\n", pullertest.Deployment)
}

// conflictV2 also sets .data.theirs, which the puller never applied before.
var (
	conflictV1 = conflictSet(`{mine: "1", shared: "1"}`)
	conflictV2 = conflictSet(`{mine: "1", shared: "1", theirs: "from-git"}`)
)

func TestConflictsForcedOnlyOnOwnFields(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-conflict")
	v1objs := f.objects(conflictV1)
	f.mustSync(f.applier, parent, v1objs, apply.SyncOptions{Prune: true})

	// Someone edits a field the puller applied (kubectl edit: an Update), another
	// manager applies a field the puller never set, and an autoscaler sets replicas
	// (which the manifests leave out).
	cm := f.mustGet(pullertest.ConfigMaps, f.Target, "cfg")
	unstructured.SetNestedField(cm.Object, "edited", "data", "shared")
	if _, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(f.Target).Update(f.Ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	theirs := []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg","namespace":%q},"data":{"theirs":"by-hand"}}`, f.Target))
	if _, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(f.Target).Patch(f.Ctx, "cfg", types.ApplyPatchType, theirs, metav1.PatchOptions{FieldManager: "operator"}); err != nil {
		t.Fatal(err)
	}
	scale := []byte(`{"spec":{"replicas":5}}`)
	if _, err := f.Dyn.Resource(pullertest.Deployments).Namespace(f.Target).Patch(f.Ctx, "web", types.MergePatchType, scale, metav1.PatchOptions{FieldManager: "autoscaler"}); err != nil {
		t.Fatal(err)
	}

	previous := func(context.Context) ([]*unstructured.Unstructured, error) { return v1objs, nil }
	cs := f.mustSync(f.applier, parent, f.objects(conflictV2), apply.SyncOptions{Prune: true, Previous: previous})

	data, _, _ := unstructured.NestedStringMap(f.mustGet(pullertest.ConfigMaps, f.Target, "cfg").Object, "data")
	if data["shared"] != "1" || data["theirs"] != "by-hand" || data["mine"] != "1" {
		t.Fatalf("data after sync: %v", data)
	}
	if r, _, _ := unstructured.NestedInt64(f.mustGet(pullertest.Deployments, f.Target, "web").Object, "spec", "replicas"); r != 5 {
		t.Fatalf("replicas %d: the autoscaler's field must be left alone", r)
	}
	var ch apply.Change
	for _, c := range cs.Changes {
		if c.Object.Name == "cfg" {
			ch = c
		}
	}
	if ch.Action != apply.Configured || !slices.Equal(ch.Forced, []string{".data.shared (kubectl-edit)"}) || !slices.Equal(ch.LeftAlone, []string{".data.theirs (operator)"}) {
		t.Fatalf("change %+v", ch)
	}

	// Without the previous configuration nothing is taken back.
	cm = f.mustGet(pullertest.ConfigMaps, f.Target, "cfg")
	unstructured.SetNestedField(cm.Object, "edited-again", "data", "shared")
	if _, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(f.Target).Update(f.Ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatal(err)
	}
	f.mustSync(f.applier, parent, f.objects(conflictV2), apply.SyncOptions{Prune: true})
	data, _, _ = unstructured.NestedStringMap(f.mustGet(pullertest.ConfigMaps, f.Target, "cfg").Object, "data")
	if data["shared"] != "edited-again" {
		t.Fatalf("data %v", data)
	}
}

func TestObjectOfAnotherApplySetIsUntouched(t *testing.T) {
	f := newFixture(t)
	other := f.parent("gitless-other")
	f.mustSync(f.applier, other, f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: shared, namespace: NS}
data: {owner: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other-only, namespace: NS}
data: {owner: other}
`), apply.SyncOptions{Prune: true})

	// Another source declares the same object: refused, nothing applied.
	mine := f.parent("gitless-mine")
	_, err := f.sync(f.applier, mine, f.objects(v1+`
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shared, namespace: NS}
data: {owner: mine}
`), apply.SyncOptions{Prune: true})
	if !errors.Is(err, apply.ErrForeignObject) || !strings.Contains(err.Error(), "ConfigMap "+f.Target+"/shared") || !strings.Contains(err.Error(), other.ID()) {
		t.Fatalf("err = %v", err)
	}
	u := f.mustGet(pullertest.ConfigMaps, f.Target, "shared")
	if v, _, _ := unstructured.NestedString(u.Object, "data", "owner"); v != "other" || u.GetLabels()[apply.LabelPartOf] != other.ID() {
		t.Fatalf("shared changed: %v", u.Object)
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "a"); err == nil {
		t.Fatal("a was applied")
	}

	// A set in the same namespace, with the same kinds, never prunes the other's members.
	f.mustSync(f.applier, mine, f.objects(v1), apply.SyncOptions{Prune: true})
	f.mustSync(f.applier, mine, nil, apply.SyncOptions{Prune: true, AllowEmpty: true})
	for _, name := range []string{"shared", "other-only"} {
		if _, err := f.Get(pullertest.ConfigMaps, f.Target, name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}

	// kubectl's own sets (another field manager owns the label) are refused the same way.
	kubectlOwned := []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"k","namespace":%q,"labels":{%q:"applyset-xyz-v1"}}}`, f.Target, apply.LabelPartOf))
	if _, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(f.Target).Patch(f.Ctx, "k", types.ApplyPatchType, kubectlOwned, metav1.PatchOptions{FieldManager: "kubectl"}); err != nil {
		t.Fatal(err)
	}
	_, err = f.sync(f.applier, mine, f.objects(`
apiVersion: v1
kind: ConfigMap
metadata: {name: k, namespace: NS}
data: {x: z}
`), apply.SyncOptions{Prune: true})
	if !errors.Is(err, apply.ErrForeignObject) {
		t.Fatalf("err = %v", err)
	}
}

func TestParentOfAnotherToolIsRefused(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("kubectl-set")
	cm := []byte(fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"kubectl-set","namespace":%q,"labels":{%q:%q},"annotations":{%q:"kubectl/v1.37.2"}}}`,
		f.NS, apply.LabelID, parent.ID(), apply.AnnotationTooling))
	if _, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(f.NS).Patch(f.Ctx, "kubectl-set", types.ApplyPatchType, cm, metav1.PatchOptions{FieldManager: "kubectl-applyset"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.applier.ReadParent(f.Ctx, parent); !errors.Is(err, apply.ErrParentConflict) || !strings.Contains(err.Error(), "kubectl/v1.37.2") {
		t.Fatalf("err = %v", err)
	}
	plain := f.parent("plain")
	if _, err := f.Kube.CoreV1().ConfigMaps(f.NS).Create(f.Ctx, mustConfigMap("plain"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.applier.ReadParent(f.Ctx, plain); !errors.Is(err, apply.ErrParentConflict) {
		t.Fatalf("err = %v", err)
	}
}
