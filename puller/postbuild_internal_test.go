package puller

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Each string is substituted on its own: values that YAML would read as syntax stay
// the strings they are; plain YAML 1.1 numbers, booleans and null take their type, as
// in Flux's text substitution (${replicas}, and 01234 is octal there too); a value made
// a quoted string is that string (Flux's ${quote}${id}${quote}), while quotes the
// manifest wrote around a variable are kept as text; keys and list items are substituted, and an error names
// the field and the variable, never a value.
func TestSubstituteKeepsValuesAsTheyAre(t *testing.T) {
	vars := map[string]string{
		"star": "*Zq9-secret", "bang": "!hunter2secret", "hash": "hunter2 #secret", "amp": "&anchor x",
		"n": "3", "yes": "true", "f": "1.5", "word": "prod", "flow": "{a: b}", "nul": "null", "zip": "01234", "on": "on", "neg": "-7", "exp": "1e3", "win": `C:\new`, "quote": `"`, "squote": "'", "id": "123",
	}
	in := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "app-${word}", "labels": map[string]any{"env-${word}": "x"}},
		"data": map[string]any{"star": "${star}", "bang": "${bang}", "hash": "${hash}", "amp": "${amp}", "flow": "${flow}",
			"mixed": "pre-${n}", "plain": "no variable", "escaped": "$${word}"},
		"spec": map[string]any{"replicas": "${n}", "on": "${yes}", "ratio": "${f}", "none": "${nul}", "zip": "${zip}", "onword": "${on}", "neg": "${neg}", "exp": "${exp}",
			"quoted": "${quote}${id}${quote}", "squoted": "${squote}${yes}${squote}", "half": "${quote}${id}",
			"literal": "'${word}'", "path": `"${win}"`,
			"list": []any{"${word}", "x", int64(1)}},
	}}
	out, err := Substitute([]*unstructured.Unstructured{in}, vars)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "app-prod", "labels": map[string]any{"env-prod": "x"}},
		"data": map[string]any{"star": "*Zq9-secret", "bang": "!hunter2secret", "hash": "hunter2 #secret", "amp": "&anchor x", "flow": "{a: b}",
			"mixed": "pre-3", "plain": "no variable", "escaped": "${word}"},
		"spec": map[string]any{"replicas": int64(3), "on": true, "ratio": 1.5, "none": nil, "zip": int64(668), "onword": true, "neg": int64(-7), "exp": int64(1000),
			"quoted": "123", "squoted": "true", "half": `"123`,
			"literal": "'prod'", "path": `"C:\new"`,
			"list": []any{"prod", "x", int64(1)}},
	}
	if !reflect.DeepEqual(out[0].Object, want) {
		t.Fatalf("got  %#v\nwant %#v", out[0].Object, want)
	}
	if in.Object["data"].(map[string]any)["star"] != "${star}" {
		t.Fatal("the input object was changed")
	}

	_, err = Substitute([]*unstructured.Unstructured{{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "c", "namespace": "ns"},
		"data":     map[string]any{"k": []any{"ok", "${star} and ${missing}"}}}}}, vars)
	if !errors.Is(err, ErrSubstitution) || !strings.Contains(err.Error(), "ConfigMap ns/c: field data.k[1]: ") ||
		!strings.Contains(err.Error(), `"missing"`) || strings.Contains(err.Error(), "Zq9") {
		t.Fatalf("err = %v", err)
	}
	_, err = Substitute([]*unstructured.Unstructured{{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "c"}, "data": map[string]any{"prod": "1", "${word}": "2"}}}}, vars)
	if !errors.Is(err, ErrSubstitution) || !strings.Contains(err.Error(), "keys are the same") {
		t.Fatalf("err = %v", err)
	}
}
