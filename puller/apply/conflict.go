package apply

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conflict is one field of a server-side apply conflict.
type conflict struct {
	Field   string // structured-merge-diff path: .spec.template.spec.containers[name="app"].image
	Manager string
}

var conflictManagerRE = regexp.MustCompile(`^conflict with "(.*?)"`)

// conflictsOf reads the fields and managers of a 409 apply conflict.
func conflictsOf(err error) []conflict {
	var se apierrors.APIStatus
	if !errors.As(err, &se) {
		return nil
	}
	st := se.Status()
	if st.Details == nil {
		return nil
	}
	var out []conflict
	for _, c := range st.Details.Causes {
		if c.Type != metav1.CauseTypeFieldManagerConflict {
			continue
		}
		m := conflictManagerRE.FindStringSubmatch(c.Message)
		manager := c.Message
		if m != nil {
			manager = m[1]
		}
		out = append(out, conflict{Field: c.Field, Manager: manager})
	}
	return out
}

// A field path, as structured-merge-diff prints it (fieldpath.Path.String): ".name"
// for a map field, "[k=v,k2=v2]" for the list item with those key values (strings
// quoted as Go does), "[=v]" for a set item, "[3]" for a list index. Map keys may
// contain dots (label keys), so a path is resolved against an object, matching the
// longest key that fits.

// hasPath reports whether the path names something in obj.
func hasPath(obj map[string]any, path string) bool {
	_, _, ok := resolve(obj, path)
	return ok
}

// removePath removes what path names from obj and reports whether it did.
func removePath(obj map[string]any, path string) bool {
	container, at, ok := resolve(obj, path)
	if !ok {
		return false
	}
	switch c := container.(type) {
	case map[string]any:
		delete(c, at.(string))
		return true
	case *listRef:
		i := at.(int)
		l := c.get()
		c.set(append(l[:i:i], l[i+1:]...))
		return true
	}
	return false
}

// listRef points at a list inside its parent, so that items can be removed.
type listRef struct {
	parent any // map[string]any or *listRef
	key    any // string or int
}

func (r *listRef) get() []any {
	switch p := r.parent.(type) {
	case map[string]any:
		l, _ := p[r.key.(string)].([]any)
		return l
	case *listRef:
		return p.get()[r.key.(int)].([]any)
	}
	return nil
}

func (r *listRef) set(l []any) {
	switch p := r.parent.(type) {
	case map[string]any:
		p[r.key.(string)] = l
	case *listRef:
		p.get()[r.key.(int)] = l
	}
}

// resolve walks path in obj and returns the container of the last element (a map, or a
// *listRef) and its key or index there.
func resolve(obj map[string]any, path string) (any, any, bool) {
	var (
		container any = obj
		at        any
		node      any = obj
	)
	for path != "" {
		switch path[0] {
		case '.':
			m, ok := node.(map[string]any)
			if !ok {
				return nil, nil, false
			}
			rest := path[1:]
			best := ""
			for k := range m {
				if len(k) > len(best) && strings.HasPrefix(rest, k) && (len(rest) == len(k) || rest[len(k)] == '.' || rest[len(k)] == '[') {
					best = k
				}
			}
			if best == "" {
				return nil, nil, false
			}
			container, at, node = m, best, m[best]
			path = rest[len(best):]
		case '[':
			l, ok := node.([]any)
			if !ok {
				return nil, nil, false
			}
			end := closingBracket(path)
			if end < 0 {
				return nil, nil, false
			}
			sel := path[1:end]
			i := findItem(l, sel)
			if i < 0 {
				return nil, nil, false
			}
			var ref *listRef
			switch c := container.(type) {
			case map[string]any:
				ref = &listRef{parent: c, key: at}
			case *listRef:
				ref = &listRef{parent: c, key: at}
			default:
				return nil, nil, false
			}
			container, at, node = ref, i, l[i]
			path = path[end+1:]
		default:
			return nil, nil, false
		}
	}
	if at == nil {
		return nil, nil, false
	}
	return container, at, true
}

// closingBracket returns the index of the "]" that closes the "[" at s[0], skipping
// quoted strings.
func closingBracket(s string) int {
	inQuote := false
	for i := 1; i < len(s); i++ {
		switch {
		case inQuote && s[i] == '\\':
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case !inQuote && s[i] == ']':
			return i
		}
	}
	return -1
}

// findItem returns the index of the list item sel selects: "=value", "N", or
// "k=v,k2=v2".
func findItem(l []any, sel string) int {
	if v, ok := strings.CutPrefix(sel, "="); ok {
		for i, item := range l {
			if valueString(item) == v {
				return i
			}
		}
		return -1
	}
	if n, err := strconv.Atoi(sel); err == nil {
		if n >= 0 && n < len(l) {
			return n
		}
		return -1
	}
	pairs := splitPairs(sel)
	if pairs == nil {
		return -1
	}
	for i, item := range l {
		m, ok := item.(map[string]any)
		if !ok {
			continue
		}
		match := true
		for k, v := range pairs {
			if mv, ok := m[k]; !ok || valueString(mv) != v {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}

// splitPairs splits "k=v,k2=v2" (values possibly quoted, with commas inside quotes).
func splitPairs(s string) map[string]string {
	out := map[string]string{}
	for s != "" {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil
		}
		k := s[:eq]
		s = s[eq+1:]
		end := len(s)
		inQuote := false
		for i := 0; i < len(s); i++ {
			if inQuote && s[i] == '\\' {
				i++
				continue
			}
			if s[i] == '"' {
				inQuote = !inQuote
			}
			if !inQuote && s[i] == ',' {
				end = i
				break
			}
		}
		out[k] = s[:end]
		s = strings.TrimPrefix(s[end:], ",")
	}
	return out
}

// valueString prints a scalar the way structured-merge-diff's value.ToString does.
func valueString(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case bool, int64, int, int32:
		return fmt.Sprint(x)
	case float64:
		return fmt.Sprintf("%v", x)
	}
	return fmt.Sprintf("%v", v)
}
