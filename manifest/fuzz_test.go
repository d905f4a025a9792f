package manifest_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/manifest"
)

const cmA = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"

// aliasBomb is the "billion laughs" in YAML: nine levels of nine aliases.
var aliasBomb = func() string {
	s := "data:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
	for i := 1; i <= 9; i++ {
		p := "*a" + string(rune('0'+i-1))
		s += "  a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" + strings.Repeat(p+", ", 8) + p + "]\n"
	}
	return s
}()

// FuzzParseYAML: no input makes the YAML reader panic, and every object it accepts
// encodes to YAML that reads back as the same object.
func FuzzParseYAML(f *testing.F) {
	for _, s := range []string{
		cmA,
		cmA + "data:\n  a: 'yes'\n  b: &x [1, 2]\n  c: *x\n",
		"apiVersion: v1\nkind: List\nitems:\n- " + "apiVersion: v1\n  kind: Secret\n  metadata: {name: s}\n",
		"---\n---\n" + cmA + "---\n- a\n",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {\"on\": off, 1: 2, k: \"multi\\nline\"}\n",
		cmA + aliasBomb,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := manifest.ParseYAML(data, "fuzz.yaml", manifest.ParseYAMLOptions{})
		if err != nil {
			return
		}
		for _, o := range objs {
			y, err := o.YAML()
			if err != nil {
				t.Fatalf("encoding %s: %v", o, err)
			}
			again, err := manifest.ParseYAML(y, "again.yaml", manifest.ParseYAMLOptions{})
			if err != nil || len(again) != 1 {
				t.Fatalf("re-reading %s: %v\n%s", o, err, y)
			}
			y2, err := again[0].YAML()
			if err != nil || !bytes.Equal(y, y2) {
				t.Fatalf("not stable:\n%s\n---\n%s", y, y2)
			}
		}
	})
}
