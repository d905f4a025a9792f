package apply

import (
	"encoding/json"
	"testing"
)

func TestResolveFieldPaths(t *testing.T) {
	const doc = `{
	  "metadata": {"labels": {"app.kubernetes.io/name": "web", "app": "x"}},
	  "spec": {
	    "replicas": 2,
	    "finalizers": ["a", "b"],
	    "template": {"spec": {"containers": [
	      {"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 81, "protocol": "UDP"}]},
	      {"name": "side,car", "image": "busybox"}
	    ]}}
	  }
	}`
	for _, tc := range []struct {
		path  string
		found bool
		after string // the document after removePath, when found
	}{
		{".spec.replicas", true, ""},
		{".metadata.labels.app.kubernetes.io/name", true, ""},
		{".metadata.labels.app", true, ""},
		{".metadata.labels.app.kubernetes.io/other", false, ""},
		{`.spec.template.spec.containers[name="app"].image`, true, ""},
		{`.spec.template.spec.containers[name="side,car"]`, true, ""},
		{`.spec.template.spec.containers[name="app"].ports[containerPort=81,protocol="UDP"]`, true, ""},
		{`.spec.template.spec.containers[name="app"].ports[containerPort=81,protocol="TCP"]`, false, ""},
		{`.spec.finalizers[="b"]`, true, ""},
		{`.spec.finalizers[1]`, true, ""},
		{`.spec.finalizers[2]`, false, ""},
		{`.spec.nope`, false, ""},
		{`.spec.replicas.deeper`, false, ""},
		{`.spec.template.spec.containers[name="app"`, false, ""},
		{"", false, ""},
	} {
		var obj map[string]any
		if err := json.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		if got := hasPath(obj, tc.path); got != tc.found {
			t.Errorf("hasPath(%q) = %v", tc.path, got)
			continue
		}
		if !tc.found {
			continue
		}
		if !removePath(obj, tc.path) {
			t.Errorf("removePath(%q) failed", tc.path)
		}
		if hasPath(obj, tc.path) {
			t.Errorf("%q still there after removePath", tc.path)
		}
	}
}

func TestRemovePathKeepsTheRest(t *testing.T) {
	var obj map[string]any
	json.Unmarshal([]byte(`{"spec":{"containers":[{"name":"a","image":"x"},{"name":"b","image":"y"}]},"data":{"k":"1","l":"2"}}`), &obj)
	removePath(obj, `.spec.containers[name="a"]`)
	removePath(obj, `.data.k`)
	b, _ := json.Marshal(obj)
	if string(b) != `{"data":{"l":"2"},"spec":{"containers":[{"image":"y","name":"b"}]}}` {
		t.Fatalf("%s", b)
	}
}

func TestParentID(t *testing.T) {
	// The KEP's algorithm; TestApplySetIDIsKubectls checks it against kubectl itself.
	p := Parent{Kind: ParentSecret, Namespace: "default", Name: "my-set"}
	if got, want := p.ID(), "applyset-"; len(got) != len("applyset-")+43+len("-v1") || got[:len(want)] != want {
		t.Fatalf("ID %q", got)
	}
}
