package apply_test

import (
	"strings"
	"testing"
	"time"

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
status: {conditions: [{type: Ready, status: "True"}, {type: Stalled, status: "True", message: gave up}]}`, false, "Stalled: gave up"},
		{"reconciling resource", `apiVersion: example.com/v1
kind: Thing
metadata: {name: x}
status: {conditions: [{type: Reconciling, status: "True"}]}`, false, "Reconciling"},
		{"pod succeeded", `apiVersion: v1
kind: Pod
metadata: {name: p}
status: {phase: Succeeded, conditions: [{type: Ready, status: "False", reason: PodCompleted}]}`, true, ""},
		{"pod running, not ready", `apiVersion: v1
kind: Pod
metadata: {name: p}
status: {phase: Running, conditions: [{type: Ready, status: "False"}]}`, false, "not ready"},
		{"deployment being deleted", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, generation: 1, deletionTimestamp: "2026-12-06T00:00:00Z", finalizers: [x]}
spec: {replicas: 1}
status: {observedGeneration: 1, updatedReplicas: 1, availableReplicas: 1}`, false, "being deleted"},
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

// Failed's verdicts, kstatus's Failed status, on which Flux's wait stops at once: each
// object here is not ready and waiting longer would not change that. A failure the
// controller reported of an older generation is not one of the generation applied.
func TestFailedAsKstatus(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		failed    bool
		why       string
	}{
		{"deployment past its progress deadline", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, generation: 2}
spec: {replicas: 1}
status:
  observedGeneration: 2
  conditions: [{type: Progressing, status: "False", reason: ProgressDeadlineExceeded, message: ReplicaSet "d-1" has timed out progressing.}]`, true, `Progressing ProgressDeadlineExceeded: ReplicaSet "d-1" has timed out progressing.`},
		{"the deadline of an older generation", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, generation: 3}
spec: {replicas: 1}
status:
  observedGeneration: 2
  conditions: [{type: Progressing, status: "False", reason: ProgressDeadlineExceeded}]`, false, "behind"},
		{"deployment rolling out", `apiVersion: apps/v1
kind: Deployment
metadata: {name: d, generation: 2}
spec: {replicas: 1}
status:
  observedGeneration: 2
  conditions: [{type: Progressing, status: "True", reason: ReplicaSetUpdated}]`, false, "0 of 1 replicas updated"},
		{"failed job", `apiVersion: batch/v1
kind: Job
metadata: {name: j}
status: {conditions: [{type: Failed, status: "True", reason: BackoffLimitExceeded, message: Job has reached the specified backoff limit}]}`, true, "Failed BackoffLimitExceeded: Job has reached the specified backoff limit"},
		{"pod crash-looping", `apiVersion: v1
kind: Pod
metadata: {name: p}
status:
  phase: Running
  conditions: [{type: Ready, status: "False"}]
  containerStatuses:
  - {name: side, state: {running: {}}}
  - {name: main, state: {waiting: {reason: CrashLoopBackOff}}}`, true, "CrashLoopBackOff: main"},
		{"pod failed", `apiVersion: v1
kind: Pod
metadata: {name: p}
status: {phase: Failed, message: OOMKilled}`, true, "phase is Failed OOMKilled"},
		{"pod unschedulable for long", `apiVersion: v1
kind: Pod
metadata: {name: p, creationTimestamp: "2020-01-01T00:00:00Z"}
status:
  phase: Pending
  conditions: [{type: PodScheduled, status: "False", reason: Unschedulable, message: 0/3 nodes are available}]`, true, "PodScheduled Unschedulable: 0/3 nodes are available"},
		{"pod unschedulable just now", `apiVersion: v1
kind: Pod
metadata: {name: p, creationTimestamp: "` + time.Now().UTC().Format(time.RFC3339) + `"}
status:
  phase: Pending
  conditions: [{type: PodScheduled, status: "False", reason: Unschedulable}]`, false, "phase is Pending"},
		{"crd names refused", `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
status: {conditions: [{type: NamesAccepted, status: "False", reason: ListKindConflict}, {type: Established, status: "False", reason: NotAccepted}]}`, true, "NamesAccepted ListKindConflict"},
		{"crd installing", `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.example.com}
status: {conditions: [{type: NamesAccepted, status: "True"}, {type: Established, status: "False", reason: Installing}]}`, false, "Established is False"},
		{"stalled resource", `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: x}
status: {conditions: [{type: Ready, status: "False"}, {type: Stalled, status: "True", reason: InstallFailed, message: gave up}]}`, true, "Stalled InstallFailed: gave up"},
		{"reconciling resource", `apiVersion: example.com/v1
kind: Thing
metadata: {name: x}
status: {conditions: [{type: Reconciling, status: "True", reason: Progressing}]}`, false, "Reconciling Progressing"},
	} {
		j, err := yaml.YAMLToJSON([]byte(tc.doc))
		if err != nil {
			t.Fatal(err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatal(err)
		}
		failed, why := apply.Failed(u)
		if failed != tc.failed || !strings.Contains(why, tc.why) {
			t.Errorf("%s: %v %q, want %v %q", tc.name, failed, why, tc.failed, tc.why)
		}
		if ready, _ := apply.Ready(u); ready {
			t.Errorf("%s: ready", tc.name)
		}
	}
}
