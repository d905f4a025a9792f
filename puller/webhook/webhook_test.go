package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gitless-dev/gitless/puller/webhook"
)

func sign(token, body string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestWebhook(t *testing.T) {
	var mu sync.Mutex
	var triggered []string
	h := webhook.NewHandler(webhook.Options{
		Token: func(_ context.Context, s string) ([]byte, error) {
			switch s {
			case "apps":
				return []byte("s3cret"), nil
			case "notoken":
				return nil, webhook.ErrNoToken
			}
			return nil, webhook.ErrUnknownSource
		},
		Trigger: func(_ context.Context, s string) error {
			mu.Lock()
			defer mu.Unlock()
			triggered = append(triggered, s)
			return nil
		},
		MaxBody: 1024,
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := `{"action":"published","registry_package":{"name":"apps"}}`
	unauthorized := ""
	for _, tc := range []struct {
		name, method, path, body string
		headers                  map[string]string
		code                     int
		trigger                  bool
	}{
		{"github", "POST", "/hook/apps", body, map[string]string{"X-Hub-Signature-256": sign("s3cret", body), "X-GitHub-Event": "registry_package"}, 202, true},
		{"github package", "POST", "/hook/apps", body, map[string]string{"X-Hub-Signature-256": sign("s3cret", body), "X-GitHub-Event": "package"}, 202, true},
		{"github ping", "POST", "/hook/apps", body, map[string]string{"X-Hub-Signature-256": sign("s3cret", body), "X-GitHub-Event": "ping"}, 200, false},
		{"github other event", "POST", "/hook/apps", body, map[string]string{"X-Hub-Signature-256": sign("s3cret", body), "X-GitHub-Event": "push"}, 202, false},
		{"github bad signature", "POST", "/hook/apps", body, map[string]string{"X-Hub-Signature-256": sign("wrong", body), "X-GitHub-Event": "registry_package"}, 401, false},
		{"github body changed", "POST", "/hook/apps", body + " ", map[string]string{"X-Hub-Signature-256": sign("s3cret", body), "X-GitHub-Event": "registry_package"}, 401, false},
		{"gitlab", "POST", "/hook/apps", "{}", map[string]string{"X-Gitlab-Token": "s3cret", "X-Gitlab-Event": "Pipeline Hook"}, 202, true},
		{"gitlab bad token", "POST", "/hook/apps", "{}", map[string]string{"X-Gitlab-Token": "s3cre"}, 401, false},
		{"generic", "POST", "/hook/apps", "x", map[string]string{"X-Signature": sign("s3cret", "x")}, 202, true},
		{"generic bad", "POST", "/hook/apps", "x", map[string]string{"X-Signature": "sha256=00"}, 401, false},
		{"generic unknown algorithm", "POST", "/hook/apps", "x", map[string]string{"X-Signature": "md5=00"}, 401, false},
		{"no signature", "POST", "/hook/apps", body, nil, 401, false},
		{"unknown source", "POST", "/hook/nope", body, map[string]string{"X-Gitlab-Token": "s3cret"}, 401, false},
		{"no token configured", "POST", "/hook/notoken", body, map[string]string{"X-Gitlab-Token": ""}, 401, false},
		{"oversized body", "POST", "/hook/apps", strings.Repeat("x", 2000), map[string]string{"X-Signature": sign("s3cret", strings.Repeat("x", 2000))}, 413, false},
		// the cap answers the same for a source that does not exist
		{"oversized body, unknown source", "POST", "/hook/nope", strings.Repeat("x", 2000), map[string]string{"X-Signature": sign("s3cret", strings.Repeat("x", 2000))}, 413, false},
		{"GET", "GET", "/hook/apps", "", nil, 405, false},
		{"bad path", "POST", "/hook/../etc", "", nil, 404, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			triggered = nil
			mu.Unlock()
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if resp.StatusCode != tc.code || (len(triggered) == 1) != tc.trigger {
				t.Fatalf("status %d (want %d), triggered %v (want %v)", resp.StatusCode, tc.code, triggered, tc.trigger)
			}
			// Every refusal reads the same: whether a source exists, or has a token,
			// is not for a caller without the token to learn.
			if tc.code == 401 {
				if unauthorized == "" {
					unauthorized = string(answer)
				} else if string(answer) != unauthorized {
					t.Fatalf("401 answered %q, another %q", answer, unauthorized)
				}
			}
		})
	}
}
