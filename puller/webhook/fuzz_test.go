package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/puller/webhook"
)

// FuzzWebhook: whatever the path, headers and body, the receiver never panics, never
// echoes the token, and triggers a sync only for a request that proves it knows the
// token (a GitHub package event with a valid X-Hub-Signature-256, GitLab's token, or a
// valid X-Signature). Seeds under testdata/fuzz/FuzzWebhook.
func FuzzWebhook(f *testing.F) {
	const token = "s3cret-webhook-token"
	mac := func(body string) string {
		m := hmac.New(sha256.New, []byte(token))
		m.Write([]byte(body))
		return "sha256=" + hex.EncodeToString(m.Sum(nil))
	}
	body := `{"action":"published","registry_package":{"name":"apps"}}`
	f.Add("/hook/apps", "X-Hub-Signature-256", mac(body), "registry_package", body)
	f.Add("/hook/apps", "X-Hub-Signature-256", mac(body), "push", body)
	f.Add("/hook/apps", "X-Gitlab-Token", token, "", `{"object_kind":"push"}`)
	f.Add("/hook/apps", "X-Signature", mac("x"), "", "x")
	f.Add("/hook/apps", "X-Signature", "sha256=00", "", "x")
	f.Add("/hook/../apps", "X-Gitlab-Token", token, "", "")
	f.Fuzz(func(t *testing.T, path, header, value, event, body string) {
		triggered := 0
		h := webhook.NewHandler(webhook.Options{
			Token: func(_ context.Context, s string) ([]byte, error) {
				if s == "apps" {
					return []byte(token), nil
				}
				return nil, webhook.ErrUnknownSource
			},
			Trigger: func(context.Context, string) error { triggered++; return nil },
			MaxBody: 4096,
		})
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(http.MethodPost, "http://puller"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		if header != "" && validHeader(header) && validHeader(value) {
			req.Header.Set(header, value)
		}
		if validHeader(event) {
			req.Header.Set("X-GitHub-Event", event)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if bytes.Contains(rec.Body.Bytes(), []byte(token)) {
			t.Fatalf("the response quotes the token: %q", rec.Body.String())
		}
		if triggered == 0 {
			return
		}
		if triggered > 1 || rec.Code != http.StatusAccepted {
			t.Fatalf("%d syncs, status %d", triggered, rec.Code)
		}
		got := req.Header
		proved := got.Get("X-Gitlab-Token") == token ||
			(got.Get("X-Hub-Signature-256") == "" && got.Get("X-Gitlab-Token") == "" && hmacOK(got.Get("X-Signature"), token, body)) ||
			(hmacOK(got.Get("X-Hub-Signature-256"), token, body) && (event == "registry_package" || event == "package"))
		if !proved {
			t.Fatalf("a sync was triggered by %s %v without proof of the token", path, got)
		}
	})
}

func validHeader(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

func hmacOK(header, token, body string) bool {
	for _, algo := range []string{"sha256=", "sha512="} {
		if !strings.HasPrefix(header, algo) {
			continue
		}
		if algo == "sha512=" {
			return true // the handler checks it; the fuzzer will not find a valid one by chance
		}
		m := hmac.New(sha256.New, []byte(token))
		m.Write([]byte(body))
		return hmac.Equal([]byte(strings.ToLower(header[len(algo):])), []byte(hex.EncodeToString(m.Sum(nil))))
	}
	return false
}
