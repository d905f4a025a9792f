package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/gitless-dev/gitless/artifact"
)

// MaxAliasNodes caps the nodes that expanding the aliases of one YAML document may
// create, so that an alias bomb ("billion laughs") is an error, not an outage.
const MaxAliasNodes = 1 << 20

// ParseYAMLOptions configures [ParseYAML].
type ParseYAMLOptions struct {
	// AllowNonObjects skips mappings without apiVersion or kind instead of failing.
	AllowNonObjects bool
	// Hint is added to the error about a mapping that is not a Kubernetes object.
	Hint string
}

// ParseYAML reads a stream of YAML documents into objects. file names the stream in
// origins and errors. Empty documents are skipped; a List (a kind ending in "List"
// with items) gives its items; any other document must be a Kubernetes object.
func ParseYAML(data []byte, file string, opts ParseYAMLOptions) ([]*Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var objs []*Object
	for doc := 1; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return nil, yamlSyntaxError(data, file, err)
		}
		root := &n
		if root.Kind == yaml.DocumentNode {
			if len(root.Content) == 0 {
				continue
			}
			root = root.Content[0]
		}
		origin := Origin{File: file, Line: root.Line}
		if isNull(root) {
			continue
		}
		root, err = expandAliases(root, origin)
		if err != nil {
			return nil, err
		}
		if root.Kind != yaml.MappingNode {
			return nil, &SourceError{Origin: origin, Err: fmt.Errorf("%w: the document is a %s, not a mapping", ErrInvalidObject, nodeKindName(root))}
		}
		got, err := objectsOf(root, origin, opts)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
}

// objectsOf turns a mapping into its objects: itself, or a List's items.
func objectsOf(m *yaml.Node, origin Origin, opts ParseYAMLOptions) ([]*Object, error) {
	av, kind := mapGet(m, "apiVersion"), mapGet(m, "kind")
	if av == nil || kind == nil {
		if opts.AllowNonObjects {
			return nil, nil
		}
		err := fmt.Errorf("%w: a mapping without apiVersion and kind is not a Kubernetes object", ErrInvalidObject)
		if opts.Hint != "" {
			err = fmt.Errorf("%w (%s)", err, opts.Hint)
		}
		return nil, &SourceError{Origin: origin, Err: err}
	}
	if items := mapGet(m, "items"); items != nil && strings.HasSuffix(kind.Value, "List") && items.Kind == yaml.SequenceNode {
		var objs []*Object
		for _, it := range items.Content {
			o := lineOrigin(origin, it)
			if it.Kind != yaml.MappingNode {
				return nil, &SourceError{Origin: o, Err: fmt.Errorf("%w: a %s item is a %s, not a mapping", ErrInvalidObject, kind.Value, nodeKindName(it))}
			}
			got, err := objectsOf(it, o, ParseYAMLOptions{Hint: opts.Hint})
			if err != nil {
				return nil, err
			}
			objs = append(objs, got...)
		}
		return objs, nil
	}
	o, err := NewObject(m, origin)
	if err != nil {
		return nil, err
	}
	return []*Object{o}, nil
}

// yamlSyntaxError makes a decoder error into a SourceError with the line, using
// artifact.CheckYAML's reading of yaml.v3's messages.
func yamlSyntaxError(data []byte, file string, err error) error {
	var fe *artifact.FileError
	if errors.As(artifact.CheckYAML(data), &fe) {
		return &SourceError{Origin: Origin{File: file, Line: fe.Line}, Err: fe.Err}
	}
	return &SourceError{Origin: Origin{File: file}, Err: fmt.Errorf("invalid YAML: %w", err)}
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
