package clikit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/verify"
)

// Exit codes of both programs (docs/cli.md).
const (
	ExitOK          = 0
	ExitError       = 1 // anything not listed below
	ExitUsage       = 2 // bad flags, arguments, references or configuration; unknown command
	ExitDiffers     = 3 // gitless diff: the tree differs from the artifact
	ExitDenied      = 4 // the registry refused the credentials (401/403)
	ExitTagConflict = 5 // an immutable tag points at another digest
	ExitNotFound    = 6 // the repository, tag or digest does not exist
	// ExitVerifyFailed: no signature satisfies the policy (none, invalid, untrusted
	// signer): a security event, never apply.
	ExitVerifyFailed = 7
	// ExitUnavailable: the signature could not be checked (registry or Sigstore
	// unreachable): retry.
	ExitUnavailable = 8
)

// UsageError is a mistake in how the program was called: exit code 2.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usage marks err as a usage error (nil stays nil).
func Usage(err error) error {
	if err == nil {
		return nil
	}
	return &UsageError{Err: err}
}

// Usagef is a new usage error.
func Usagef(format string, a ...any) error { return &UsageError{Err: fmt.Errorf(format, a...)} }

// CodeError ends the program with Code. Quiet ones are not printed: the command said
// what it had to (gitless diff's differences).
type CodeError struct {
	Code  int
	Quiet bool
	Err   error
}

func (e *CodeError) Error() string { return e.Err.Error() }
func (e *CodeError) Unwrap() error { return e.Err }

// ExitCode maps an error from a command to the process exit code.
func ExitCode(err error) int {
	var ce *CodeError
	var ue *UsageError
	var tc *artifact.TagConflictError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ce):
		return ce.Code
	case errors.Is(err, verify.ErrVerificationFailed):
		return ExitVerifyFailed
	case errors.As(err, &ue), errors.Is(err, verify.ErrInvalidPolicy), errors.Is(err, artifact.ErrInvalidReference),
		errors.Is(err, remote.ErrInvalidRange):
		return ExitUsage
	case errors.Is(err, remote.ErrUnauthorized):
		return ExitDenied
	case errors.Is(err, verify.ErrUnavailable):
		return ExitUnavailable
	case errors.As(err, &tc):
		return ExitTagConflict
	case errors.Is(err, remote.ErrNotFound):
		return ExitNotFound
	}
	return ExitError
}

// Program is what a program adds to the kit.
type Program struct {
	// Hints says what a user can do about an error, in the program's own flag names
	// (after CommonHints).
	Hints func(error) []string
	// ExitCode maps the errors only this program returns; ok false leaves err to the
	// kit's ExitCode.
	ExitCode func(error) (code int, ok bool)
}

// Code is the exit code of err: the program's own mapping first, then ExitCode's.
func (p Program) Code(err error) int {
	if p.ExitCode != nil && err != nil {
		if code, ok := p.ExitCode(err); ok {
			return code
		}
	}
	return ExitCode(err)
}

// Main runs root with args and returns the exit code. An error is printed to stderr
// ("Error: ..."), followed by the hints of both the kit (CommonHints) and the program.
// Flag and argument errors and unknown commands are usage errors.
func Main(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer, prog Program) int {
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return Usage(err) })
	// cobra adds help and completion while executing; add them now, so that they refuse
	// unknown topics and shells too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	rejectUnknownHelpTopics(root)
	rejectUnknownCommands(root)
	err := root.ExecuteContext(ctx)
	var ce *CodeError
	if err != nil && !(errors.As(err, &ce) && ce.Quiet) {
		fmt.Fprintf(stderr, "Error: %v\n", err)
		seen := map[string]bool{}
		for _, h := range append(CommonHints(err), hintsOf(prog.Hints, err)...) {
			if !seen[h] {
				seen[h] = true
				fmt.Fprintf(stderr, "Hint: %s\n", h)
			}
		}
	}
	return prog.Code(err)
}

func hintsOf(h func(error) []string, err error) []string {
	if h == nil {
		return nil
	}
	return h(err)
}

// rejectUnknownCommands makes "PROG nope" (and "PROG GROUP nope") a usage error:
// cobra's own message, which is not a flag error, would exit 1.
func rejectUnknownCommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		rejectUnknownCommands(sub)
	}
	// A group that does not run (cobra's completion has Args: NoArgs, but cobra shows
	// the help of a command without Run before it checks arguments).
	if !c.HasSubCommands() || c.Run != nil || c.RunE != nil {
		return
	}
	c.Args = cobra.ArbitraryArgs
	if c.SuggestionsMinimumDistance <= 0 {
		c.SuggestionsMinimumDistance = 2 // what cobra's own message uses
	}
	c.RunE = func(cmd *cobra.Command, a []string) error {
		if len(a) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", a[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(a[0]); len(s) > 0 {
			msg += fmt.Sprintf(" (did you mean %q?)", s[0])
		}
		return Usagef("%s; run '%s --help' for the commands", msg, cmd.CommandPath())
	}
}

// rejectUnknownHelpTopics makes "PROG help nope" a usage error: cobra prints "Unknown
// help topic" and exits 0.
func rejectUnknownHelpTopics(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() != "help" || c.Run == nil {
			continue
		}
		show := c.Run
		c.Run = nil
		c.RunE = func(cmd *cobra.Command, a []string) error {
			if t, rest, err := cmd.Root().Find(a); t == nil || err != nil || len(rest) > 0 {
				return Usagef("unknown help topic %q; run '%s --help' for the commands", strings.Join(a, " "), cmd.Root().Name())
			}
			show(cmd, a)
			return nil
		}
	}
}

// Args wraps a cobra argument check so that its error is a usage error.
func Args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error { return Usage(check(cmd, a)) }
}

// Logger is the debug logger of --verbose, writing to w; nil when not verbose.
func Logger(w io.Writer, verbose bool) *slog.Logger {
	if !verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
