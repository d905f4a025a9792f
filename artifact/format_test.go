package artifact_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/gitless-dev/gitless/artifact"
)

func TestManifestRoundTrip(t *testing.T) {
	l, err := artifact.BuildFromFiles(map[string][]byte{"a.yaml": []byte(cm)})
	if err != nil {
		t.Fatal(err)
	}
	meta := artifact.Metadata{Source: "https://x", Revision: "main@sha1:abc", Created: time.Unix(1700000000, 0), BuildURL: "https://ci/1",
		Annotations: map[string]string{"team": "a"}}
	m, err := artifact.NewManifest(l.Descriptor, meta)
	if err != nil {
		t.Fatal(err)
	}
	pm, layer, err := artifact.ParseManifest(m.Bytes, ocispec.MediaTypeImageManifest)
	if err != nil {
		t.Fatal(err)
	}
	if layer.Digest != l.Descriptor.Digest {
		t.Fatal(layer)
	}
	got := artifact.MetadataFromAnnotations(pm.Annotations)
	if got.Source != meta.Source || got.Revision != meta.Revision || !got.Created.Equal(meta.Created) || got.BuildURL != meta.BuildURL || got.Annotations["team"] != "a" {
		t.Fatalf("%+v", got)
	}
	m2, _ := artifact.NewManifest(l.Descriptor, meta)
	if m2.Descriptor.Digest != m.Descriptor.Digest {
		t.Fatal("manifest encoding is not deterministic")
	}
}

func TestParseManifestRefuses(t *testing.T) {
	l, _ := artifact.BuildFromFiles(map[string][]byte{"a.yaml": []byte(cm)})
	m, _ := artifact.NewManifest(l.Descriptor, artifact.Metadata{})
	var base map[string]any
	json.Unmarshal(m.Bytes, &base)
	mutate := func(f func(map[string]any)) []byte {
		var c map[string]any
		json.Unmarshal(m.Bytes, &c)
		f(c)
		b, _ := json.Marshal(c)
		return b
	}
	for _, tc := range []struct {
		name     string
		doc      []byte
		declared string
		want     string
	}{
		{"not json", []byte("{"), "", "not JSON"},
		{"index", []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`), "", "manifests"},
		{"mixed", mutate(func(c map[string]any) { c["manifests"] = []any{} }), ocispec.MediaTypeImageManifest, "manifests"},
		{"docker media type", mutate(func(c map[string]any) { c["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json" }), "", "media type"},
		{"declared differs", m.Bytes, "application/vnd.docker.distribution.manifest.v2+json", "registry says"},
		{"declared alone", mutate(func(c map[string]any) { delete(c, "mediaType") }), "application/vnd.docker.distribution.manifest.v2+json", "registry says"},
		{"foreign config", mutate(func(c map[string]any) {
			c["config"].(map[string]any)["mediaType"] = "application/vnd.oci.image.config.v1+json"
		}), "", "config media type"},
		{"no content layer", mutate(func(c map[string]any) { c["layers"] = []any{} }), "", "no layer"},
		{"two content layers", mutate(func(c map[string]any) { ls := c["layers"].([]any); c["layers"] = append(ls, ls[0]) }), "", "2 layers"},
		{"bad layer digest", mutate(func(c map[string]any) { c["layers"].([]any)[0].(map[string]any)["digest"] = "sha256:zz" }), "", "digest"},
		{"schema 1", mutate(func(c map[string]any) { c["schemaVersion"] = 1 }), "", "schemaVersion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := artifact.ParseManifest(tc.doc, tc.declared)
			if !errors.Is(err, artifact.ErrInvalidManifest) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			// Only what the registry's Content-Type decided is marked as such: the
			// rest is the document's, the same at every fetch of its digest.
			if byRegistry := strings.HasPrefix(tc.name, "declared"); errors.Is(err, artifact.ErrDeclaredMediaType) != byRegistry {
				t.Fatalf("%v: marked as the registry's doing %v, want %v", err, !byRegistry, byRegistry)
			}
		})
	}
}

func TestParseReference(t *testing.T) {
	const d = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	for _, tc := range []struct {
		in, want, err string
	}{
		{"oci://ghcr.io/acme/app:v1", "oci://ghcr.io/acme/app:v1", ""},
		{"ghcr.io/acme/app", "oci://ghcr.io/acme/app", ""},
		{"oci://127.0.0.1:5000/a/b/c@" + d, "oci://127.0.0.1:5000/a/b/c@" + d, ""},
		{"oci://localhost:5000/x:t@" + d, "oci://localhost:5000/x:t@" + d, ""},
		{"https://ghcr.io/a", "", "scheme"},
		{"oci://", "", "empty"},
		{"oci://acme/app:v1", "", "not a registry host"},
		{"oci://ghcr.io/Acme/app", "", "invalid"},
		{"oci://ghcr.io/acme/app:-bad", "", "tag"},
		{"oci://ghcr.io/acme/app@sha256:123", "", "digest"},
		{"oci://bob:ghp_SECRET@ghcr.io/acme/app:v1", "", `"oci://…@ghcr.io/acme/app:v1": credentials in the reference`},
		{"bob:ghp_SECRET@localhost:5000/x", "", "credentials in the reference"},
	} {
		r, err := artifact.ParseReference(tc.in)
		if tc.err != "" {
			if !errors.Is(err, artifact.ErrInvalidReference) || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("%s: got %v, want error with %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || r.String() != tc.want {
			t.Errorf("%s: got %v %v, want %s", tc.in, r, err, tc.want)
		}
	}
}

func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"oci://ghcr.io/a/b:c", "localhost:5000/x@sha256:00", "oci://[::1]:5000/r:t", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := artifact.ParseReference(s)
		if err != nil {
			return
		}
		r2, err := artifact.ParseReference(r.String())
		if err != nil || r2 != r {
			t.Fatalf("%q → %q does not round-trip: %v %v", s, r.String(), r2, err)
		}
	})
}

func TestTagPolicy(t *testing.T) {
	push := artifact.TagPolicy{Moving: artifact.DefaultMovingTags}
	promote := artifact.TagPolicy{MoveByDefault: true}
	for _, tc := range []struct {
		tag           string
		push, promote bool
	}{
		{"latest", true, true},
		{"staging", false, true},
		{"1a2b3c4", false, false},
		{"0123456789abcdef0123456789abcdef01234567", false, false},
		{"v1.2.3", false, false},
		{"1.2.3-rc.1", false, false},
		{"v1", false, true},
		{"v1.2", false, true},
	} {
		if got := push.MayMove(tc.tag); got != tc.push {
			t.Errorf("push policy: %s may move = %v", tc.tag, got)
		}
		if got := promote.MayMove(tc.tag); got != tc.promote {
			t.Errorf("tag policy: %s may move = %v", tc.tag, got)
		}
	}
	if !(artifact.TagPolicy{Moving: []string{"env-*"}}).MayMove("env-prod") {
		t.Error("glob")
	}
	if !(artifact.TagPolicy{AllowOverwrite: true}).MayMove("v1.0.0") {
		t.Error("overwrite")
	}
}

// FuzzParseManifest: no manifest a registry sends makes the parser panic, and one it
// accepts has exactly one content layer with a valid digest and a size within the
// caps' reach, and its metadata reads back.
func FuzzParseManifest(f *testing.F) {
	layer := ocispec.Descriptor{MediaType: artifact.ContentMediaType, Digest: digest.FromString("x"), Size: 1}
	m, err := artifact.NewManifest(layer, artifact.Metadata{Source: "https://github.com/acme/app", Revision: "main@sha1:0123456789abcdef0123456789abcdef01234567"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(m.Bytes, ocispec.MediaTypeImageManifest)
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`), ocispec.MediaTypeImageIndex)
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"`+artifact.ContentMediaType+`","digest":"sha256:zz","size":-1}]}`), "")
	f.Fuzz(func(t *testing.T, b []byte, mediaType string) {
		got, l, err := artifact.ParseManifest(b, mediaType)
		if err != nil {
			if !errors.Is(err, artifact.ErrInvalidManifest) {
				t.Fatalf("error not classified: %v", err)
			}
			return
		}
		if l.MediaType != artifact.ContentMediaType || l.Digest.Validate() != nil || l.Size < 0 {
			t.Fatalf("accepted layer %+v", l)
		}
		_ = artifact.MetadataFromAnnotations(got.Annotations)
	})
}

// A file name with a line break is quoted in errors: it cannot start a line of a CI log
// of its own ("::error::" at a line's start is a command to GitHub's runner).
func TestFileErrorQuotesControlCharacters(t *testing.T) {
	err := &artifact.FileError{Path: "l\n::error::link.yaml", Err: errors.New("is a symbolic link")}
	if strings.ContainsAny(err.Error(), "\n\r") {
		t.Fatalf("%q", err.Error())
	}
}

// What Flux's source-controller leaves out of an artifact without a .sourceignore: its
// default rules (images, archives, CI files), which a tree's !pattern may re-include.
func TestFluxIgnored(t *testing.T) {
	files := []artifact.File{{Path: "app.yaml"}, {Path: "branding/logo.png"}, {Path: ".sops.yaml"}, {Path: "x/.github/workflows/a.yml"}, {Path: "a.tar.gz"}}
	got := artifact.FluxIgnored(files)
	if strings.Join(got, ",") != "branding/logo.png,.sops.yaml,x/.github/workflows/a.yml,a.tar.gz" {
		t.Fatalf("%v", got)
	}
}
