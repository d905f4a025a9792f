package apply_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/puller/apply"
)

// v1 and v2 are two versions of one set: v2 changes a, adds c, drops b and the Service.
var (
	v1 = manifests(configMap("a", "1"), configMap("b", "1"), pullertest.Deployment, `apiVersion: v1
kind: Service
metadata: {name: web, namespace: NS}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`)
	v2 = manifests(configMap("a", "2"), configMap("c", "1"), pullertest.Deployment)
)

func TestApplyThenChangeAddRemove(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-app")
	cs := f.mustSync(f.applier, parent, f.objects(v1), apply.SyncOptions{Prune: true})
	want := map[string]apply.Action{"ConfigMap a": apply.Created, "ConfigMap b": apply.Created, "Deployment web": apply.Created, "Service web": apply.Created}
	if got := actions(cs); !maps.Equal(got, want) {
		t.Fatalf("v1: %v, want %v", got, want)
	}

	// The parent is a KEP-3659 ApplySet parent; the members carry its ID.
	p := f.mustGet(pullertest.ConfigMaps, f.NS, "gitless-app")
	id := p.GetLabels()[apply.LabelID]
	if id != parent.ID() || !strings.HasPrefix(id, "applyset-") || !strings.HasSuffix(id, "-v1") {
		t.Fatalf("parent id label %q, want %q", id, parent.ID())
	}
	ann := p.GetAnnotations()
	if ann[apply.AnnotationGroupKinds] != "ConfigMap,Deployment.apps,Service" ||
		ann[apply.AnnotationNamespaces] != f.Target || !strings.HasPrefix(ann[apply.AnnotationTooling], "gitless-puller/") {
		t.Fatalf("parent annotations %v", ann)
	}
	if got := f.mustGet(pullertest.ConfigMaps, f.Target, "a").GetLabels()[apply.LabelPartOf]; got != id {
		t.Fatalf("member label %q, want %q", got, id)
	}

	cs = f.mustSync(f.applier, parent, f.objects(v2), apply.SyncOptions{Prune: true})
	want = map[string]apply.Action{"ConfigMap a": apply.Configured, "ConfigMap b": apply.Pruned, "ConfigMap c": apply.Created,
		"Deployment web": apply.Unchanged, "Service web": apply.Pruned}
	if got := actions(cs); !maps.Equal(got, want) {
		t.Fatalf("v2: %v, want %v", got, want)
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "b"); !apierrors.IsNotFound(err) {
		t.Fatalf("b after prune: %v", err)
	}
	if v, _, _ := unstructured.NestedString(f.mustGet(pullertest.ConfigMaps, f.Target, "a").Object, "data", "k"); v != "2" {
		t.Fatalf("a.data.k = %q", v)
	}
	ann = f.mustGet(pullertest.ConfigMaps, f.NS, "gitless-app").GetAnnotations()
	if ann[apply.AnnotationGroupKinds] != "ConfigMap,Deployment.apps" {
		t.Fatalf("group-kinds after v2: %q", ann[apply.AnnotationGroupKinds])
	}
	if cs.Summary() != "1 created, 1 configured, 1 unchanged, 2 pruned" {
		t.Fatalf("summary %q", cs.Summary())
	}
}

func TestUnchangedSetWritesNothing(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-same")
	f.mustSync(f.applier, parent, f.objects(v1), apply.SyncOptions{Prune: true, Status: map[string]string{"gitless.dev/digest": "sha256:1"}})
	f.count.writes.Store(0)
	cs := f.mustSync(f.applier, parent, f.objects(v1), apply.SyncOptions{Prune: true, Status: map[string]string{"gitless.dev/digest": "sha256:1"}})
	if n := cs.Count(apply.Unchanged); n != 4 {
		t.Fatalf("unchanged %d: %v", n, actions(cs))
	}
	if w := f.count.writes.Load(); w != 0 {
		t.Fatalf("%d writes for an unchanged set", w)
	}
}

func TestCRDAndCustomResourceAndNamespaceInOneSet(t *testing.T) {
	f := newFixture(t)
	newNS := "gl-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))[:20] + "-" + f.Target[len(f.Target)-5:]
	suffix := f.Target[len(f.Target)-5:]
	crdDocs := `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.SUFFIX.example.com}
spec:
  group: SUFFIX.example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, properties: {size: {type: integer}}}
---
apiVersion: v1
kind: Namespace
metadata: {name: NEWNS}
---
apiVersion: SUFFIX.example.com/v1
kind: Widget
metadata: {name: w, namespace: NEWNS}
spec: {size: 3}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: in-new-ns, namespace: NEWNS}
`
	objs := f.objects(strings.NewReplacer("NEWNS", newNS, "SUFFIX", suffix).Replace(crdDocs))
	parent := f.parent("gitless-crd")
	cs := f.mustSync(f.applier, parent, objs, apply.SyncOptions{Prune: true})
	if n := cs.Count(apply.Created); n != 4 {
		t.Fatalf("created %d: %+v", n, cs.Changes)
	}
	w := f.mustGet(schema.GroupVersionResource{Group: suffix + ".example.com", Version: "v1", Resource: "widgets"}, newNS, "w")
	if size, _, _ := unstructured.NestedInt64(w.Object, "spec", "size"); size != 3 {
		t.Fatalf("widget %v", w.Object)
	}
	ann := f.mustGet(pullertest.ConfigMaps, f.NS, "gitless-crd").GetAnnotations()
	if !strings.Contains(ann[apply.AnnotationGroupKinds], "CustomResourceDefinition.apiextensions.k8s.io") ||
		!strings.Contains(ann[apply.AnnotationGroupKinds], "Widget.") || ann[apply.AnnotationNamespaces] != newNS {
		t.Fatalf("parent annotations %v", ann)
	}

	// Dropping everything but the CRD prunes the widget and the ConfigMap, never the
	// Namespace (not allowed by default), which stays tracked.
	cs = f.mustSync(f.applier, parent, objs[:1], apply.SyncOptions{Prune: true})
	got := actions(cs)
	if got["Widget w"] != apply.Pruned || got["ConfigMap in-new-ns"] != apply.Pruned || got["Namespace "+newNS] != apply.Skipped {
		t.Fatalf("after shrinking: %v", got)
	}
	ann = f.mustGet(pullertest.ConfigMaps, f.NS, "gitless-crd").GetAnnotations()
	if !strings.Contains(ann[apply.AnnotationGroupKinds], "Namespace") {
		t.Fatalf("a kept Namespace must stay in the set's scope: %v", ann)
	}
}

func TestInvalidObjectsNothingApplied(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-invalid")
	objs := f.objects(v1 + `
---
apiVersion: example.com/v1
kind: Unknown
metadata: {name: u, namespace: NS}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: no-namespace}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: number-label, namespace: NS, labels: {app: web, version: 2}}
`)
	_, err := f.sync(f.applier, parent, objs, apply.SyncOptions{Prune: true})
	var se *apply.SetError
	if !errors.Is(err, apply.ErrInvalidObject) || !errors.As(err, &se) || len(se.Errors) != 3 {
		t.Fatalf("err = %v", err)
	}
	// A label that is no string is named, not read as no labels (which would have
	// replaced the object's labels with the set's).
	for _, want := range []string{"Unknown.example.com " + f.Target + "/u", "ConfigMap no-namespace", "ConfigMap " + f.Target + "/number-label: invalid object: label version: 2 is not a string"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "a"); !apierrors.IsNotFound(err) {
		t.Fatalf("a was applied: %v", err)
	}
	if f.count.writes.Load() != 0 {
		t.Fatalf("%d writes", f.count.writes.Load())
	}

	// A field the schema does not know fails the strict dry-run, naming the object.
	objs = f.objects(v1 + `
---
apiVersion: v1
kind: ConfigMap
metadata: {name: typo, namespace: NS}
dta: {k: v}
`)
	_, err = f.sync(f.applier, parent, objs, apply.SyncOptions{Prune: true})
	if !errors.Is(err, apply.ErrDryRun) || !strings.Contains(err.Error(), "ConfigMap "+f.Target+"/typo") || !strings.Contains(err.Error(), "dta") {
		t.Fatalf("err = %v", err)
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "a"); !apierrors.IsNotFound(err) {
		t.Fatalf("a was applied: %v", err)
	}
}

func TestEmptySetRefusedUnlessAllowed(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-empty")
	f.mustSync(f.applier, parent, f.objects(v1), apply.SyncOptions{Prune: true})
	if _, err := f.sync(f.applier, parent, nil, apply.SyncOptions{Prune: true}); !errors.Is(err, apply.ErrEmptySet) {
		t.Fatalf("err = %v", err)
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "a"); err != nil {
		t.Fatal(err)
	}
	cs := f.mustSync(f.applier, parent, nil, apply.SyncOptions{Prune: true, AllowEmpty: true})
	if cs.Count(apply.Pruned) != 4 {
		t.Fatalf("%v", actions(cs))
	}
}

// A set that creates a Namespace (or a CRD) and holds an object the dry-run refuses in
// a namespace that exists already: the refusal comes before the Namespace is created,
// so nothing of the set is applied.
func TestDryRunRefusalBeforeTheSetsNamespaceIsCreated(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-early")
	ns := f.Target + "-new"
	objs := f.objects(manifests("apiVersion: v1\nkind: Namespace\nmetadata: {name: "+ns+"}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: in-new, namespace: "+ns+"}\ndata: {k: v}\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, namespace: NS}\ndata: {k: v}\nnotAField: 1\n"))
	_, err := f.sync(f.applier, parent, objs, apply.SyncOptions{Prune: true})
	if !errors.Is(err, apply.ErrDryRun) || !strings.Contains(err.Error(), "ConfigMap "+f.Target+"/bad") {
		t.Fatalf("err = %v, want the dry-run refusal of bad", err)
	}
	if _, err := f.Kube.CoreV1().Namespaces().Get(f.Ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the Namespace of the set was created: %v", err)
	}
}

func TestPruneOffAndOptOut(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-keep")
	f.mustSync(f.applier, parent, f.objects(v1), apply.SyncOptions{Prune: true})
	// b opts out of pruning in the cluster.
	b := f.mustGet(pullertest.ConfigMaps, f.Target, "b")
	b.SetAnnotations(map[string]string{apply.AnnotationPrune: "disabled"})
	if _, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(f.Target).Update(f.Ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	cs := f.mustSync(f.applier, parent, f.objects(v2), apply.SyncOptions{Prune: false})
	if got := actions(cs); got["ConfigMap b"] != apply.Skipped || got["Service web"] != apply.Skipped {
		t.Fatalf("prune off: %v", got)
	}
	cs = f.mustSync(f.applier, parent, f.objects(v2), apply.SyncOptions{Prune: true})
	if got := actions(cs); got["ConfigMap b"] != apply.Skipped || got["Service web"] != apply.Pruned {
		t.Fatalf("prune on: %v", got)
	}
	if _, err := f.Get(pullertest.ConfigMaps, f.Target, "b"); err != nil {
		t.Fatalf("b: %v", err)
	}

	// Flux's key, as a fleet ported from Flux has it in its manifests (its value
	// written as Flux's docs write it), keeps an object too.
	flux := configMap("flux-kept", "1")
	flux = strings.Replace(flux, "metadata: {name: flux-kept, namespace: NS}", "metadata: {name: flux-kept, namespace: NS, annotations: {"+apply.AnnotationFluxPrune+": Disabled}}", 1)
	f.mustSync(f.applier, parent, f.objects(manifests(v2, flux)), apply.SyncOptions{Prune: true})
	cs = f.mustSync(f.applier, parent, f.objects(v2), apply.SyncOptions{Prune: true})
	if got := actions(cs); got["ConfigMap flux-kept"] != apply.Skipped {
		t.Fatalf("Flux's prune key: %v", got)
	}
}

// A member that left the set and changes between the listing and its deletion (its
// status, an autoscaler's write) is still pruned, at its new version; one relabelled,
// marked prune: disabled or reconcile: disabled in that window is left alone, without
// failing the sync.
func TestPruneOfAMemberThatChangedSinceItWasListed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(b *unstructured.Unstructured)
		want   apply.Action
	}{
		{"data changed", func(b *unstructured.Unstructured) { unstructured.SetNestedField(b.Object, "changed", "data", "k") }, apply.Pruned},
		{"relabelled", func(b *unstructured.Unstructured) {
			labels := b.GetLabels()
			delete(labels, apply.LabelPartOf)
			b.SetLabels(labels)
		}, apply.Skipped},
		{"marked", func(b *unstructured.Unstructured) {
			b.SetAnnotations(map[string]string{apply.AnnotationPrune: "disabled"})
		}, apply.Skipped},
		{"reconcile disabled", func(b *unstructured.Unstructured) {
			b.SetAnnotations(map[string]string{apply.AnnotationFluxReconcile: "disabled"})
		}, apply.Skipped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			parent := f.parent("gitless-changed")
			f.mustSync(f.applier, parent, f.objects(manifests(configMap("a", "1"), configMap("b", "1"))), apply.SyncOptions{Prune: true})
			var once sync.Once
			changeB := func(obj map[string]any) {
				if (&unstructured.Unstructured{Object: obj}).GetName() != "b" {
					return
				}
				once.Do(func() {
					b := f.mustGet(pullertest.ConfigMaps, f.Target, "b")
					tc.change(b)
					if _, err := f.Dyn.Resource(pullertest.ConfigMaps).Namespace(f.Target).Update(context.Background(), b, metav1.UpdateOptions{}); err != nil {
						t.Error(err)
					}
				})
			}
			cs := f.mustSync(f.applier, parent, f.objects(configMap("a", "1")), apply.SyncOptions{Prune: true, MemberListed: changeB})
			if got := actions(cs)["ConfigMap b"]; got != tc.want {
				t.Fatalf("b: %s, want %s (%s)", got, tc.want, cs.Summary())
			}
			_, err := f.Get(pullertest.ConfigMaps, f.Target, "b")
			if gone := apierrors.IsNotFound(err); gone != (tc.want == apply.Pruned) {
				t.Fatalf("b deleted %v, want %v (%v)", gone, tc.want == apply.Pruned, err)
			}
		})
	}
}

// A set larger than a page of the member lists (100 objects) is listed whole: every
// member found across the pages, the unchanged ones left alone, the one taken out
// pruned.
func TestSetListedOverSeveralPages(t *testing.T) {
	f := newFixture(t)
	parent := f.parent("gitless-pages")
	set := func(n int, changed string) []*unstructured.Unstructured {
		var docs []string
		for i := range n {
			v := "1"
			if name := fmt.Sprintf("cm-%03d", i); name == changed {
				v = "2"
			}
			docs = append(docs, configMap(fmt.Sprintf("cm-%03d", i), v))
		}
		return f.objects(manifests(docs...))
	}
	if cs := f.mustSync(f.applier, parent, set(250, ""), apply.SyncOptions{Prune: true}); cs.Count(apply.Created) != 250 {
		t.Fatalf("first sync: %s", cs.Summary())
	}
	cs := f.mustSync(f.applier, parent, set(249, "cm-150"), apply.SyncOptions{Prune: true})
	if cs.Summary() != "1 configured, 248 unchanged, 1 pruned" {
		t.Fatalf("second sync: %s", cs.Summary())
	}
	if a := actions(cs); a["ConfigMap cm-249"] != apply.Pruned || a["ConfigMap cm-150"] != apply.Configured {
		t.Fatalf("second sync: %v", a)
	}
}
