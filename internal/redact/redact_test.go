package redact_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/redact"
)

func TestScrubEveryForm(t *testing.T) {
	var s redact.Set
	s.AddObject(map[string]any{"apiVersion": "v1", "kind": "Secret",
		"data":       map[string]any{"a": "aHVudGVyMi1kZWNvZGVk", "n": int64(8675309), "l": []any{"in-a-list", 1.5}},
		"stringData": map[string]any{"pem": "-----BEGIN KEY-----\nline-one-of-key\n-----END KEY-----\n", "q": `with "quotes"`},
	})
	s.AddObject(map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "data": map[string]any{"x": "not-a-secret"}})
	for _, leak := range []string{
		"aHVudGVyMi1kZWNvZGVk", // data as written
		"hunter2-decoded",      // and decoded
		"8675309", "in-a-list", // values of the wrong type, as Go prints them
		"line-one-of-key",      // one line of a multi-line value
		`with \"quotes\"`,      // quoted, as %q and JSON quote it
		"d2l0aCAicXVvdGVzIg==", // stringData base64-encoded
	} {
		got := s.Scrub("error: " + leak + " end")
		if strings.Contains(got, leak) || !strings.Contains(got, redact.Mask) {
			t.Errorf("%q not scrubbed: %q", leak, got)
		}
	}
	if got := s.Scrub("not-a-secret 1.5 abc"); got != "not-a-secret 1.5 abc" {
		t.Errorf("scrubbed what is not a secret (or shorter than %d bytes): %q", redact.MinLength, got)
	}
}

func TestErrorKeepsMatching(t *testing.T) {
	var s redact.Set
	s.Add("topsecret")
	sentinel := errors.New("sentinel")
	err := s.Error(fmt.Errorf("wrapped topsecret: %w", sentinel))
	if !errors.Is(err, sentinel) || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("%v", err)
	}
	if errors.Unwrap(err) != nil {
		t.Fatal("a scrubbed error must not unwrap to the text it hides")
	}
	plain := errors.New("nothing here")
	if s.Error(plain) != plain {
		t.Fatal("an error without a value must come back as it is")
	}
}

func TestAddTree(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"app/kustomization.yaml": "secretGenerator:\n- name: g\n  literals: [USER=literal-value, no-equals-literal]\n  envs: [a.env]\n  files: [key=key.pem, plain.txt]\n",
		"app/a.env":              "# comment\nTOKEN=\"env-quoted-value\"\nbare-env-line\n",
		"app/key.pem":            "file-content-secret\n",
		"app/plain.txt":          "plain-file-secret",
		"s.yaml":                 "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  stringData: {k: list-item-secret}\n---\napiVersion: v1\nkind: Secret\ndata:\n  n: 123456789\n  bad: [ {x: nested-secret} ]\n",
		"broken.yaml":            "kind: Secret\n  : [\n",
	}
	for p, c := range files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644)
	}
	var s redact.Set
	if err := s.AddTree(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"literal-value", "no-equals-literal", "env-quoted-value", "bare-env-line", "file-content-secret", "plain-file-secret", "list-item-secret", "123456789", "nested-secret"} {
		if got := s.Scrub("x " + v + " y"); strings.Contains(got, v) {
			t.Errorf("%q not learned from the tree", v)
		}
	}
}

func TestHandler(t *testing.T) {
	var s redact.Set
	s.Add("topsecret")
	var buf bytes.Buffer
	log := slog.New(redact.Handler(slog.NewTextHandler(&buf, nil), s.Scrub)).With("with", "topsecret")
	log.Info("msg topsecret", "error", errors.New("err topsecret"), "str", "topsecret", slog.Group("g", "k", "topsecret"), "n", 3)
	if strings.Contains(buf.String(), "topsecret") || !strings.Contains(buf.String(), "n=3") {
		t.Fatal(buf.String())
	}
}
