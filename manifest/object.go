package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Origin is where an object (or an error) comes from.
type Origin struct {
	// File is the source file or directory, slash-separated, as the source was named
	// (relative paths stay relative).
	File string `json:"file,omitempty"`
	// Line is the 1-based line in File; 0 when not known.
	Line int `json:"line,omitempty"`
	// Document is the 1-based number of the YAML document in File; 0 when not known or
	// when File holds one document.
	Document int `json:"document,omitempty"`
	// Path is where in File's evaluated output the object is (Jsonnet: ".app.deployment"),
	// or how the object was made (kustomize: "kustomize build").
	Path string `json:"path,omitempty"`
}

func (o Origin) String() string {
	s := QuoteControl(o.File)
	if o.Line > 0 {
		s += ":" + strconv.Itoa(o.Line)
	}
	if o.Document > 0 {
		if s != "" {
			s += " "
		}
		s += "(document " + strconv.Itoa(o.Document) + ")"
	}
	if o.Path != "" {
		if s != "" {
			s += " "
		}
		s += "(" + QuoteControl(o.Path) + ")"
	}
	return s
}

// ObjectID is the identity of an object in a cluster: two objects with the same ID
// are the same object. Namespace is empty for cluster-scoped kinds.
type ObjectID struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (id ObjectID) String() string {
	gk := id.Kind
	if id.Group != "" {
		gk = id.Group + "/" + id.Kind
	}
	if id.Namespace != "" {
		return gk + " " + id.Namespace + "/" + id.Name
	}
	return gk + " " + id.Name
}

// GroupKind is a kind qualified by its API group ("apps/Deployment", "/ConfigMap" for
// the core group).
type GroupKind struct{ Group, Kind string }

func (gk GroupKind) String() string { return gk.Group + "/" + gk.Kind }

// Object is one Kubernetes object of a rendered tree, in canonical form: comments
// dropped, aliases expanded, keys in kustomize's field order (apiVersion, kind,
// metadata, spec, ...; the rest sorted), scalar styles chosen by the encoder.
type Object struct {
	Origin Origin

	node                              *yaml.Node // a MappingNode
	apiVersion, kind, name, namespace string
}

// APIVersion, Kind, Name and Namespace return the object's type and metadata.
func (o *Object) APIVersion() string { return o.apiVersion }
func (o *Object) Kind() string       { return o.kind }
func (o *Object) Name() string       { return o.name }
func (o *Object) Namespace() string  { return o.namespace }

// Group is the API group of the object's apiVersion ("" for the core group).
func (o *Object) Group() string { return groupOf(o.apiVersion) }

// GroupKind returns the object's group and kind.
func (o *Object) GroupKind() GroupKind { return GroupKind{o.Group(), o.kind} }

func groupOf(apiVersion string) string {
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// String describes the object: "apps/v1 Deployment default/web".
func (o *Object) String() string {
	if o.namespace != "" {
		return fmt.Sprintf("%s %s %s/%s", o.apiVersion, o.kind, o.namespace, o.name)
	}
	return fmt.Sprintf("%s %s %s", o.apiVersion, o.kind, o.name)
}

// SetNamespace sets metadata.namespace.
func (o *Object) SetNamespace(ns string) {
	o.namespace = ns
	if o.node == nil {
		return // a head
	}
	meta := MappingValue(o.node, "metadata")
	if v := MappingValue(meta, "namespace"); v != nil {
		v.Kind, v.Tag, v.Value, v.Style, v.Content = yaml.ScalarNode, "!!str", ns, 0, nil
	} else {
		meta.Content = append(meta.Content, strScalar("namespace"), strScalar(ns))
		sortMapping(meta)
	}
}

// SetDefaultLabels adds the labels in defaults that the object lacks.
func (o *Object) SetDefaultLabels(defaults map[string]string) { o.setDefaults("labels", defaults) }

// SetDefaultAnnotations adds the annotations in defaults that the object lacks.
func (o *Object) SetDefaultAnnotations(defaults map[string]string) {
	o.setDefaults("annotations", defaults)
}

// setDefaults adds the entries of defaults that metadata.<field> lacks.
func (o *Object) setDefaults(field string, defaults map[string]string) {
	if len(defaults) == 0 || o.node == nil {
		return
	}
	meta := MappingValue(o.node, "metadata")
	m := MappingValue(meta, field)
	if m == nil || m.Kind != yaml.MappingNode {
		m = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		mapSet(meta, field, m)
	}
	for _, k := range slices.Sorted(maps.Keys(defaults)) {
		if MappingValue(m, k) == nil {
			m.Content = append(m.Content, strScalar(k), strScalar(defaults[k]))
		}
	}
	canonicalize(m)
}

// Head returns o's origin and identity without its content: what an [Index] and
// [Scopes.ID] need, for a caller that has taken the content (with Value) and lets the
// YAML tree go, which takes about ten times the size of its text. A head's Value and
// YAML fail with [ErrNoContent]; it defines no scope ([Scopes.Learn] needs the content).
func (o *Object) Head() *Object {
	h := *o
	h.node = nil
	return &h
}

// Value returns the object as generic data (maps, slices, strings, numbers, bools).
func (o *Object) Value() (map[string]any, error) {
	if o.node == nil {
		return nil, fmt.Errorf("%s: %w", o, ErrNoContent)
	}
	var m map[string]any
	if err := o.node.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// YAML returns the object's canonical encoding: one YAML document, two-space indent,
// sequences not indented inside mappings (kustomize's style).
func (o *Object) YAML() ([]byte, error) {
	if o.node == nil {
		return nil, fmt.Errorf("%s: %w", o, ErrNoContent)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(o.node); err != nil {
		return nil, fmt.Errorf("encoding %s: %w", o, err)
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// NewObject makes an object from a YAML mapping node, which it takes over: checks
// that it is a Kubernetes object (apiVersion, kind and metadata.name are non-empty
// strings, no mapping has a key twice) and puts it in canonical form. Aliases must
// have been expanded.
func NewObject(n *yaml.Node, origin Origin) (*Object, error) {
	o, err := checkObject(n, origin)
	if err != nil {
		return nil, err
	}
	canonicalize(o.node)
	return o, nil
}

// checkObject is NewObject without the canonical form: the checks every object gets,
// by render and by push alike.
func checkObject(n *yaml.Node, origin Origin) (*Object, error) {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil, &SourceError{Origin: origin, Err: fmt.Errorf("%w: a %s, not a mapping", ErrInvalidObject, nodeKindName(n))}
	}
	if err := checkKeys(n, origin); err != nil {
		return nil, err
	}
	o := &Object{Origin: origin, node: n}
	var err error
	if o.apiVersion, err = stringField(n, "apiVersion", "apiVersion"); err != nil {
		return nil, &SourceError{Origin: origin, Err: err}
	}
	if o.kind, err = stringField(n, "kind", "kind"); err != nil {
		return nil, &SourceError{Origin: origin, Err: err}
	}
	meta := MappingValue(n, "metadata")
	if meta == nil || meta.Kind != yaml.MappingNode {
		return nil, &SourceError{Origin: origin, Object: o.apiVersion + " " + o.kind, Err: fmt.Errorf("%w: metadata is missing or not a mapping", ErrInvalidObject)}
	}
	if o.name, err = stringField(meta, "name", "metadata.name"); err != nil {
		return nil, &SourceError{Origin: origin, Object: o.apiVersion + " " + o.kind, Err: err}
	}
	if ns := MappingValue(meta, "namespace"); ns != nil && !isNull(ns) {
		if ns.Kind != yaml.ScalarNode || ns.Tag != "!!str" {
			return nil, &SourceError{Origin: origin, Object: o.String(), Err: fmt.Errorf("%w: metadata.namespace is not a string", ErrInvalidObject)}
		}
		o.namespace = ns.Value
	}
	return o, nil
}

// NewObjectFromValue makes an object from generic data: what encoding/json decodes
// into an any (with UseNumber or without), or the like.
func NewObjectFromValue(v map[string]any, origin Origin) (*Object, error) {
	n, err := valueNode(v, 0)
	if err != nil {
		return nil, &SourceError{Origin: origin, Err: err}
	}
	return NewObject(n, origin)
}

const maxDepth = 10000

func valueNode(v any, depth int) (*yaml.Node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("value nested deeper than %d levels", maxDepth)
	}
	switch v := v.(type) {
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	case string:
		return strScalar(v), nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(v)}, nil
	case json.Number:
		return numberScalar(string(v)), nil
	case float64:
		if v == float64(int64(v)) && v < 1e15 && v > -1e15 {
			return numberScalar(strconv.FormatInt(int64(v), 10)), nil
		}
		return numberScalar(strconv.FormatFloat(v, 'g', -1, 64)), nil
	case int:
		return numberScalar(strconv.Itoa(v)), nil
	case int64:
		return numberScalar(strconv.FormatInt(v, 10)), nil
	case []any:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: make([]*yaml.Node, 0, len(v))}
		for _, e := range v {
			c, err := valueNode(e, depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case map[string]any:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: make([]*yaml.Node, 0, 2*len(v))}
		for k, e := range v {
			c, err := valueNode(e, depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, strScalar(k), c)
		}
		return n, nil
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

func numberScalar(s string) *yaml.Node {
	tag := "!!int"
	if strings.ContainsAny(s, ".eE") {
		tag = "!!float"
	} else if _, err := strconv.ParseInt(s, 10, 64); err != nil {
		tag = "!!float" // what YAML resolves an integer too large for int64 to
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: s}
}

func strScalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

// stringField reads m's key as a string; path names the field in errors.
func stringField(m *yaml.Node, key, path string) (string, error) {
	v := MappingValue(m, key)
	switch {
	case v == nil || isNull(v):
		return "", fmt.Errorf("%w: no %s", ErrInvalidObject, path)
	case v.Kind != yaml.ScalarNode || v.Tag != "!!str":
		return "", fmt.Errorf("%w: %s is a %s, not a string", ErrInvalidObject, path, nodeKindName(v))
	case v.Value == "":
		return "", fmt.Errorf("%w: %s is empty", ErrInvalidObject, path)
	}
	return v.Value, nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func nodeKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str":
			return "string"
		case "!!int", "!!float":
			return "number"
		case "!!bool":
			return "boolean"
		case "!!null":
			return "null"
		}
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	return "node"
}

// MappingValue returns the value of key in the mapping node m, or nil (also when m is
// not a mapping). It follows no alias.
func MappingValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func mapSet(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, strScalar(key), v)
	sortMapping(m)
}

// checkKeys refuses mappings with a key twice, a key that is not a scalar, or a null
// key: none survives the conversion to JSON that the API server does.
func checkKeys(n *yaml.Node, origin Origin) error {
	switch n.Kind {
	case yaml.MappingNode:
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return &SourceError{Origin: lineOrigin(origin, k), Err: fmt.Errorf("%w: a mapping key is a %s", ErrInvalidObject, nodeKindName(k))}
			}
			if k.Tag == "!!null" {
				// "~:", "null:" or an empty key: JSON has no null key, and readers
				// differ on what it becomes (dropped, "", "null").
				return &SourceError{Origin: lineOrigin(origin, k), Err: fmt.Errorf("%w: a mapping key is null (quote it if it is meant as a string)", ErrInvalidObject)}
			}
			if seen[k.Value] {
				return &SourceError{Origin: lineOrigin(origin, k), Err: fmt.Errorf("%w: key %q appears twice in one mapping", ErrInvalidObject, k.Value)}
			}
			seen[k.Value] = true
			if err := checkKeys(n.Content[i+1], origin); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := checkKeys(c, origin); err != nil {
				return err
			}
		}
	}
	return nil
}

// lineOrigin is origin pointed at n's line, when origin is a line in a file.
func lineOrigin(origin Origin, n *yaml.Node) Origin {
	if origin.Line > 0 && n.Line > 0 {
		origin.Line = n.Line
	}
	return origin
}

// canonicalize puts n in canonical form, in place: no comments, anchors or styles
// from the source; mapping keys in kustomize's field order; strings that a YAML 1.1
// reader (sigs.k8s.io/yaml, which the API machinery uses) would take for another type
// double-quoted.
func canonicalize(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment, n.Anchor = "", "", "", ""
	n.Style = 0
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!str" && yaml11Ambiguous(n.Value) {
			n.Style = yaml.DoubleQuotedStyle
		}
	case yaml.MappingNode:
		for _, c := range n.Content {
			canonicalize(c)
		}
		sortMapping(n)
	default:
		for _, c := range n.Content {
			canonicalize(c)
		}
	}
}

// sortMapping orders the keys of a mapping node with kyaml's field precedence (what
// `kustomize cfg fmt` does), then lexically. Sequences are never reordered.
func sortMapping(m *yaml.Node) {
	n := len(m.Content) / 2
	if n < 2 {
		return
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	key := func(i int) string { return m.Content[2*i].Value }
	sort.SliceStable(idx, func(a, b int) bool {
		ka, kb := key(idx[a]), key(idx[b])
		oa, fa := yaml.FieldOrder[ka]
		ob, fb := yaml.FieldOrder[kb]
		switch {
		case fa && fb:
			return oa < ob
		case fa != fb:
			return fa
		}
		return ka < kb
	})
	sorted := make([]*yaml.Node, 0, len(m.Content))
	for _, i := range idx {
		sorted = append(sorted, m.Content[2*i], m.Content[2*i+1])
	}
	copy(m.Content, sorted)
}

// yaml11Ambiguous reports whether the plain scalar s would not be read as a string by
// a YAML 1.1 reader. kyaml's test (a YAML parse) runs only for the strings that could
// be a YAML 1.1 boolean, null, number or timestamp by their first bytes and letters;
// the others (most of them: names, images, flags, quantities such as 100m) are strings.
func yaml11Ambiguous(s string) bool {
	if s == "" || strings.Contains(s, "\n") {
		return false
	}
	switch c := s[0]; {
	case c == '+' || c == '-':
		if len(s) == 1 || !(isDigit(s[1]) || s[1] == '.') {
			return false
		}
		if s[1] != '.' && !numberish(s[1:]) {
			return false
		}
	case isDigit(c):
		if !numberish(s) {
			return false
		}
	case c == '.' || c == '~' || c == '<' || c == '=':
	case strings.IndexByte("yYnNtTfFoO", c) >= 0 && len(s) <= 5:
	default:
		return false
	}
	if v, ok := nonStringCache.Load(s); ok {
		return v.(bool)
	}
	v := yaml.IsValueNonString(s)
	if nonStringCacheN.Add(1) <= maxNonStringCache {
		nonStringCache.Store(s, v)
	}
	return v
}

// nonStringCache keeps kyaml's verdicts (a YAML parse each): the same few values
// ("1", "yes", "1.0") recur in every object of a big tree.
var (
	nonStringCache  sync.Map
	nonStringCacheN atomic.Int64
)

const maxNonStringCache = 1 << 14

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// numberish reports whether s has only bytes that YAML 1.1 integers, floats
// (decimal, octal, hex, binary, sexagesimal) and timestamps are made of.
func numberish(s string) bool {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte("0123456789_.:+-eExXbBaAcCdDfFtTzZ \t", s[i]) < 0 {
			return false
		}
	}
	return true
}

// QuoteControl is s, quoted as a Go string when it holds a control character: a file
// name with a line break would otherwise start a line of its own in a CI log (where
// "::error::" at a line's start is a command to the runner).
func QuoteControl(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strconv.Quote(s)
}
