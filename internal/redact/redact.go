// Package redact keeps the values of Kubernetes Secrets out of text: the one place
// where gitless-puller scrubs every error that leaves a sync (status annotations,
// Events, logs, /readyz, -o json) and every log record.
//
// Values are learned from what an artifact holds: the data and stringData of every
// Secret (from the extracted files before the build, and from the built objects after
// it), and the inputs of kustomize secretGenerators (literals, env files, files). Each
// is scrubbed in every form an error could quote it: as written, base64-decoded (data)
// or encoded (stringData), Go- and JSON-quoted, and line by line. Values shorter than
// MinLength bytes are not scrubbed: they would turn ordinary words into noise and are
// no secret.
//
//	var s redact.Set
//	s.AddTree(ctx, dir)             // after extraction, before the build
//	s.AddObject(obj.Object)         // each built object
//	err = s.Error(err)              // before the error is recorded anywhere
//	log := slog.New(redact.Handler(h, s.Scrub))
package redact

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MinLength is the shortest value that is scrubbed.
const MinLength = 4

// Mask replaces every secret value; when a value is part of it, the first of
// altMasks that holds no value is used instead.
const Mask = "[redacted]"

// altMasks stand in for Mask; the last is shorter than MinLength, so no value can be
// part of it.
var altMasks = []string{"[secret]", "[masked]", "[?]"}

// Withheld is what Scrub returns when masking does not settle: values that overlap
// their mask ("d]d]" around "[redacted]d]"). No value can be part of it.
const Withheld = "[?]"

// Set is a set of secret values. The zero value is empty and ready; it is safe for
// concurrent use.
type Set struct {
	mu       sync.Mutex
	values   map[string]struct{}
	replacer *strings.Replacer // nil when stale
}

// Len is the number of values (in all their forms) held.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.values)
}

// Add adds a value in every form an error may quote it.
func (s *Set) Add(v string) {
	forms := forms(v)
	if len(forms) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]struct{}{}
	}
	for _, f := range forms {
		if _, ok := s.values[f]; !ok {
			s.values[f] = struct{}{}
			s.replacer = nil
		}
	}
}

// AddAll adds every value of o.
func (s *Set) AddAll(o *Set) {
	if o == nil || o == s {
		return
	}
	o.mu.Lock()
	vals := make([]string, 0, len(o.values))
	for v := range o.values {
		vals = append(vals, v)
	}
	o.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.values == nil {
		s.values = map[string]struct{}{}
	}
	for _, v := range vals {
		if _, ok := s.values[v]; !ok {
			s.values[v] = struct{}{}
			s.replacer = nil
		}
	}
}

func forms(v string) []string {
	if len(v) < MinLength {
		return nil
	}
	out := []string{v}
	add := func(f string) {
		if len(f) >= MinLength {
			out = append(out, f)
		}
	}
	q := strconv.Quote(v)
	add(q[1 : len(q)-1])
	if j, err := json.Marshal(v); err == nil {
		add(string(j[1 : len(j)-1]))
	}
	if strings.ContainsAny(v, "\r\n") {
		for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
			add(strings.TrimSpace(line))
		}
	}
	return out
}

// AddData adds a Secret's data value: the base64 text and what it decodes to.
func (s *Set) AddData(v string) {
	s.Add(v)
	if b, err := base64.StdEncoding.DecodeString(v); err == nil {
		s.Add(string(b))
	}
}

// AddStringData adds a Secret's stringData value, and its base64 form (what the
// apiserver stores and may quote).
func (s *Set) AddStringData(v string) {
	s.Add(v)
	s.Add(base64.StdEncoding.EncodeToString([]byte(v)))
}

// AddObject adds the data and stringData values of obj when it is a core/v1 Secret
// (an object as JSON decodes it). Values of the wrong type (a number, a list: which
// the apiserver quotes when it refuses them) are added as Go prints them, leaf by
// leaf.
func (s *Set) AddObject(obj map[string]any) {
	if !IsSecret(obj["apiVersion"], obj["kind"]) {
		return
	}
	for _, field := range []string{"data", "stringData"} {
		m, ok := obj[field].(map[string]any)
		if !ok {
			s.addLeaves(obj[field])
			continue
		}
		for _, v := range m {
			switch x := v.(type) {
			case string:
				if field == "data" {
					s.AddData(x)
				} else {
					s.AddStringData(x)
				}
			default:
				s.addLeaves(x)
			}
		}
	}
}

// addLeaves adds every scalar under v, as Go formats it.
func (s *Set) addLeaves(v any) {
	switch x := v.(type) {
	case nil:
	case map[string]any:
		for _, e := range x {
			s.addLeaves(e)
		}
	case []any:
		for _, e := range x {
			s.addLeaves(e)
		}
	case string:
		s.Add(x)
	default:
		s.Add(fmt.Sprint(x))
	}
}

// IsSecret reports whether apiVersion and kind (as decoded) name a core/v1 Secret.
func IsSecret(apiVersion, kind any) bool {
	return apiVersion == "v1" && kind == "Secret"
}

// Scrub returns text with every value replaced by Mask.
func (s *Set) Scrub(text string) string {
	if text == "" {
		return text
	}
	s.mu.Lock()
	if len(s.values) == 0 {
		s.mu.Unlock()
		return text
	}
	r := s.replacer
	if r == nil {
		vals := make([]string, 0, len(s.values))
		for v := range s.values {
			vals = append(vals, v)
		}
		// Longest first: at one position, strings.Replacer takes the first match in
		// argument order, so a value is masked whole, not a shorter one inside it.
		sort.Slice(vals, func(i, j int) bool {
			if len(vals[i]) != len(vals[j]) {
				return len(vals[i]) > len(vals[j])
			}
			return vals[i] < vals[j]
		})
		mask := Mask
		for _, m := range altMasks {
			if !containsAny(mask, vals) {
				break
			}
			mask = m
		}
		pairs := make([]string, 0, 2*len(vals))
		for _, v := range vals {
			pairs = append(pairs, v, mask)
		}
		r = strings.NewReplacer(pairs...)
		s.replacer = r
	}
	s.mu.Unlock()
	// A pass that replaces nothing proves no value is left. A value that overlaps the
	// mask ("d]d]" in "[redacted]d]") can reappear after a pass: pass again, and
	// withhold the text rather than loop.
	for range 4 {
		next := r.Replace(text)
		if next == text {
			return text
		}
		text = next
	}
	return Withheld
}

func containsAny(s string, vals []string) bool {
	for _, v := range vals {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// Error returns err, or, when its text holds a value, an error whose text is
// scrubbed. The scrubbed error still matches what err matched with errors.Is, but
// does not unwrap: errors.As cannot reach the text of the errors inside.
func (s *Set) Error(err error) error {
	return ErrorWith(err, s.Scrub)
}

// ErrorWith returns err, or, when scrub changes its text, an error whose text is the
// scrubbed one and that matches what err matches with errors.Is, without unwrapping to
// it (errors.As cannot reach the text inside).
func ErrorWith(err error, scrub func(string) string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := scrub(msg); clean != msg {
		return &scrubbed{msg: clean, err: err}
	}
	return err
}

type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string        { return e.msg }
func (e *scrubbed) Is(target error) bool { return errors.Is(e.err, target) }
