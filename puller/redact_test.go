package puller_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

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

	secret := func(field, value string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: NS\n" + field + ":\n  password: " + value + "\n"
	}
	for _, tc := range []struct {
		name, tag string
		files     map[string]string
		value     string
	}{
		{"data of the wrong type", "v2", map[string]string{"s.yaml": secret("data", "8675309123"), "a.yaml": cm("a", "2")}, "8675309123"},
		{"stringData that is a list", "v3", map[string]string{"s.yaml": secret("stringData", "[correct-horse-battery]"), "a.yaml": cm("a", "2")}, "correct-horse-battery"},
		{"secretGenerator literal without =", "v4", map[string]string{
			"kustomization.yaml": "namespace: NS\nresources: [a.yaml]\nsecretGenerator:\n- name: g\n  literals: [s3cr3t-token-value]\n", "a.yaml": cm("a", "2")}, "s3cr3t-token-value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.t = t
			logs.Reset()
			w.pushSigned("app", tc.tag, t2, tc.files)
			s := src
			s.Ref.Tag = tc.tag
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
			if w.cmData("a", "k") != "1" {
				t.Fatal("applied")
			}
			t.Logf("%v", err)
		})
	}
}
