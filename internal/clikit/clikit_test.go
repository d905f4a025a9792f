package clikit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/verify"
)

func TestExitCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
	}{
		{nil, 0},
		{errors.New("x"), clikit.ExitError},
		{clikit.Usagef("bad"), clikit.ExitUsage},
		{fmt.Errorf("wrapped: %w", artifact.ErrInvalidReference), clikit.ExitUsage},
		{&verify.PolicyError{Field: "keys[0]", Err: errors.New("x")}, clikit.ExitUsage},
		{&remote.AuthError{StatusCode: 401, Err: errors.New("x")}, clikit.ExitDenied},
		{&artifact.TagConflictError{Tag: "v1"}, clikit.ExitTagConflict},
		{fmt.Errorf("tag: %w", remote.ErrNotFound), clikit.ExitNotFound},
		{&verify.VerificationError{Err: verify.ErrNoSignatures}, clikit.ExitVerifyFailed},
		{fmt.Errorf("%w: x", verify.ErrUnavailable), clikit.ExitUnavailable},
		{&clikit.CodeError{Code: clikit.ExitDiffers, Err: errors.New("d")}, clikit.ExitDiffers},
	} {
		if got := clikit.ExitCode(c.err); got != c.code {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.code)
		}
	}
}

func root() *cobra.Command {
	r := &cobra.Command{Use: "prog", SilenceErrors: true, SilenceUsage: true}
	r.AddCommand(&cobra.Command{Use: "push", Args: clikit.Args(cobra.NoArgs), RunE: func(*cobra.Command, []string) error {
		return &verify.VerificationError{Err: verify.ErrVerificationFailed, NoTlogEntry: 1}
	}})
	key := &cobra.Command{Use: "key"}
	key.AddCommand(&cobra.Command{Use: "generate", RunE: func(*cobra.Command, []string) error { return nil }})
	r.AddCommand(key)
	return r
}

// Unknown commands, flags and arguments are usage errors; the kit's hints and the
// program's are printed after the error.
func TestMain(t *testing.T) {
	var errb bytes.Buffer
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nope"}, clikit.ExitUsage, `unknown command "nope" for "prog"`},
		{[]string{"pus"}, clikit.ExitUsage, `did you mean "push"?`},
		{[]string{"push", "--nope"}, clikit.ExitUsage, "unknown flag: --nope"},
		{[]string{"push", "arg"}, clikit.ExitUsage, "unknown command"},
		{[]string{"key", "nope"}, clikit.ExitUsage, `unknown command "nope" for "prog key"`},
		{[]string{"help", "nope"}, clikit.ExitUsage, `unknown help topic "nope"`},
		{[]string{"help", "key", "nope"}, clikit.ExitUsage, `unknown help topic "key nope"`},
		{[]string{"help", "key"}, clikit.ExitOK, ""},
		{[]string{"completion", "nope"}, clikit.ExitUsage, `unknown command "nope" for "prog completion"`},
		{[]string{"completion", "bash"}, clikit.ExitOK, ""},
		{[]string{"push"}, clikit.ExitVerifyFailed, "Hint: a signature made without a transparency-log entry (--tlog-upload=false) verifies with --insecure-ignore-tlog\nHint: mine\n"},
	} {
		errb.Reset()
		code := clikit.Main(context.Background(), root(), c.args, &errb, clikit.Program{Hints: func(error) []string { return []string{"mine"} }})
		if code != c.code || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, errb.String(), c.code, c.want)
		}
	}
}

func TestOutput(t *testing.T) {
	var warn bytes.Buffer
	o := clikit.Output{}
	fs := root().Flags()
	o.AddFlags(fs)
	fs.Parse([]string{"-o", "yaml"})
	if err := o.Resolve(nil, &warn); err != nil || !o.Structured() {
		t.Fatalf("-o yaml: %v", err)
	}
	var out bytes.Buffer
	o.Write(&out, map[string]any{"digest": "sha256:x", "tags": []string{"a"}})
	if out.String() != "digest: sha256:x\ntags:\n- a\n" {
		t.Fatalf("yaml: %q", out.String())
	}
	fs.Parse([]string{"-o", "table"})
	if err := o.Resolve(nil, &warn); clikit.ExitCode(err) != clikit.ExitUsage {
		t.Fatalf("-o table: %v", err)
	}

	// Where -o named a path, the old form still works, with a warning.
	p := clikit.Output{PathFlag: "out"}
	fs = root().Flags()
	p.AddFlags(fs)
	fs.Parse([]string{"-o", "dir/out"})
	var path string
	if err := p.Resolve(&path, &warn); err != nil || path != "dir/out" || p.Structured() || !strings.Contains(warn.String(), "use --out dir/out") {
		t.Fatalf("-o PATH: %v, %q, %q", err, path, warn.String())
	}
	// A format of another tool, or ours misspelt, is refused rather than written as a
	// file of that name; a bare word that is no format is still the old -o PATH.
	for v, isPath := range map[string]bool{"JSON": false, "yml": false, "wide": false, "jsonpath={.digest}": false, "out": true, "./wide": true, "template": true, "name": true} {
		p = clikit.Output{PathFlag: "out"}
		fs = root().Flags()
		p.AddFlags(fs)
		fs.Parse([]string{"-o", v})
		path = ""
		err := p.Resolve(&path, &warn)
		if isPath != (err == nil && path == v) || !isPath && clikit.ExitCode(err) != clikit.ExitUsage {
			t.Errorf("-o %s: %v, path %q; want a path %v", v, err, path, isPath)
		}
	}
	p = clikit.Output{PathFlag: "out"}
	fs = root().Flags()
	p.AddFlags(fs)
	fs.Parse([]string{"--json"})
	if err := p.Resolve(&path, &warn); err != nil || p.Format() != "json" {
		t.Fatalf("--json: %v", err)
	}
	p = clikit.Output{PathFlag: "out"}
	fs = root().Flags()
	p.AddFlags(fs)
	fs.Parse([]string{"-o", "x", "--out", "y"})
	path = "y"
	if err := p.Resolve(&path, &warn); clikit.ExitCode(err) != clikit.ExitUsage {
		t.Fatalf("-o PATH with --out: %v", err)
	}
}

// docs/cli.md's exit code table lists exactly the codes the programs use.
func TestExitCodesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	var documented []int
	for _, m := range regexp.MustCompile(`(?m)^\| ([0-9]) \|`).FindAllStringSubmatch(string(doc), -1) {
		n, _ := strconv.Atoi(m[1])
		documented = append(documented, n)
	}
	used := []int{clikit.ExitOK, clikit.ExitError, clikit.ExitUsage, clikit.ExitDiffers, clikit.ExitDenied,
		clikit.ExitTagConflict, clikit.ExitNotFound, clikit.ExitVerifyFailed, clikit.ExitUnavailable}
	if !slices.Equal(documented, used) {
		t.Fatalf("docs/cli.md documents exit codes %v; the programs use %v", documented, used)
	}
}

// A registry that answers HTTPS in plain HTTP gets the --insecure hint, whichever of Go's
// two messages says so.
func TestInsecureHint(t *testing.T) {
	for _, msg := range []string{
		`Get "https://r.example/v2/": http: server gave HTTP response to HTTPS client`,
		`Get "https://r.example/v2/": tls: first record does not look like a TLS handshake`,
	} {
		h := clikit.CommonHints(fmt.Errorf("pushing: %w", errors.New(msg)))
		if len(h) != 1 || !strings.Contains(h[0], "--insecure") {
			t.Errorf("%s: hints %q", msg, h)
		}
	}
	if h := clikit.CommonHints(errors.New("tls: failed to verify certificate")); len(h) != 0 {
		t.Errorf("a certificate error: hints %q", h)
	}
}
