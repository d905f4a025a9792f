package helm

import (
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzRepoIndex: a chart repository's index.yaml is untrusted input; reading it and
// picking a version never panics, and a version picked has a URL and matches the
// name asked for.
func FuzzRepoIndex(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nentries:\n  podinfo:\n  - name: podinfo\n    version: 6.14.1\n    urls: [podinfo-6.14.1.tgz]\n    digest: abc\n"), "podinfo", "")
	f.Add([]byte("apiVersion: v1\nentries:\n  a:\n  - version: 1.0.0-rc.1\n    urls: [x]\n  - version: 0.9.0\n    urls: [y]\n  - null\n"), "a", ">=1.0.0-0")
	f.Add([]byte("entries: {a: [{version: '1.x', urls: []}]}"), "a", "1.x")
	f.Fuzz(func(t *testing.T, data []byte, name, version string) {
		var idx repoIndex
		if yaml.Unmarshal(data, &idx) != nil {
			return
		}
		cv, err := idx.get(name, version)
		if err != nil {
			return
		}
		if cv == nil || len(cv.URLs) == 0 {
			t.Fatalf("picked %+v", cv)
		}
		found := false
		for _, v := range idx.Entries[name] {
			found = found || v == cv
		}
		if !found {
			t.Fatalf("picked a version of another chart: %+v", cv)
		}
	})
}
