package manifest_test

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/manifest"
)

func TestParseYAMLKeepsTypes(t *testing.T) {
	objs, err := manifest.ParseYAML([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  a: \"on\"\n  b: 'null'\n  c: '12'\n  d: plain\n"), "x.yaml", manifest.ParseYAMLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	y, _ := objs[0].YAML()
	for _, want := range []string{`a: "on"`, `b: "null"`, `c: "12"`, `d: plain`} {
		if !bytes.Contains(y, []byte(want)) {
			t.Errorf("want %s in\n%s", want, y)
		}
	}
}

// TestYAML11Quoting: strings a YAML 1.1 reader (go.yaml.in/yaml/v2, as the API
// machinery reads) would take for another type are quoted, the others not, whatever
// the prefilter in front of kyaml's test skips. (v2 reads "190:20:30" and "<<" as
// strings.)
func TestYAML11Quoting(t *testing.T) {
	quoted := []string{"yes", "No", "on", "OFF", "y", "n", "true", "False", "~", "null", "0777", "0x1F", "0b101", "1.0", "-1", "+12", "1e3", "1_000", ".inf", "-.inf", "+.5", ".NaN", "2001-12-14", "2001-12-14t21:59:43.10-05:00"}
	plain := []string{"100m", "128Mi", "1Gi", "--listen=:8080", "-v", "app-1", "ghcr.io/acme/app:1.0", "yesterday", "nginx", "1.2.3.4", "190:20:30", "<<", "="}
	for _, s := range append(quoted, plain...) {
		doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  k: " + strconv.Quote(s) + "\n"
		objs, err := manifest.ParseYAML([]byte(doc), "q.yaml", manifest.ParseYAMLOptions{})
		if err != nil {
			t.Fatal(err)
		}
		y, _ := objs[0].YAML()
		line := strings.TrimSpace(string(y[bytes.LastIndex(y, []byte("k: "))+3:]))
		isQuoted := strings.HasPrefix(line, `"`) || strings.HasPrefix(line, `'`)
		if want := slices.Contains(quoted, s); isQuoted != want {
			t.Errorf("%q is written %s (quoted %v, want %v)", s, line, isQuoted, want)
		}
	}
}

// TestHead: a head keeps the identity and origin an Index needs and refuses to give
// content it no longer has; the object it came from keeps its content.
func TestHead(t *testing.T) {
	objs, err := manifest.ParseYAML([]byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: prod}\nspec: {replicas: 2}\n"), "web.yaml", manifest.ParseYAMLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := objs[0].Head()
	if h.String() != objs[0].String() || h.Origin != objs[0].Origin || h.GroupKind() != objs[0].GroupKind() {
		t.Fatalf("head %s %v, object %s %v", h, h.Origin, objs[0], objs[0].Origin)
	}
	if _, err := h.Value(); !errors.Is(err, manifest.ErrNoContent) || !strings.Contains(err.Error(), "Deployment prod/web") {
		t.Fatalf("Value of a head: %v", err)
	}
	if _, err := h.YAML(); !errors.Is(err, manifest.ErrNoContent) {
		t.Fatalf("YAML of a head: %v", err)
	}
	h.SetNamespace("other") // a head's identity may still move, without content
	h.SetDefaultLabels(map[string]string{"a": "b"})
	if h.Namespace() != "other" {
		t.Fatal(h)
	}
	x := manifest.NewIndex(manifest.NewScopes(nil))
	if err := x.Add(objs[0].Head()); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(objs[0].Head()); !errors.Is(err, manifest.ErrDuplicate) || !strings.Contains(err.Error(), "web.yaml") {
		t.Fatalf("duplicate heads: %v", err)
	}
	if v, err := objs[0].Value(); err != nil || v["spec"] == nil {
		t.Fatalf("the object lost its content: %v %v", v, err)
	}
}
