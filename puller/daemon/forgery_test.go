package daemon_test

import (
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
	"github.com/gitless-dev/gitless/puller/daemon"
)

// A ConfigMap the puller keeps for itself (marked gitless.dev/prune: disabled, as the
// install marks its configuration) made to look like a parent with a removal record, by
// someone with only patch rights on ConfigMaps, is not removed at start.
func TestAForgedRemovalRecordDoesNotDeleteWhatThePullerKeeps(t *testing.T) {
	f := newFixture(t)
	f.push("a", "v1", map[string]string{"a.yaml": cm("a", "1")})
	f.writeConfig(f.ConfigYAML("pruneRemovedSources: true\n", f.SourceYAML("a", "a", "v1", "")))
	cms := f.Kube.CoreV1().ConfigMaps(f.NS)
	if _, err := cms.Create(f.Ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "gitless-puller-config",
		Annotations: map[string]string{apply.AnnotationPrune: "disabled"}}, Data: map[string]string{"puller.yaml": "..."}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	r := f.start(daemon.Options{})
	waitUntil(t, 30*time.Second, "a applied", func() bool { return f.CMData("a", "k") == "1" })
	r.cancel()
	err := <-r.done
	r.done <- err
	id := apply.Parent{Kind: apply.ParentConfigMap, Namespace: f.NS, Name: "gitless-puller-config"}.ID()
	rec, _ := json.Marshal(map[string]any{"owner": "gitless-puller", "configTime": "2000-01-01T00:00:00Z"})
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{
		"labels":      map[string]string{apply.LabelID: id},
		"annotations": map[string]string{apply.AnnotationTooling: apply.ToolName + "/v0", puller.AnnotationRemoval: string(rec)}}})
	if _, err := cms.Patch(f.Ctx, "gitless-puller-config", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	f.start(daemon.Options{})
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if _, err := cms.Get(f.Ctx, "gitless-puller-config", metav1.GetOptions{}); apierrors.IsNotFound(err) {
			t.Fatal("a merge patch on a ConfigMap made the puller delete gitless-puller-config")
		}
	}
}

// A removal record changed by someone with patch rights on the parent (another identity
// to remove as, Namespaces and CRDs allowed) no longer carries the installation's
// signature: the source taken out while no puller ran is left, and said so. Unchanged,
// the same record removes it.
func TestAChangedRemovalRecordIsNotActedOn(t *testing.T) {
	f, r := startAB(t, "pruneRemovedSources: true\n")
	r.cancel()
	err := <-r.done
	r.done <- err
	cms := f.Kube.CoreV1().ConfigMaps(f.NS)
	parent, err := cms.Get(f.Ctx, "gitless-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(parent.Annotations[puller.AnnotationRemoval]), &rec); err != nil || rec["mac"] == nil {
		t.Fatalf("a's record is not signed: %v %v", rec, err)
	}
	rec["pruneNamespacesAndCRDs"] = true
	forged, _ := json.Marshal(rec)
	patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{puller.AnnotationRemoval: string(forged)}}})
	if _, err := cms.Patch(f.Ctx, "gitless-a", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	// Both taken out while no puller ran, in a newer file.
	time.Sleep(10 * time.Millisecond)
	f.writeConfig(f.ConfigYAML("pruneRemovedSources: true\n", f.SourceYAML("c", "a", "v1", "  targetNamespace: "+f.NS+"\n")))
	f.start(daemon.Options{})
	waitUntil(t, 30*time.Second, "b removed", func() bool { return f.CMData("b", "k") == "<absent>" })
	time.Sleep(2 * time.Second)
	if f.CMData("a", "k") != "1" {
		t.Fatal("a source whose removal record was changed was removed")
	}
}
