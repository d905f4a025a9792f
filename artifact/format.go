package artifact

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/fluxcd/pkg/sourceignore"
	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types of the artifact. They are Flux's, so that Flux's OCIRepository and
// `flux pull artifact` read gitless artifacts and gitless reads theirs.
const (
	ConfigMediaType  = "application/vnd.cncf.flux.config.v1+json"
	ContentMediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
)

// Annotation keys set on the manifest.
const (
	AnnotationSource   = ocispec.AnnotationSource   // org.opencontainers.image.source
	AnnotationRevision = ocispec.AnnotationRevision // org.opencontainers.image.revision
	AnnotationCreated  = ocispec.AnnotationCreated  // org.opencontainers.image.created
	// AnnotationBuildURL is the URL of the CI run that built the artifact.
	AnnotationBuildURL = "dev.gitless.build.url"
	// AnnotationRenderedCharts lists the Helm charts gitless render rendered the
	// content from: a JSON array of {"name", "version", "digest", "source"}.
	AnnotationRenderedCharts = "dev.gitless.render.charts"
)

// Caps on documents read from a registry, checked against descriptor sizes before
// anything is downloaded.
const (
	// MaxManifestSize is the largest manifest gitless reads (containerd uses the same).
	MaxManifestSize = 4 << 20
)

// emptyConfig is the config blob: an empty JSON object. Flux never reads the config of
// an artifact, and a constant config keeps the manifest digest a function of the
// layer and the annotations alone.
var emptyConfig = []byte("{}")

// ConfigDescriptor describes the config blob every gitless artifact carries.
func ConfigDescriptor() (ocispec.Descriptor, []byte) {
	return ocispec.Descriptor{
		MediaType: ConfigMediaType,
		Digest:    digest.FromBytes(emptyConfig),
		Size:      int64(len(emptyConfig)),
	}, emptyConfig
}

// Metadata is the provenance recorded in the manifest's annotations.
type Metadata struct {
	// Source is the URL of the source repository.
	Source string `json:"source,omitempty"`
	// Revision is the source revision in Flux's form, e.g. "main@sha1:<40 hex>".
	Revision string `json:"revision,omitempty"`
	// Created is when the sources were made (SOURCE_DATE_EPOCH or the commit time),
	// never the wall clock. Zero leaves the annotation out.
	Created time.Time `json:"created,omitzero"`
	// BuildURL is the CI run that built the artifact.
	BuildURL string `json:"buildURL,omitempty"`
	// Annotations are further manifest annotations. Keys here win over the fields above.
	Annotations map[string]string `json:"annotations,omitempty"`
}

// ToAnnotations returns the manifest annotations for m.
func (m Metadata) ToAnnotations() map[string]string {
	a := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			a[k] = v
		}
	}
	set(AnnotationSource, m.Source)
	set(AnnotationRevision, m.Revision)
	if !m.Created.IsZero() {
		a[AnnotationCreated] = m.Created.UTC().Format(time.RFC3339)
	}
	set(AnnotationBuildURL, m.BuildURL)
	for k, v := range m.Annotations {
		a[k] = v
	}
	return a
}

// MetadataFromAnnotations reads provenance back from manifest annotations. A created
// annotation that does not parse as RFC 3339 is left zero.
func MetadataFromAnnotations(a map[string]string) Metadata {
	m := Metadata{
		Source:   a[AnnotationSource],
		Revision: a[AnnotationRevision],
		BuildURL: a[AnnotationBuildURL],
	}
	if t, err := time.Parse(time.RFC3339, a[AnnotationCreated]); err == nil {
		m.Created = t
	}
	if len(a) > 0 {
		m.Annotations = make(map[string]string, len(a))
		for k, v := range a {
			m.Annotations[k] = v
		}
	}
	return m
}

// Manifest is an encoded artifact manifest with its descriptor.
type Manifest struct {
	Descriptor ocispec.Descriptor
	Bytes      []byte
	Manifest   ocispec.Manifest
}

// NewManifest makes the manifest for a content layer. The encoding is deterministic:
// the same layer and metadata always give the same bytes and digest.
func NewManifest(layer ocispec.Descriptor, meta Metadata) (*Manifest, error) {
	if layer.MediaType != ContentMediaType {
		return nil, fmt.Errorf("making manifest: layer media type %q, want %q", layer.MediaType, ContentMediaType)
	}
	cfg, _ := ConfigDescriptor()
	m := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      cfg,
		Layers:      []ocispec.Descriptor{{MediaType: layer.MediaType, Digest: layer.Digest, Size: layer.Size}},
		Annotations: meta.ToAnnotations(),
	}
	// encoding/json sorts map keys, so annotations encode in a stable order.
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}
	return &Manifest{
		Descriptor: ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(b), Size: int64(len(b))},
		Bytes:      b,
		Manifest:   m,
	}, nil
}

// manifestProbe holds the fields that tell a manifest from an index.
type manifestProbe struct {
	MediaType string          `json:"mediaType"`
	Manifests json.RawMessage `json:"manifests"`
}

// ParseManifest checks a manifest read from a registry and returns it with the
// descriptor of its content layer. It refuses what is not a single-content-layer
// OCI image manifest: an index, a document that mixes index and manifest fields, a
// media type other than the OCI manifest's, a config that is not Flux's, or zero or
// several content layers. Layers of other media types are ignored.
func ParseManifest(b []byte, declaredMediaType string) (*ocispec.Manifest, ocispec.Descriptor, error) {
	var probe manifestProbe
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: not JSON: %v", ErrInvalidManifest, err)
	}
	if probe.Manifests != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: document has a \"manifests\" field (an index, or a manifest mixing index fields)", ErrInvalidManifest)
	}
	mt := probe.MediaType
	if mt == "" {
		mt = declaredMediaType
		if mt != ocispec.MediaTypeImageManifest {
			return nil, ocispec.Descriptor{}, fmt.Errorf("%w: the document names no media type and the registry says %q, want %q (%w)", ErrInvalidManifest, mt, ocispec.MediaTypeImageManifest, ErrDeclaredMediaType)
		}
	}
	if mt != ocispec.MediaTypeImageManifest {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: media type %q, want %q", ErrInvalidManifest, mt, ocispec.MediaTypeImageManifest)
	}
	if declaredMediaType != "" && probe.MediaType != "" && declaredMediaType != probe.MediaType {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: registry says media type %q, document says %q (%w)", ErrInvalidManifest, declaredMediaType, probe.MediaType, ErrDeclaredMediaType)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: %v", ErrInvalidManifest, err)
	}
	if m.SchemaVersion != 2 {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: schemaVersion %d, want 2", ErrInvalidManifest, m.SchemaVersion)
	}
	if m.Config.MediaType != ConfigMediaType {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: config media type %q, want %q (not a Flux/gitless artifact)", ErrInvalidManifest, m.Config.MediaType, ConfigMediaType)
	}
	var content []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == ContentMediaType {
			content = append(content, l)
		}
	}
	switch len(content) {
	case 0:
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: no layer of media type %q", ErrInvalidManifest, ContentMediaType)
	case 1:
	default:
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: %d layers of media type %q, want one", ErrInvalidManifest, len(content), ContentMediaType)
	}
	l := content[0]
	if err := l.Digest.Validate(); err != nil {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: content layer digest %q: %v", ErrInvalidManifest, l.Digest, err)
	}
	if l.Size < 0 {
		return nil, ocispec.Descriptor{}, fmt.Errorf("%w: content layer size %d", ErrInvalidManifest, l.Size)
	}
	return &m, l, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// FluxIgnored returns the paths of files that Flux's source-controller leaves out when
// it unpacks the artifact: an artifact without a .sourceignore (gitless packages none)
// is filtered by Flux's default rules (VCS files, CI configurations, archives and
// images, fluxcd/pkg/sourceignore), which a "!pattern" of the tree may have re-included
// here. gitless-puller reads every file; Flux would build without these.
func FluxIgnored(files []File) []string {
	m := sourceignore.NewDefaultMatcher(nil, nil)
	var out []string
	for _, f := range files {
		if m.Match(strings.Split(f.Path, "/"), false) {
			out = append(out, f.Path)
		}
	}
	return out
}
