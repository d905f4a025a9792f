package apply_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/puller/apply"
)

// Ready's verdicts where a fleet ported from Flux meets kstatus's: a StatefulSet with
// OnDelete, or a partition whose pods above it are updated, is ready; a suspended Job
// is; a custom resource Stalled or Reconciling is not, whatever its Ready says.
func TestReadyAgreesWithKstatus(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		ready     bool
		why       string
	}{
		{"statefulset OnDelete, old revision", `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s, generation: 2}
spec: {replicas: 2, updateStrategy: {type: OnDelete}}
status: {observedGeneration: 2, readyReplicas: 2, currentRevision: a, updateRevision: b}`, true, ""},
		{"statefulset partition 1, the pod above updated", `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s, generation: 2}
spec: {replicas: 2, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 1}}}
status: {observedGeneration: 2, readyReplicas: 2, updatedReplicas: 1, currentRevision: a, updateRevision: b}`, true, ""},
		{"statefulset partition 1, nothing updated", `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s, generation: 2}
spec: {replicas: 2, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 1}}}
status: {observedGeneration: 2, readyReplicas: 2, updatedReplicas: 0, currentRevision: a, updateRevision: b}`, false, "above the partition"},
		{"statefulset rolling out", `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: s, generation: 2}
spec: {replicas: 2}
status: {observedGeneration: 2, readyReplicas: 2, currentRevision: a, updateRevision: b}`, false, "rolling out"},
		{"suspended job", `apiVersion: batch/v1
kind: Job
metadata: {name: j}
spec: {suspend: true}`, true, ""},
		{"stalled resource with Ready True", `apiVersion: example.com/v1
kind: Thing
metadata: {name: x}
status: {conditions: [{type: Ready, status: "True"}, {type: Stalled, status: "True", message: gave up}]}`, false, "Stalled gave up"},
		{"reconciling resource", `apiVersion: example.com/v1
kind: Thing
metadata: {name: x}
status: {conditions: [{type: Reconciling, status: "True"}]}`, false, "Reconciling"},
	} {
		j, err := yaml.YAMLToJSON([]byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil { // numbers as int64, as the API gives them
			t.Fatal(err)
		}
		ok, why := apply.Ready(u)
		if ok != tc.ready || !strings.Contains(why, tc.why) {
			t.Errorf("%s: %v %q, want %v %q", tc.name, ok, why, tc.ready, tc.why)
		}
	}
}
