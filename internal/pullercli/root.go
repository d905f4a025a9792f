package pullercli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	buildversion "github.com/gitless-dev/gitless/internal/version"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/verify"
)

// Env is what the commands get from the outside world; tests replace all of it.
type Env struct {
	Out, Err io.Writer
	Getenv   func(string) string
}

// OSEnv binds Env to the process.
func OSEnv() Env { return Env{Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv} }

// version is the binary's version, stamped at link time (internal/version).
func version() string { return buildversion.String() }

type globalFlags struct{ verbose bool }

func (g *globalFlags) logger(env Env) *slog.Logger {
	if !g.verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(env.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// NewCommand returns the root command of gitless-puller.
func NewCommand(env Env) *cobra.Command {
	g := &globalFlags{}
	k := &kubeFlags{}
	root := &cobra.Command{
		Use:   "gitless-puller",
		Short: "Pull, verify and apply signed OCI artifacts of Kubernetes manifests",
		Long: `gitless-puller keeps a cluster equal to signed OCI artifacts: it resolves each source's
tag to a digest, verifies the signature of that digest, fetches and extracts exactly it,
builds it with kustomize, applies it with server-side apply after a dry-run of the whole
set, and prunes what left the set through a KEP-3659 ApplySet.

  gitless-puller sync --config puller.yaml        # every source once (a Job, a terminal)
  gitless-puller sync --url oci://... --key k.pub # one source from flags
  gitless-puller run --config puller.yaml         # the in-cluster daemon`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetOut(env.Out)
	root.SetErr(env.Err)
	pf := root.PersistentFlags()
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log to stderr (credentials are never logged)")
	k.AddFlags(pf)
	root.AddCommand(newSyncCmd(env, g, k), newRunCmd(env, g, k), newVersionCmd(env))
	return root
}

// Exit codes: those of the gitless CLI (docs/cli.md), which a test checks.
const (
	ExitOK           = 0
	ExitError        = 1 // anything not listed below: an apply or admission failure, a refused rollback, ...
	ExitUsage        = 2 // bad flags, arguments, references or configuration
	ExitDenied       = 4 // the registry refused the credentials (401/403)
	ExitNotFound     = 6 // the tag or digest does not exist
	ExitVerifyFailed = 7 // no signature satisfies the policy: a security event
	ExitUnavailable  = 8 // the signature could not be checked: retry
)

type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// ExitCode maps an error from a command to the process exit code.
func ExitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, verify.ErrVerificationFailed):
		return ExitVerifyFailed
	case errors.As(err, &ue), errors.Is(err, verify.ErrInvalidPolicy), errors.Is(err, verify.ErrKey),
		errors.Is(err, artifact.ErrInvalidReference), errors.Is(err, puller.ErrInvalidSource):
		return ExitUsage
	case errors.Is(err, remote.ErrUnauthorized):
		return ExitDenied
	case errors.Is(err, verify.ErrUnavailable):
		return ExitUnavailable
	case errors.Is(err, remote.ErrNotFound):
		return ExitNotFound
	}
	return ExitError
}

// Main runs a root command with args and returns the exit code, printing the error.
func Main(ctx context.Context, root *cobra.Command, args []string, env Env) int {
	root.SetArgs(args)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintf(env.Err, "Error: %v\n", err)
	}
	return ExitCode(err)
}

// args wraps a cobra argument check so that its error is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}
