package manifest_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/manifest"
)

// A file or object name with a line break is quoted in errors, so that it cannot start
// a line of a CI log of its own ("::warning::" is a command to GitHub's runner).
func TestSourceErrorQuotesControlCharacters(t *testing.T) {
	err := &manifest.SourceError{Origin: manifest.Origin{File: "x\n::warning title=pwn::injected.yaml", Line: 1}, Object: "v1 ConfigMap ns/a\r\n::error::b", Err: errors.New("invalid YAML")}
	if strings.ContainsAny(err.Error(), "\r\n") || !strings.Contains(err.Error(), `"x\n::warning title=pwn::injected.yaml":1`) {
		t.Fatalf("%q", err.Error())
	}
	plain := &manifest.SourceError{Origin: manifest.Origin{File: "deploy/a b.yaml", Line: 2}, Err: errors.New("invalid YAML")}
	if plain.Error() != "deploy/a b.yaml:2: invalid YAML" {
		t.Fatalf("%q", plain.Error())
	}
}
