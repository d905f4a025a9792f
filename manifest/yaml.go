package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// MaxAliasNodes caps the nodes that expanding the aliases of one YAML document may
// create, so that an alias bomb ("billion laughs") is an error, not an outage.
const MaxAliasNodes = 1 << 20

// ParseYAMLOptions configures [ParseYAML].
type ParseYAMLOptions struct {
	// AllowNonObjects skips mappings without apiVersion or kind instead of failing
	// with ErrNotObject.
	AllowNonObjects bool
}

// ParseYAML reads a stream of YAML documents into objects in canonical form. file
// names the stream in origins and errors. Empty documents are skipped; a List (a kind
// ending in "List" with items) gives its items; any other document must be a
// Kubernetes object ([NewObject] says what that takes).
func ParseYAML(data []byte, file string, opts ParseYAMLOptions) ([]*Object, error) {
	var objs []*Object
	err := documents(data, file, func(root *yaml.Node, origin Origin) error {
		if err := mappingRoot(root, origin); err != nil {
			return err
		}
		got, err := objectsOf(root, origin, opts.AllowNonObjects, NewObject)
		objs = append(objs, got...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return objs, nil
}

// mappingRoot refuses a document that is not a mapping.
func mappingRoot(root *yaml.Node, origin Origin) error {
	if root.Kind != yaml.MappingNode {
		return &SourceError{Origin: origin, Err: fmt.Errorf("%w: the document is a %s, not a mapping", ErrInvalidObject, nodeKindName(root))}
	}
	return nil
}

// checkYAML is ParseYAML without the canonical form: what push checks.
//
// A document that is no valid object does not stop the check: the documents after it are
// checked too, and every problem is returned (up to max), joined; a syntax error ends
// the file, since the parser cannot go on.
func checkYAML(data []byte, file string, max int) ([]*Object, error) {
	var (
		objs []*Object
		errs []error
	)
	err := documents(data, file, func(root *yaml.Node, origin Origin) error {
		err := mappingRoot(root, origin)
		if err == nil {
			var got []*Object
			got, err = objectsOf(root, origin, false, checkObject)
			objs = append(objs, got...)
		}
		if err != nil {
			if errs = append(errs, err); len(errs) >= max {
				return errTooMany
			}
		}
		return nil
	})
	if err != nil && err != errTooMany {
		errs = append(errs, err)
	}
	return objs, errors.Join(errs...)
}

// errTooMany stops a check that has found enough.
var errTooMany = errors.New("too many errors")

// documents decodes a YAML stream and calls fn with each document that is not empty
// or null, its aliases expanded, with its origin (file, line, document number).
// Whether it is a mapping is the caller's to check (mappingRoot).
func documents(data []byte, file string, fn func(root *yaml.Node, origin Origin) error) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return syntaxError(file, doc, err)
		}
		root := &n
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		origin := Origin{File: file, Line: root.Line}
		if doc > 1 {
			origin.Document = doc
		}
		if isNull(root) {
			continue
		}
		root, err = expandAliases(root, origin)
		if err != nil {
			return err
		}
		if err := fn(root, origin); err != nil {
			return err
		}
	}
}

// objectsOf turns a mapping into its objects: itself, or a List's items.
func objectsOf(m *yaml.Node, origin Origin, allowNonObjects bool, newObject func(*yaml.Node, Origin) (*Object, error)) ([]*Object, error) {
	av, kind := MappingValue(m, "apiVersion"), MappingValue(m, "kind")
	if av == nil || kind == nil {
		if allowNonObjects {
			return nil, nil
		}
		return nil, &SourceError{Origin: origin, Err: fmt.Errorf("%w: %w", ErrInvalidObject, ErrNotObject)}
	}
	if items := MappingValue(m, "items"); items != nil && strings.HasSuffix(kind.Value, "List") && items.Kind == yaml.SequenceNode {
		var objs []*Object
		for _, it := range items.Content {
			o := lineOrigin(origin, it)
			if it.Kind != yaml.MappingNode {
				return nil, &SourceError{Origin: o, Err: fmt.Errorf("%w: a %s item is a %s, not a mapping", ErrInvalidObject, kind.Value, nodeKindName(it))}
			}
			got, err := objectsOf(it, o, false, newObject)
			if err != nil {
				return nil, err
			}
			objs = append(objs, got...)
		}
		return objs, nil
	}
	o, err := newObject(m, origin)
	if err != nil {
		return nil, err
	}
	return []*Object{o}, nil
}

// CheckSyntax reports whether every document in data parses as YAML (what files that
// are not objects, such as kustomize patches, must do). An error is a *SourceError
// naming file and line, matching ErrSyntax.
func CheckSyntax(data []byte, file string) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return syntaxError(file, doc, err)
		}
	}
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError makes a decoder error in the doc-th document into a SourceError with the
// line, when the decoder's message has one, and the document (after the first, as
// object errors name it).
func syntaxError(file string, doc int, err error) error {
	origin := Origin{File: file}
	if doc > 1 {
		origin.Document = doc
	}
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		origin.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return &SourceError{Origin: origin, Err: fmt.Errorf("%w: %s", ErrSyntax, msg)}
}

// expandAliases replaces every alias in n by a copy of what it points at, so that the
// document no longer depends on the order of its keys.
func expandAliases(n *yaml.Node, origin Origin) (*yaml.Node, error) {
	if !hasAlias(n) {
		return n, nil
	}
	budget := MaxAliasNodes
	var cp func(n *yaml.Node, depth int) (*yaml.Node, error)
	cp = func(n *yaml.Node, depth int) (*yaml.Node, error) {
		budget--
		if budget < 0 {
			return nil, &SourceError{Origin: origin, Err: fmt.Errorf("%w: YAML aliases expand to more than %d nodes", ErrInvalidObject, MaxAliasNodes)}
		}
		if depth > maxDepth {
			return nil, &SourceError{Origin: origin, Err: fmt.Errorf("%w: YAML nested deeper than %d levels", ErrInvalidObject, maxDepth)}
		}
		if n.Kind == yaml.AliasNode {
			if n.Alias == nil {
				return nil, &SourceError{Origin: lineOrigin(origin, n), Err: fmt.Errorf("%w: unknown alias *%s", ErrInvalidObject, n.Value)}
			}
			return cp(n.Alias, depth+1)
		}
		c := *n
		c.Anchor = ""
		if len(n.Content) > 0 {
			c.Content = make([]*yaml.Node, len(n.Content))
			for i, e := range n.Content {
				var err error
				if c.Content[i], err = cp(e, depth+1); err != nil {
					return nil, err
				}
			}
		}
		return &c, nil
	}
	return cp(n, 0)
}

func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}
