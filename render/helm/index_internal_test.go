package helm

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/internal/testenv/heap"
)

// testIndex is an index.yaml as Helm writes it (sigs.k8s.io/yaml): charts charts of
// versions versions each, with a multi-line description.
func testIndex(t testing.TB, charts, versions int) []byte {
	t.Helper()
	entries := map[string]any{}
	for c := range charts {
		name := fmt.Sprintf("chart-%d", c)
		if c == 1 {
			name = "odd: name" // a key YAML has to quote
		}
		var vs []any
		for v := range versions {
			vs = append(vs, map[string]any{
				"apiVersion": "v2", "name": name, "version": fmt.Sprintf("1.%d.0", v),
				"description": "A chart.\nIt has two lines: and a colon.",
				"urls":        []any{fmt.Sprintf("%s-1.%d.0.tgz", name, v)},
				"digest":      strings.Repeat("ab", 32),
			})
		}
		entries[name] = vs
	}
	b, err := yaml.Marshal(map[string]any{"apiVersion": "v1", "entries": entries, "generated": "2026-12-06T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The part of the index indexEntries keeps says of a chart what the whole index says;
// a layout other than Helm's is read whole.
func TestIndexEntriesAreWhatTheWholeIndexSays(t *testing.T) {
	idx := testIndex(t, 5, 3)
	var whole repoIndex
	if err := yaml.Unmarshal(idx, &whole); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"chart-0", "odd: name", "chart-4", "absent"} {
		only, ok := indexEntries(idx, name)
		if !ok {
			t.Fatalf("%s: Helm's layout not recognised:\n%.400s", name, idx)
		}
		var part repoIndex
		if err := yaml.Unmarshal(only, &part); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, only)
		}
		if !reflect.DeepEqual(part.Entries[name], whole.Entries[name]) || len(part.Entries) > 1 {
			t.Errorf("%s: %d entries, %v; want %v", name, len(part.Entries), part.Entries[name], whole.Entries[name])
		}
	}
	for _, other := range []string{`{"apiVersion":"v1","entries":{"a":[]}}`, "apiVersion: v1\nentries: {a: []}\n", "entries:\n a:\n - name: a\n", "entries:\n    a:\n    - name: a\n", "entries:\n", "entries:\n- a\n"} {
		if _, ok := indexEntries([]byte(other), "a"); ok {
			t.Errorf("%q read as Helm's layout", other)
		}
	}
}

// bigIndex is an index.yaml of charts charts of versions versions, written in Helm's
// layout directly (faster than through yaml.Marshal).
func bigIndex(charts, versions int) []byte {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nentries:\n")
	for c := range charts {
		fmt.Fprintf(&b, "  chart-%d:\n", c)
		for v := range versions {
			fmt.Fprintf(&b, "  - apiVersion: v2\n    description: |-\n      A chart.\n      It has two lines.\n    digest: %s\n    name: chart-%d\n    urls:\n    - chart-%d-1.%d.0.tgz\n    version: 1.%d.0\n",
				strings.Repeat("ab", 32), c, c, v, v)
		}
	}
	b.WriteString("generated: \"2026-12-06T00:00:00Z\"\n")
	return []byte(b.String())
}

// A large index (16 MiB: 6,000 charts of 12 versions) is read for the one chart asked
// for in a heap of a few MiB, not about 90 times the index (1.5 GB) as when read whole.
func TestLargeIndexIsReadForOneChart(t *testing.T) {
	idx := bigIndex(6000, 12)
	if len(idx) < 16<<20 {
		t.Fatalf("the index is %d bytes", len(idx))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/index.yaml" {
			w.Write(idx)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	e := New(Options{HTTPClient: srv.Client()})
	w := heap.Watch()
	_, err := e.repoChart(t.Context(), srv.URL, "chart-5999", "1.11.0")
	peak := w.Stop()
	// The index was read and the version found: the chart's download is what fails.
	if err == nil || !strings.Contains(err.Error(), "chart-5999-1.11.0.tgz") {
		t.Fatalf("err = %v", err)
	}
	if peak > 128<<20 {
		t.Fatalf("peak heap %d MiB for an index of %d MiB", peak>>20, len(idx)>>20)
	}
}
