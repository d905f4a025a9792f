package puller_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
)

// A Secret's value that the apiserver or kustomize quotes in an error never leaves the
// sync: not in the error, the result (-o json), the parent's message annotation, the
// Events, or the logs. The audit's cases: a data value of the wrong type and a
// stringData list (the apiserver's dry-run quotes both), and a secretGenerator literal
// without "=" (kustomize quotes it). Without the redaction every one of them leaks.
func TestSecretValuesNeverLeaveASync(t *testing.T) {
	w := newWorld(t, registry.Options{})
	var logs bytes.Buffer
	w.p = w.newPuller(puller.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)

	if _, err := w.Kube.CoreV1().Secrets(w.NS).Create(w.Ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vars", Namespace: w.NS},
		StringData: map[string]string{"db_password": "5551234567"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	secret := func(field, value string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: NS\n" + field + ":\n  password: " + value + "\n"
	}
	for _, tc := range []struct {
		name, tag string
		files     map[string]string
		value     string
		postBuild *puller.PostBuild
	}{
		{"data of the wrong type", "v2", map[string]string{"s.yaml": secret("data", "8675309123"), "a.yaml": cm("a", "2")}, "8675309123", nil},
		{"stringData that is a list", "v3", map[string]string{"s.yaml": secret("stringData", "[correct-horse-battery]"), "a.yaml": cm("a", "2")}, "correct-horse-battery", nil},
		{"secretGenerator literal without =", "v4", map[string]string{
			"kustomization.yaml": "namespace: NS\nresources: [a.yaml]\nsecretGenerator:\n- name: g\n  literals: [s3cr3t-token-value]\n", "a.yaml": cm("a", "2")}, "s3cr3t-token-value", nil},
		// The value is not in the artifact: postBuild reads it from a Secret of the
		// puller's namespace, and the substituted Secret is what the apiserver refuses.
		{"a substituted variable from a Secret", "v5", map[string]string{"s.yaml": secret("data", "${db_password}"), "a.yaml": cm("a", "2")}, "5551234567",
			&puller.PostBuild{SubstituteFrom: []puller.SubstituteReference{{Kind: "Secret", Name: "vars"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.t = t
			logs.Reset()
			w.pushSigned("app", tc.tag, t2, tc.files)
			s := src
			s.Ref.Tag = tc.tag
			s.PostBuild = tc.postBuild
			res, err := w.sync(s)
			if err == nil {
				t.Fatal("the sync succeeded")
			}
			out, _ := json.Marshal(res)
			places := map[string]string{
				"error":                     err.Error(),
				"result (-o json)":          string(out),
				"status message annotation": w.status("app")[puller.AnnotationMessage],
				"events":                    strings.Join(w.events("app"), "\n"),
				"logs":                      logs.String(),
			}
			for where, text := range places {
				if strings.Contains(text, tc.value) {
					t.Errorf("the secret value is in the %s: %s", where, text)
				}
			}
			if !strings.Contains(err.Error(), "[redacted]") || !strings.Contains(places["status message annotation"], "[redacted]") {
				t.Errorf("the error does not show where the value was: %v", err)
			}
			if w.CMData("a", "k") != "1" {
				t.Fatal("applied")
			}
			t.Logf("%v", err)
		})
	}

	// A refused digest's error is returned again at later polls: it is scrubbed when
	// it is refused, not when it is quoted again, by which time another artifact's
	// values may have replaced the refused one's (a review finding).
	t.Run("a refused digest quoted again after another artifact failed", func(t *testing.T) {
		w.t = t
		const value = "another-s3cret-literal"
		w.pushSigned("app", "b", t2, map[string]string{
			"kustomization.yaml": "namespace: NS\nresources: [a.yaml]\nsecretGenerator:\n- name: g\n  literals: [" + value + "]\n", "a.yaml": cm("a", "2")})
		w.pushSigned("app", "c", t2, map[string]string{"s.yaml": secret("data", "9990001112"), "a.yaml": cm("a", "2")})
		for _, tag := range []string{"b", "c", "b"} {
			s := src
			s.Ref.Tag = tag
			logs.Reset()
			res, err := w.sync(s)
			if err == nil {
				t.Fatalf("tag %s: the sync succeeded", tag)
			}
			out, _ := json.Marshal(res)
			for where, text := range map[string]string{"error": err.Error(), "result": string(out), "status": w.status("app")[puller.AnnotationMessage], "logs": logs.String()} {
				if strings.Contains(text, value) {
					t.Fatalf("tag %s: the secret value is in the %s: %s", tag, where, text)
				}
			}
		}
	})
}

// Removing a source after a restart: the new process never built the source's
// artifact, so it learns the values of the set's Secrets from the cluster as it lists
// them. An admission policy that refuses the Secret's delete and quotes its value (as a
// webhook may; here in the base64 form the object holds) leaves the value out of the error and the result. Without the listing
// hook the value leaks.
func TestSecretValuesNeverLeaveARemoveAfterARestart(t *testing.T) {
	w := newWorld(t, registry.Options{})
	const value = "removal-s3cret-9r7q"
	encoded := base64.StdEncoding.EncodeToString([]byte(value)) // what the policy quotes
	w.pushSigned("app", "v1", t1, map[string]string{
		"s.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: NS\ndata:\n  password: " + encoded + "\n",
		"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	w.mustSync(src)

	policy := "deny-delete-" + w.Target
	installPolicy(t, w, policy, admissionv1.RuleWithOperations{
		Operations: []admissionv1.OperationType{admissionv1.Delete},
		Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}},
	}, admissionv1.Validation{
		Expression:        fmt.Sprintf("oldObject.metadata.namespace != %q", w.Target),
		MessageExpression: `"refusing to delete a Secret holding " + string(oldObject.data["password"])`,
	})
	for deadline := time.Now().Add(20 * time.Second); ; {
		err := w.Kube.CoreV1().Secrets(w.Target).Delete(w.Ctx, "creds", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && strings.Contains(err.Error(), encoded) {
			break // the policy bites, and quotes the value
		}
		if time.Now().After(deadline) {
			t.Fatalf("the admission policy does not take effect: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	restarted := w.newPuller(puller.Options{}) // knows no value of the source's artifact
	res, err := restarted.Remove(w.Ctx, src)
	if err == nil {
		t.Fatal("the Remove succeeded")
	}
	out, _ := json.Marshal(res)
	var events []string
	for _, e := range w.Events("reason=" + puller.ReasonRemoveFailed) {
		events = append(events, e.Message)
	}
	if len(events) == 0 || !strings.Contains(w.status("app")[puller.AnnotationMessage], "removing source app") {
		t.Errorf("the failed removal is not recorded: %v %q", w.status("app"), events)
	}
	for where, text := range map[string]string{"error": err.Error(), "result (-o json)": string(out),
		"parent's status": fmt.Sprint(w.status("app")), "Events": strings.Join(events, "\n")} {
		if strings.Contains(text, value) || strings.Contains(text, encoded) {
			t.Errorf("the secret value is in the %s: %s", where, text)
		}
	}
	if !strings.Contains(err.Error(), "[redacted]") {
		t.Errorf("the error does not show where the value was: %v", err)
	}
	t.Logf("%v", err)
}

// An admission policy in Warn mode that quotes a Secret's value: the warning reaches
// the puller's log, with the value redacted, and not client-go's stderr.
func TestAdmissionWarningsAreLoggedRedacted(t *testing.T) {
	w := newWorld(t, registry.Options{})
	var logs bytes.Buffer
	w.p = w.newPuller(puller.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	const value = "warn-s3cret-value-77"
	policy := "warn-" + w.Target
	fail := admissionv1.Fail
	w.Policy(policy, admissionv1.ValidatingAdmissionPolicySpec{FailurePolicy: &fail,
		MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"secrets"}}}}}},
		MatchConditions: []admissionv1.MatchCondition{{Name: "target", Expression: fmt.Sprintf("object.metadata.namespace == %q", w.Target)}},
		Validations: []admissionv1.Validation{{Expression: "false",
			MessageExpression: `"weak password " + string(object.data["password"])`}}}, admissionv1.Warn)
	src := w.source("app", "app", "v1")
	for i := 1; ; i++ { // the policy takes effect within a few seconds
		tag := fmt.Sprintf("v%d", i)
		w.pushSigned("app", tag, t1.Add(time.Duration(i)*time.Minute), map[string]string{"s.yaml": fmt.Sprintf(
			"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s%d\n  namespace: NS\nstringData:\n  password: %s\n", i, value)})
		src.Ref.Tag = tag
		w.mustSync(src)
		if strings.Contains(logs.String(), "apiserver warning") {
			break
		}
		if i == 40 {
			t.Fatalf("no warning logged:\n%s", logs.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "weak password [redacted]") || strings.Contains(logs.String(), value) {
		t.Fatalf("logs:\n%s", logs.String())
	}
}
