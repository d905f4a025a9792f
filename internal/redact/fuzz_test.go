package redact_test

import (
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/redact"
)

// FuzzScrub: whatever the secret value and the text around it, the scrubbed text does
// not contain the value (of at least MinLength bytes), even a value that is, or is
// part of, or overlaps the mask.
func FuzzScrub(f *testing.F) {
	for _, s := range [][3]string{
		{"hunter2", "error: ", " end"},
		{"d]d]", "", "d]d]"},
		{"line one\nline two", "got \"", "\""},
		{"aGVsbG8gd29ybGQ=", "value: ", ""},
		{"[redacted]", "[redac", "ted]"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, value, before, after string) {
		var s redact.Set
		s.AddStringData(value)
		s.AddData(value)
		out := s.Scrub(before + value + after)
		if len(value) >= redact.MinLength && strings.Contains(out, value) {
			t.Fatalf("Scrub(%q) = %q still holds %q", before+value+after, out, value)
		}
	})
}
