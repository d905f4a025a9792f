package manifest

import (
	"bytes"
	"sync"
)

// quickObjects is the check of [CheckFiles] for the YAML most trees are made of: block
// style, as kubectl, Helm, kustomize, Tanka and gitless render write it. It reads a
// stream line by line, without building nodes, and either returns the stream's objects
// (identity and origin only), which yaml.v3 and the checks of NewObject would also have
// accepted, or ok == false: the stream uses something outside that subset, or might be
// invalid, and the caller parses it with yaml.v3 (checkYAML), which gives the verdict
// and the error. It never rejects; it only proves valid.
//
// The subset: ASCII without control characters (tabs and carriage returns included),
// documents separated by "---" lines, full-line and trailing comments, block mappings
// whose keys are plain scalars, block sequences (also unindented under a key), values
// that are plain scalars on one line, single- or double-quoted scalars on one line, the
// empty flow collections {} and [], and literal or folded block scalars (|, |-, |+, >,
// >-, >+) whose content is skipped unread. Anchors, aliases, tags, flow collections,
// quoted or complex keys, multi-line plain or quoted scalars, directives and document
// end markers send the stream to yaml.v3, as do Lists (kind *List) and
// CustomResourceDefinitions (whose scope the check learns from the full node).
//
// Keys are checked for duplicates in every mapping, at every depth; the identity fields
// (apiVersion, kind, metadata.name and metadata.namespace) must be non-empty plain
// scalars that resolve to strings (starting with a letter, not true, false or null) or
// quoted scalars. FuzzQuickObjects holds this to yaml.v3's verdict.
func quickObjects(data []byte, file string) ([]*Object, bool) {
	for _, c := range data {
		if c >= 0x7f || (c < 0x20 && c != '\n') {
			return nil, false
		}
	}
	q := quickPool.Get().(*quick)
	defer quickPool.Put(q)
	q.reset(file)
	line := 0
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i], data[i+1:]
		}
		line++
		if q.block >= 0 {
			// inside a block scalar: empty lines, and lines indented at least as much
			// as its first one (which must be more than its parent), are its content
			if len(l) == 0 {
				continue
			}
			n := indent(l)
			if n == len(l) {
				return nil, false // a line of spaces only: yaml.v3 has rules about those
			}
			if q.blockIndent < 0 && n > q.block {
				q.blockIndent = n
			}
			if q.blockIndent >= 0 && n >= q.blockIndent {
				continue
			}
			if n > q.block {
				return nil, false // less indented than the content, more than the parent
			}
			q.block = -1
		}
		if !q.readLine(l, line) {
			return nil, false
		}
	}
	if !q.endDocument() {
		return nil, false
	}
	return q.objs, true
}

// Limits of the quick path: deeper documents and longer keys go to yaml.v3, which has
// limits of its own there.
const (
	maxQuickDepth = 100
	maxQuickKey   = 512
)

// quickPool keeps the states of quickObjects, whose container arenas then serve many
// files.
var quickPool = sync.Pool{New: func() any { return &quick{} }}

// reset readies q for another stream, keeping its arena.
func (q *quick) reset(file string) {
	*q = quick{file: file, block: -1, arena: q.arena, stack: q.stack[:0]}
}

// quick is the state of quickObjects.
type quick struct {
	file        string
	objs        []*Object
	block       int // the parent indentation of the block scalar being skipped; -1 when none
	blockIndent int // the indentation of its content, once its first line was seen

	arena []*container // containers, reused from one document to the next
	used  int

	doc     int  // number of the document being read
	open    bool // a document has started (explicitly or by content)
	stack   []*container
	pending *container // a container whose last key or item has no value yet
	// the identity of the document's object
	rootLine                          int
	apiVersion, kind, name, namespace string
	haveNamespace                     bool
	metadata                          *container
}

// newContainer returns a cleared container of the arena.
func (q *quick) newContainer(indent int, mapping bool, parent *container) *container {
	if q.used == len(q.arena) {
		q.arena = append(q.arena, &container{})
	}
	c := q.arena[q.used]
	q.used++
	*c = container{indent: indent, mapping: mapping, parent: parent, keys: c.keys[:0]}
	return c
}

// container is a block mapping or sequence being read.
type container struct {
	indent   int
	mapping  bool
	unindent bool     // a sequence at the indentation of its parent key
	keys     [][]byte // slices of the stream: no copies
	parent   *container
	key      []byte // the key in parent this container is the value of (nil in a sequence)
}

func indent(l []byte) int {
	n := 0
	for n < len(l) && l[n] == ' ' {
		n++
	}
	return n
}

func (q *quick) readLine(l []byte, lineNo int) bool {
	n := indent(l)
	rest := l[n:]
	if len(rest) == 0 || rest[0] == '#' {
		return true // blank or comment
	}
	if n == 0 && (bytes.HasPrefix(l, []byte("---")) || bytes.HasPrefix(l, []byte("..."))) {
		if !bytes.Equal(bytes.TrimRight(l, " "), []byte("---")) {
			return false
		}
		if q.open && !q.endDocument() {
			return false
		}
		q.doc++
		q.open = true
		q.block = -1
		return true
	}
	if rest[0] == '%' && n == 0 {
		return false // a directive
	}
	if !q.open {
		q.doc++
		q.open = true
	}
	return q.content(rest, n, lineNo)
}

// content reads a line's content at indentation n: "- ..." or "key: ...".
func (q *quick) content(rest []byte, n, lineNo int) bool {
	seqItem := rest[0] == '-' && (len(rest) == 1 || rest[1] == ' ')
	// close the containers this line is outside of
	for len(q.stack) > 0 {
		top := q.stack[len(q.stack)-1]
		if top.indent > n || (top.indent == n && top.unindent && !seqItem) {
			q.stack = q.stack[:len(q.stack)-1]
			q.pending = nil
			continue
		}
		break
	}
	var top *container
	if len(q.stack) > 0 {
		top = q.stack[len(q.stack)-1]
	}
	switch {
	case top == nil:
		if n != 0 || seqItem || q.rootLine != 0 {
			return false // the document is not a mapping at the left margin, or a second root
		}
		q.rootLine = lineNo
		top = q.newContainer(0, true, nil)
		q.stack = append(q.stack, top)
	case top.indent == n && top.mapping == !seqItem:
		if q.pending == top {
			q.pending = nil // the previous key or item had an empty (null) value
		}
	case q.pending == top && (top.indent < n || (top.mapping && seqItem && top.indent == n)):
		// the nested value of the pending key or item
		c := q.newContainer(n, !seqItem, top)
		c.unindent = top.indent == n
		if top.mapping {
			c.key = top.keys[len(top.keys)-1]
		}
		q.noteContainer(c)
		q.stack = append(q.stack, c)
		if len(q.stack) > maxQuickDepth {
			return false
		}
		q.pending = nil
		top = c
	default:
		return false
	}
	if seqItem {
		if len(rest) == 1 {
			q.pending = top
			return true
		}
		// "- key: value" starts a mapping two columns in; "- value" is a scalar item
		item := rest[2:]
		if isKeyStart(item) {
			if _, _, ok := splitKey(item); ok {
				c := q.newContainer(n+2, true, top)
				q.stack = append(q.stack, c)
				return q.entry(c, item, lineNo)
			}
		}
		return q.value(item, top, n)
	}
	return q.entry(top, rest, lineNo)
}

// entry reads "key: value" into the mapping m.
func (q *quick) entry(m *container, rest []byte, lineNo int) bool {
	if !isKeyStart(rest) {
		return false
	}
	key, val, ok := splitKey(rest)
	if !ok {
		return false
	}
	if len(key) > maxQuickKey {
		return false // yaml.v3 limits implicit keys to 1024 characters
	}
	if rest[0] != '"' && rest[0] != '\'' && isNullPlain(key) {
		return false // a null key: the object check refuses it, with the line
	}
	for _, seen := range m.keys {
		if bytes.Equal(seen, key) {
			return false // a key twice: yaml.v3's path says so, with the line
		}
	}
	m.keys = append(m.keys, key)
	q.noteKey(m, key, val)
	return q.value(val, m, m.indent)
}

// value reads the value after "key:" or "- " of container c at indentation n.
func (q *quick) value(val []byte, c *container, n int) bool {
	if raw := bytes.TrimLeft(val, " "); len(raw) > 0 && (raw[0] == '[' || raw[0] == '{') {
		return flowCollection(raw)
	}
	val = trimComment(val)
	if len(val) == 0 {
		q.pending = c
		return true
	}
	switch val[0] {
	case '|', '>':
		for _, b := range val[1:] {
			if b != '-' && b != '+' {
				return false // indentation indicators, or something after the header
			}
		}
		if len(val) > 2 {
			return false
		}
		q.block, q.blockIndent = n, -1
		return true
	case '"':
		return doubleQuoted(val)
	case '\'':
		return singleQuoted(val)
	}
	return plainScalar(val)
}

// flowCollection reports whether v is a one-line flow sequence of scalars ([a, "b"]) or
// flow mapping of plain keys to scalars ({a: 1, b: "c"}, no key twice), nothing nested,
// followed by a comment at most.
func flowCollection(v []byte) bool {
	mapping := v[0] == '{'
	closer := byte(']')
	if mapping {
		closer = '}'
	}
	var keys []string
	i := 1
	skip := func() {
		for i < len(v) && v[i] == ' ' {
			i++
		}
	}
	skip()
	if i < len(v) && v[i] == closer {
		return endOfScalar(v[i+1:])
	}
	for {
		skip()
		if mapping {
			start := i
			for i < len(v) && isFlowPlain(v[i]) && v[i] != ':' {
				i++
			}
			if i == start || i+1 >= len(v) || v[i] != ':' || v[i+1] != ' ' || !isKeyStart(v[start:i]) {
				return false
			}
			k := string(v[start:i])
			if isNullPlain(v[start:i]) {
				return false
			}
			for _, seen := range keys {
				if seen == k {
					return false
				}
			}
			keys = append(keys, k)
			i += 2
			skip()
		}
		end, ok := flowScalar(v, i)
		if !ok {
			return false
		}
		i = end
		skip()
		switch {
		case i < len(v) && v[i] == ',':
			i++
		case i < len(v) && v[i] == closer:
			return endOfScalar(v[i+1:])
		default:
			return false
		}
	}
}

// flowScalar scans a scalar in a flow collection starting at v[i] and returns where
// it ends: a quoted one, or a plain one without flow indicators, ": " or " #".
func flowScalar(v []byte, i int) (int, bool) {
	if i >= len(v) {
		return 0, false
	}
	switch v[i] {
	case '"', '\'':
		j := i + 1
		for ; j < len(v); j++ {
			if v[j] == '\\' && v[i] == '"' {
				j++
				if j == len(v) || bytes.IndexByte([]byte(`0abtnvfre "/\N_LP`), v[j]) < 0 {
					return 0, false
				}
				continue
			}
			if v[j] == v[i] {
				if v[i] == '\'' && j+1 < len(v) && v[j+1] == '\'' {
					j++
					continue
				}
				return j + 1, true
			}
		}
		return 0, false
	}
	start := i
	for i < len(v) && isFlowPlain(v[i]) {
		if v[i] == ':' && (i+1 == len(v) || v[i+1] == ' ' || !isFlowPlain(v[i+1])) {
			return 0, false
		}
		if v[i] == ' ' && i+1 < len(v) && v[i+1] == '#' {
			return 0, false
		}
		i++
	}
	s := bytes.TrimRight(v[start:i], " ")
	if len(s) == 0 || !plainScalar(s) {
		return 0, false
	}
	return start + len(s), true
}

// isFlowPlain reports whether c may be part of a plain scalar in a flow collection.
func isFlowPlain(c byte) bool {
	switch c {
	case ',', '[', ']', '{', '}':
		return false
	}
	return true
}

// noteKey records the identity fields of the document's object.
func (q *quick) noteKey(m *container, k, val []byte) {
	switch {
	case m.parent == nil && len(q.stack) > 0 && q.stack[0] == m:
		switch string(k) {
		case "apiVersion":
			q.apiVersion = identityValue(val)
		case "kind":
			q.kind = identityValue(val)
		}
	case m == q.metadata:
		switch string(k) {
		case "name":
			q.name = identityValue(val)
		case "namespace":
			q.namespace, q.haveNamespace = identityValue(val), true
		}
	}
}

// noteContainer remembers the root mapping's metadata.
func (q *quick) noteContainer(c *container) {
	if c.mapping && string(c.key) == "metadata" && c.parent == q.stack[0] {
		q.metadata = c
	}
}

// endDocument turns the document read into an object, or says it cannot.
func (q *quick) endDocument() bool {
	defer func() {
		q.stack, q.pending, q.metadata, q.rootLine, q.used = q.stack[:0], nil, nil, 0, 0
		q.apiVersion, q.kind, q.name, q.namespace, q.haveNamespace = "", "", "", "", false
	}()
	if q.rootLine == 0 {
		return true // an empty document
	}
	if q.apiVersion == "" || q.kind == "" || q.name == "" || (q.haveNamespace && q.namespace == "") ||
		q.kind == "CustomResourceDefinition" || len(q.kind) >= 4 && q.kind[len(q.kind)-4:] == "List" {
		return false
	}
	o := &Object{Origin: Origin{File: q.file, Line: q.rootLine}, apiVersion: q.apiVersion, kind: q.kind, name: q.name, namespace: q.namespace}
	if q.doc > 1 {
		o.Origin.Document = q.doc
	}
	q.objs = append(q.objs, o)
	return true
}

// isNullPlain reports whether the plain scalar s resolves to null in YAML 1.2's core
// schema, as yaml.v3 resolves it.
func isNullPlain(s []byte) bool {
	switch string(s) {
	case "~", "null", "Null", "NULL":
		return true
	}
	return false
}

// isKeyStart reports whether a key the quick path reads may start s: a plain or a
// quoted one (not a complex, anchored or flow key, nor an item).
func isKeyStart(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	switch s[0] {
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`', ' ':
		return false
	}
	return true
}

// splitKey splits "key: value" or "key:" into the key's value and what follows the
// colon. The key is a plain scalar without spaces, colons followed by a space, or
// comments; or a quoted scalar without escapes or quotes inside.
func splitKey(s []byte) (key, val []byte, ok bool) {
	if s[0] == '"' || s[0] == '\'' {
		end := bytes.IndexByte(s[1:], s[0]) + 1
		if end <= 1 || bytes.ContainsAny(s[1:end], `"'\`) {
			return nil, nil, false
		}
		rest := s[end+1:]
		switch {
		case len(rest) == 1 && rest[0] == ':':
			return s[1:end], nil, true
		case len(rest) >= 2 && rest[0] == ':' && rest[1] == ' ':
			return s[1:end], rest[2:], true
		}
		return nil, nil, false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ':':
			if i+1 == len(s) {
				return s[:i], nil, i > 0
			}
			if s[i+1] == ' ' {
				return s[:i], s[i+2:], i > 0
			}
		case ' ', '#', ',', '[', ']', '{', '}':
			return nil, nil, false
		}
	}
	return nil, nil, false
}

// trimComment drops leading spaces, a trailing " #comment" and trailing spaces. It
// leaves quoted scalars to their own scan.
func trimComment(v []byte) []byte {
	v = bytes.TrimLeft(v, " ")
	if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
		return bytes.TrimRight(v, " ")
	}
	if len(v) > 0 && v[0] == '#' {
		return nil
	}
	if i := bytes.Index(v, []byte(" #")); i >= 0 {
		v = v[:i]
	}
	return bytes.TrimRight(v, " ")
}

// plainScalar reports whether v is a one-line plain scalar that yaml.v3 reads as such.
func plainScalar(v []byte) bool {
	switch v[0] {
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	case '-', '?', ':':
		if len(v) == 1 || v[1] == ' ' {
			return false
		}
	}
	if v[len(v)-1] == ':' || bytes.Contains(v, []byte(": ")) {
		return false
	}
	return true
}

// doubleQuoted reports whether v is exactly one double-quoted scalar, with the
// escapes YAML defines that need no more than the next byte, and a trailing comment
// at most.
func doubleQuoted(v []byte) bool {
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
			if i == len(v) || bytes.IndexByte([]byte(`0abtnvfre "/\N_LP`), v[i]) < 0 {
				return false
			}
		case '"':
			return endOfScalar(v[i+1:])
		}
	}
	return false
}

// singleQuoted reports whether v is exactly one single-quoted scalar (” for a quote).
func singleQuoted(v []byte) bool {
	for i := 1; i < len(v); i++ {
		if v[i] == '\'' {
			if i+1 < len(v) && v[i+1] == '\'' {
				i++
				continue
			}
			return endOfScalar(v[i+1:])
		}
	}
	return false
}

// endOfScalar reports whether what follows a quoted scalar is nothing, or a comment.
func endOfScalar(rest []byte) bool {
	rest = bytes.TrimLeft(rest, " ")
	return len(rest) == 0 || (rest[0] == '#' && len(rest) > 0)
}

// identityValue is the string value of an identity field when it is certainly a
// string yaml.v3 reads the same way; "" otherwise (the caller then leaves the
// document to yaml.v3).
func identityValue(val []byte) string {
	v := trimComment(val)
	if len(v) == 0 {
		return ""
	}
	switch v[0] {
	case '"', '\'':
		// quoted: only the simple ones, whose value is what is between the quotes
		if len(v) < 3 || v[len(v)-1] != v[0] || bytes.ContainsAny(v[1:len(v)-1], `"'\`) {
			return ""
		}
		return string(v[1 : len(v)-1])
	}
	if !(v[0] >= 'a' && v[0] <= 'z' || v[0] >= 'A' && v[0] <= 'Z') {
		return ""
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '/' || c == ':') {
			return ""
		}
	}
	switch string(v) {
	case "true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL":
		return ""
	}
	return string(v)
}
