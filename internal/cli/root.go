package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	buildversion "github.com/gitless-dev/gitless/internal/version"
	"github.com/gitless-dev/gitless/render/helm"
	"github.com/gitless-dev/gitless/verify"
)

// Env is what commands get from the outside world; tests replace all of it.
type Env struct {
	Out, Err io.Writer
	Getenv   func(string) string
	// Git runs git with args and returns its stdout; nil means git is not used.
	Git func(ctx context.Context, dir string, args ...string) (string, error)
}

// OSEnv binds Env to the process.
func OSEnv() Env {
	return Env{Out: os.Stdout, Err: os.Stderr, Getenv: os.Getenv, Git: runGit}
}

func runGit(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	out, err := cmd.Output()
	return string(out), err
}

// version is the binary's version, stamped at link time (internal/version).
func version() string { return buildversion.String() }

type globalFlags struct {
	verbose bool
}

func (g *globalFlags) logger(env Env) *slog.Logger {
	if !g.verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(env.Err, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// NewGitlessCommand returns the root command of the gitless CLI.
func NewGitlessCommand(env Env) *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "gitless",
		Short: "Package, push, sign and inspect Kubernetes manifests as OCI artifacts",
		Long: `gitless ships Kubernetes manifests as signed, immutable OCI artifacts that Flux's
OCIRepository and gitless-puller consume. No cluster ever reads a Git repository.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetOut(env.Out)
	root.SetErr(env.Err)
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log registry operations to stderr (credentials are never logged)")
	root.AddCommand(
		newPushCmd(env, g),
		newBuildCmd(env, g),
		newPullCmd(env, g),
		newTagCmd(env, g),
		newInspectCmd(env, g),
		newListCmd(env, g),
		newDiffCmd(env, g),
		newRenderCmd(env, g),
		newSignCmd(env, g),
		newVerifyCmd(env, g),
		newKeyCmd(env, g),
		newVersionCmd(env),
	)
	return root
}

// Exit codes of the gitless commands (docs/cli.md).
const (
	ExitOK          = 0
	ExitError       = 1 // anything not listed below
	ExitUsage       = 2 // bad flags, arguments or references
	ExitDiffers     = 3 // gitless diff: the tree differs from the artifact
	ExitDenied      = 4 // the registry refused the credentials (401/403)
	ExitTagConflict = 5 // an immutable tag points at another digest
	ExitNotFound    = 6 // the tag or digest does not exist; render: the chart or chart version
	// ExitVerifyFailed: verify found no signature satisfying the policy (none, invalid,
	// untrusted signer): a security event, never apply.
	ExitVerifyFailed = 7
	// ExitUnavailable: verify could not check the signature (registry or Sigstore
	// unreachable): retry.
	ExitUnavailable = 8
)

// errDiffers is returned by diff when it found differences.
var errDiffers = errors.New("differences found")

type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// ExitCode maps an error from a command to the process exit code.
func ExitCode(err error) int {
	var ue usageError
	var tc *artifact.TagConflictError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, verify.ErrVerificationFailed):
		return ExitVerifyFailed
	case errors.Is(err, verify.ErrInvalidPolicy), errors.Is(err, verify.ErrKey):
		return ExitUsage
	case errors.Is(err, errDiffers):
		return ExitDiffers
	case errors.As(err, &ue), errors.Is(err, artifact.ErrInvalidReference):
		return ExitUsage
	case errors.Is(err, remote.ErrUnauthorized):
		return ExitDenied
	case errors.Is(err, verify.ErrUnavailable):
		return ExitUnavailable
	case errors.As(err, &tc):
		return ExitTagConflict
	case errors.Is(err, remote.ErrNotFound), errors.Is(err, helm.ErrChartNotFound):
		return ExitNotFound
	}
	return ExitError
}

// Main runs a root command with args and returns the exit code, printing the error.
func Main(ctx context.Context, root *cobra.Command, args []string, env Env) int {
	root.SetArgs(args)
	// cobra's own flag errors are usage errors
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	err := root.ExecuteContext(ctx)
	if err != nil && !errors.Is(err, errDiffers) {
		fmt.Fprintf(env.Err, "Error: %v\n", err)
		for _, h := range hints(err) {
			fmt.Fprintf(env.Err, "Hint: %s\n", h)
		}
	}
	return ExitCode(err)
}
