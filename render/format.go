package render

import (
	"fmt"
	"path"
	"strings"
	"text/template"
)

// dirSep stands for a "/" of the format's own text while the template runs; "/" in
// values becomes "-" (tk export's rule).
const dirSep = "\x00"

// maxNameLen caps each path segment (file systems allow 255 bytes).
const maxNameLen = 250

// namer turns objects into file paths by a format.
type namer struct {
	format string
	tmpl   *template.Template // nil for DefaultFormat, computed directly
}

func newNamer(format string) (*namer, error) {
	if format == "" {
		format = DefaultFormat
	}
	n := &namer{format: format}
	if format == DefaultFormat {
		return n, nil
	}
	if strings.HasPrefix(format, "/") {
		return nil, &FormatError{Format: format, Err: fmt.Errorf("%w: it is absolute: file names are relative to the output directory", ErrUnsafePath)}
	}
	t, err := template.New("format").Option("missingkey=zero").Parse(markTextSlashes(format))
	if err != nil {
		return nil, &FormatError{Format: format, Err: err}
	}
	n.tmpl = t
	return n, nil
}

// markTextSlashes replaces the "/" of the format's text (outside {{ }} actions) by
// dirSep.
func markTextSlashes(format string) string {
	var b strings.Builder
	for format != "" {
		i := strings.Index(format, "{{")
		if i < 0 {
			b.WriteString(strings.ReplaceAll(format, "/", dirSep))
			break
		}
		b.WriteString(strings.ReplaceAll(format[:i], "/", dirSep))
		j := strings.Index(format[i:], "}}")
		if j < 0 {
			b.WriteString(format[i:])
			break
		}
		b.WriteString(format[i : i+j+2])
		format = format[i+j+2:]
	}
	return b.String()
}

// name returns the slash path (with .yaml) of o's file, relative to its unit's
// directory.
func (n *namer) name(o *Object) (string, error) {
	var raw string
	if n.tmpl == nil {
		raw = o.APIVersion() + "." + o.Kind() + "-" + o.Name()
	} else {
		data, err := o.Value()
		if err != nil {
			return "", err
		}
		if hasNUL(data) {
			// dirSep in a value would cut the name into directories of its choosing.
			data = withoutNUL(data).(map[string]any)
		}
		var b strings.Builder
		if err := n.tmpl.Execute(&b, data); err != nil {
			return "", &FormatError{Format: n.format, Err: err}
		}
		raw = strings.ReplaceAll(b.String(), "<no value>", "")
	}
	var segs []string
	for _, s := range strings.Split(raw, dirSep) {
		s = safeSegment(s)
		switch s {
		case "", ".":
			continue
		case "..":
			return "", fmt.Errorf("%w: file name %q of %s would be outside the output directory", ErrUnsafePath, strings.ReplaceAll(raw, dirSep, "/"), o)
		}
		if len(s) > maxNameLen {
			return "", fmt.Errorf("%w: file name %q of %s is longer than %d bytes", ErrUnsafePath, s, o, maxNameLen)
		}
		segs = append(segs, s)
	}
	if len(segs) == 0 {
		return "", &FormatError{Format: n.format, Err: fmt.Errorf("%w: it gives %s an empty file name", ErrUnsafePath, o)}
	}
	return path.Join(segs...) + ".yaml", nil
}

// safeSegment makes s usable as one path segment that kustomize reads as a local
// file: "/" becomes "-" (tk export's rule), and every byte outside [A-Za-z0-9._-]
// becomes "_" (names of valid objects have none).
func safeSegment(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if !safeByte(s[i]) {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '/':
			b[i] = '-'
		case !safeByte(c):
			b[i] = '_'
		}
	}
	return string(b)
}

func safeByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

// hasNUL reports whether a string of v (an object's value) holds dirSep.
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, dirSep)
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, dirSep) || hasNUL(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// withoutNUL is a copy of v with dirSep in its strings replaced by "_", as safeSegment
// replaces every other byte a file name should not have.
func withoutNUL(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, dirSep, "_")
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[strings.ReplaceAll(k, dirSep, "_")] = withoutNUL(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = withoutNUL(e)
		}
		return l
	}
	return v
}
