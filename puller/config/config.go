package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"time"

	yamlv3 "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/puller"
)

// APIVersion and Kind of the configuration file.
const (
	APIVersion = "gitless.dev/v1alpha1"
	Kind       = "PullerConfig"
)

// DefaultNamespace is the puller's namespace when neither the file nor the
// environment names one.
const DefaultNamespace = "gitless-system"

// MaxSize is the largest configuration file read.
const MaxSize = 4 << 20

// PullerConfig is the configuration file of gitless-puller, versioned like a
// Kubernetes object. docs/puller-config.md describes every field.
type PullerConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Namespace is the puller's own namespace: ApplySet parents and pull secrets.
	// Default: the POD_NAMESPACE the caller passes, else DefaultNamespace.
	Namespace string `json:"namespace,omitempty"`
	// Concurrency bounds the apiserver requests in flight per sync (default 4).
	Concurrency int `json:"concurrency,omitempty"`
	// AllowLinkLocalRegistries lets registry hosts resolve to link-local and cloud
	// metadata addresses (refused by default).
	AllowLinkLocalRegistries bool `json:"allowLinkLocalRegistries,omitempty"`
	// Sources are the artifacts to keep applied.
	Sources []puller.Source `json:"sources"`
	// Webhook is where the token of the webhook receiver (gitless-puller run
	// --webhook-listen) is: a Secret in the puller's namespace (key "token") or a
	// file. A source's own webhook field overrides it.
	Webhook *puller.WebhookSecret `json:"webhook,omitempty"`
	// PruneRemovedSources: when a reloaded configuration no longer has a source, the
	// running puller deletes that source's objects and ApplySet parent (as a prune of
	// everything would). Off by default: a removed source's objects stay.
	PruneRemovedSources bool `json:"pruneRemovedSources,omitempty"`
	// DefaultServiceAccount and AllowCrossNamespaceRefs are the multi-tenancy
	// lockdown (puller.Tenancy).
	DefaultServiceAccount   string `json:"defaultServiceAccount,omitempty"`
	AllowCrossNamespaceRefs bool   `json:"allowCrossNamespaceRefs,omitempty"`
	// Limits caps what the registry and the artifacts may cost; zero fields take the
	// defaults.
	Limits Limits `json:"limits,omitzero"`

	// Sum is the SHA-256 of the document Parse read (zero for a configuration built in
	// code): a watcher of the file compares the file's bytes with it, so that an edit
	// made after this read and before the watch began is not taken for what runs.
	Sum [sha256.Size]byte `json:"-"`
	// ModTime is the modification time of the file Load read (zero for a document
	// parsed from bytes): the puller records it with each source it applies, so that
	// only a puller with a newer file removes a source its file no longer has
	// (puller.RunOptions.ConfigTime).
	ModTime time.Time `json:"-"`
}

// Limits caps registry listings and archive extraction.
type Limits struct {
	List    remote.ListLimits `json:"list,omitzero"`
	Extract artifact.Limits   `json:"extract,omitzero"`
}

// Tenancy returns the lockdown the file configures.
func (c *PullerConfig) Tenancy() puller.Tenancy {
	return puller.Tenancy{DefaultServiceAccount: c.DefaultServiceAccount, AllowCrossNamespaceRefs: c.AllowCrossNamespaceRefs}
}

// PullerOptions returns o with what the file decides for every source of a puller:
// its namespace, the lockdown, the limits, the link-local guard, and the concurrency
// unless o gives one. The one-shot sync and the daemon both take them from here.
func (c *PullerConfig) PullerOptions(o puller.Options) puller.Options {
	o.Namespace = c.Namespace
	o.AllowLinkLocalRegistries = c.AllowLinkLocalRegistries
	o.Tenancy = c.Tenancy()
	o.Lists, o.Extract = c.Limits.List, c.Limits.Extract
	if o.Concurrency <= 0 {
		o.Concurrency = c.Concurrency
	}
	return o
}

// Namespaces say which namespace the puller of a configuration runs in: Override (the
// puller's --namespace) wins over the file's namespace, which wins over Default (the
// pod's namespace); with neither, DefaultNamespace.
type Namespaces struct {
	Default, Override string
}

// Parse reads and checks a configuration document. Unknown fields, a key given twice,
// a second YAML document, wrong types and invalid values are refused with the
// offending field named ("sources[1].ref.semver: ..."); every error matches
// puller.ErrInvalidSource. The namespace is settled (ns) before anything is checked,
// so that the checks that depend on it (tenancy, pull secrets) see the one the puller
// runs in.
func Parse(data []byte, ns Namespaces) (*PullerConfig, error) {
	if len(data) > MaxSize {
		return nil, &puller.FieldError{Field: "(file)", Err: fmt.Errorf("larger than %d bytes", MaxSize)}
	}
	if err := oneDocument(data); err != nil {
		return nil, &puller.FieldError{Field: "(file)", Err: err}
	}
	jsonData, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, &puller.FieldError{Field: "(file)", Err: fmt.Errorf("not YAML: %v", err)}
	}
	var generic any
	if err := json.Unmarshal(jsonData, &generic); err != nil {
		return nil, &puller.FieldError{Field: "(file)", Err: err}
	}
	if _, ok := generic.(map[string]any); !ok {
		return nil, &puller.FieldError{Field: "(file)", Err: errors.New("not a mapping")}
	}
	if changed, err := fluxDependsOn(generic); err != nil {
		return nil, err
	} else if changed {
		if jsonData, err = json.Marshal(generic); err != nil {
			return nil, &puller.FieldError{Field: "(file)", Err: err}
		}
	}
	if err := checkFields(generic, reflect.TypeOf(PullerConfig{}), ""); err != nil {
		return nil, err
	}
	var c PullerConfig
	dec := json.NewDecoder(bytes.NewReader(jsonData))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &puller.FieldError{Field: sourceIndex(generic, te.Field), Err: fmt.Errorf("want a %s, not a JSON %s", te.Type, te.Value)}
		}
		return nil, &puller.FieldError{Field: "(file)", Err: err}
	}
	if ns.Override != "" {
		c.Namespace = ns.Override
	}
	if c.Namespace == "" {
		c.Namespace = ns.Default
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.Sum = sha256.Sum256(data)
	return &c, nil
}

// fluxDependsOn reads Flux's form of a dependency, {name: NAME} (a Kustomization's
// dependsOn, ported unchanged), as the name, in every source's dependsOn of generic (the
// decoded file), and reports whether it changed anything. A namespace other than none
// is refused: sources have names only.
func fluxDependsOn(generic any) (bool, error) {
	sources, _ := generic.(map[string]any)["sources"].([]any)
	changed := false
	for i, src := range sources {
		m, _ := src.(map[string]any)
		deps, _ := m["dependsOn"].([]any)
		for j, d := range deps {
			ref, ok := d.(map[string]any)
			if !ok {
				continue
			}
			field := fmt.Sprintf("sources[%d].dependsOn[%d]", i, j)
			name, _ := ref["name"].(string)
			for k, v := range ref {
				switch {
				case k == "name" && name != "":
				case k == "namespace" && v == "":
				case k == "namespace":
					return false, &puller.FieldError{Field: field + ".namespace", Err: fmt.Errorf("%v: sources have names only, no namespace", v)}
				default:
					return false, &puller.FieldError{Field: field + "." + k, Err: errors.New("unknown field (want a source's name, or {name: NAME})")}
				}
			}
			if name == "" {
				return false, &puller.FieldError{Field: field, Err: errors.New("want a source's name, or {name: NAME}")}
			}
			deps[j], changed = name, true
		}
	}
	return changed, nil
}

// sourceIndex puts the index of the source into a type error's field ("sources.prune"
// becomes "sources[3].prune"): encoding/json names struct fields but not list items.
func sourceIndex(generic any, field string) string {
	rest, ok := strings.CutPrefix(field, "sources.")
	if !ok {
		return field
	}
	list, _ := generic.(map[string]any)["sources"].([]any)
	for i, item := range list {
		b, err := json.Marshal(item)
		if err != nil {
			continue
		}
		var s puller.Source
		if json.Unmarshal(b, &s) != nil {
			return fmt.Sprintf("sources[%d].%s", i, rest)
		}
	}
	return field
}

// oneDocument refuses a file of several YAML documents: a PullerConfig is one, and the
// documents after it would be dropped without a word.
func oneDocument(data []byte) error {
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var n yamlv3.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if doc == 1 {
				return nil // not YAML: YAMLToJSONStrict says where
			}
			// YAMLToJSONStrict reads the first document only: a broken later one
			// would pass unseen.
			return fmt.Errorf("YAML document %d: %w", doc, err)
		}
		if doc > 1 && len(n.Content) > 0 && !emptyNode(n.Content[0]) {
			return fmt.Errorf("YAML document %d (line %d): the file holds one PullerConfig, not several documents", doc, n.Content[0].Line)
		}
	}
}

// emptyNode reports whether n is a document's null content: nothing, a comment, "~" or
// "null", not a scalar that is only tagged null ("!!null x").
func emptyNode(n *yamlv3.Node) bool {
	if n.Kind != yamlv3.ScalarNode || n.ShortTag() != "!!null" {
		return false
	}
	switch n.Value {
	case "", "~", "null", "Null", "NULL":
		return true
	}
	return false
}

// Digest is Sum as a digest ("sha256:..."), "" for a configuration built in code.
func (c *PullerConfig) Digest() string {
	if c.Sum == ([sha256.Size]byte{}) {
		return ""
	}
	return "sha256:" + hex.EncodeToString(c.Sum[:])
}

// Load reads the configuration file at path with Parse, and its modification time.
func Load(path string, ns Namespaces) (*PullerConfig, error) {
	data, mtime, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data, ns)
	if err != nil {
		return nil, fmt.Errorf("puller config %s: %w", path, err)
	}
	c.ModTime = mtime
	return c, nil
}

// ReadFile reads the configuration file at path (at most MaxSize bytes, one more
// fails Parse) and the modification time of the very file read: the kubelet replaces
// a mounted ConfigMap's file by swapping a symbolic link, never by writing to it.
func ReadFile(path string) ([]byte, time.Time, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reading puller config: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reading puller config %s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(&limited{f, MaxSize + 1}); err != nil {
		return nil, time.Time{}, fmt.Errorf("reading puller config %s: %w", path, err)
	}
	return buf.Bytes(), fi.ModTime(), nil
}

type limited struct {
	f interface{ Read([]byte) (int, error) }
	n int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("file too large")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// Validate checks the whole configuration and names the first offending field.
func (c *PullerConfig) Validate() error {
	switch {
	case c.APIVersion != APIVersion:
		return &puller.FieldError{Field: "apiVersion", Err: fmt.Errorf("%q, want %q", c.APIVersion, APIVersion)}
	case c.Kind != Kind:
		return &puller.FieldError{Field: "kind", Err: fmt.Errorf("%q, want %q", c.Kind, Kind)}
	case c.Concurrency < 0 || c.Concurrency > 64:
		return &puller.FieldError{Field: "concurrency", Err: fmt.Errorf("%d: want 1 to 64", c.Concurrency)}
	}
	if errs := validation.IsDNS1123Label(c.Namespace); len(errs) > 0 {
		return &puller.FieldError{Field: "namespace", Err: fmt.Errorf("%q: %s", c.Namespace, strings.Join(errs, "; "))}
	}
	if sa := c.DefaultServiceAccount; sa != "" {
		if errs := validation.IsDNS1123Subdomain(sa); len(errs) > 0 {
			return &puller.FieldError{Field: "defaultServiceAccount", Err: fmt.Errorf("%q: %s", sa, strings.Join(errs, "; "))}
		}
	}
	if err := negativeField("limits.list", c.Limits.List); err != nil {
		return err
	}
	if _, err := c.Limits.List.WithDefaults(); err != nil {
		return &puller.FieldError{Field: "limits.list", Err: err}
	}
	if err := negativeField("limits.extract", c.Limits.Extract); err != nil {
		return err
	}
	if _, err := c.Limits.Extract.WithDefaults(); err != nil {
		return &puller.FieldError{Field: "limits.extract", Err: err}
	}
	for i, s := range c.Sources {
		err := s.WithDefaults().Validate()
		if err == nil {
			_, err = c.Tenancy().Identity(s, c.Namespace)
		}
		if err != nil {
			var fe *puller.FieldError
			if errors.As(err, &fe) {
				return &puller.FieldError{Field: fmt.Sprintf("sources[%d].%s", i, fe.Field), Err: fe.Err}
			}
			return &puller.FieldError{Field: fmt.Sprintf("sources[%d]", i), Err: err}
		}
	}
	if _, err := puller.Order(c.Sources); err != nil {
		return err
	}
	if c.Webhook != nil {
		if err := c.Webhook.Validate("webhook"); err != nil {
			return err
		}
	}
	return nil
}

// negativeField names the first negative number of the limits struct v by its JSON name
// ("limits.extract.maxEntries"): the limits' own check says only that one is.
func negativeField(prefix string, v any) error {
	rv := reflect.ValueOf(v)
	for i := range rv.NumField() {
		if f := rv.Field(i); f.CanInt() && f.Int() < 0 {
			name, _, _ := strings.Cut(rv.Type().Field(i).Tag.Get("json"), ",")
			return &puller.FieldError{Field: prefix + "." + name, Err: fmt.Errorf("%d: must not be negative (0 or no value takes the default)", f.Int())}
		}
	}
	return nil
}

// checkFields walks decoded JSON against the Go type it will decode into and names
// the first key the type does not have, with its path.
func checkFields(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		if s, ok := v.(string); ok {
			if _, err := time.ParseDuration(s); err != nil {
				return &puller.FieldError{Field: strings.TrimPrefix(path, "."), Err: fmt.Errorf("%q is not a duration (like 30s, 5m, 1h)", s)}
			}
		}
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		if t.Kind() == reflect.Map {
			for k, e := range x {
				if err := checkFields(e, t.Elem(), path+"."+k); err != nil {
					return err
				}
			}
			return nil
		}
		if t.Kind() != reflect.Struct {
			return nil // a type error, reported by the decoder
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, ok := fields[k]
			if !ok {
				return &puller.FieldError{Field: strings.TrimPrefix(path+"."+k, "."), Err: errors.New("unknown field")}
			}
			if err := checkFields(x[k], ft, path+"."+k); err != nil {
				return err
			}
		}
	case []any:
		if t.Kind() != reflect.Slice {
			return nil
		}
		for i, e := range x {
			if err := checkFields(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

var durationType = reflect.TypeOf(metav1.Duration{})

// jsonFields maps the JSON names of a struct's fields (inlined structs included) to
// their types. Types with their own JSON form (metav1.Duration) are leaves.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" && f.Anonymous {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		ft := f.Type
		if ft != durationType && reflect.PointerTo(ft).Implements(reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()) {
			ft = reflect.TypeOf("") // a leaf
		}
		out[name] = ft
	}
	return out
}
