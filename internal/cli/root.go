package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/internal/clikit"
	buildversion "github.com/gitless-dev/gitless/internal/version"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/helm"
	"github.com/gitless-dev/gitless/sign"
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

// The repository is the checkout dir is in, found here: the nearest directory at or
// above dir with a .git entry, which a checked-out tree cannot hold. git's own discovery
// would stop at a directory of the tree that looks like a bare repository (HEAD,
// config, objects, refs: plain files a pull request can add), read its configuration,
// and run what that names (gpg.program for a signed commit, core.fsmonitor); so git is
// given the repository and work tree, and the settings that run programs are off.
func runGit(ctx context.Context, dir string, args ...string) (string, error) {
	root, err := checkoutOf(dir)
	if err != nil {
		return "", err
	}
	base := []string{"--git-dir=" + filepath.Join(root, ".git"), "--work-tree=" + root,
		"-c", "core.fsmonitor=false", "-c", "log.showSignature=false", "-c", "safe.bareRepository=explicit", "-c", "core.hooksPath=" + os.DevNull}
	cmd := exec.CommandContext(ctx, "git", append(base, args...)...)
	out, err := cmd.Output()
	return string(out), err
}

// checkoutOf returns the nearest directory at or above dir that has a .git entry (a
// directory, or a file of a worktree or submodule).
func checkoutOf(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", fmt.Errorf("%s is not in a git checkout", dir)
		}
		d = up
	}
}

// version is the binary's version, stamped at link time (internal/version).
func version() string { return buildversion.String() }

type globalFlags struct {
	verbose bool
}

func (g *globalFlags) logger(env Env) *slog.Logger { return clikit.Logger(env.Err, g.verbose) }

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
		clikit.NewVersionCmd("gitless", env.Out),
	)
	return root
}

// Exit codes of the gitless commands (docs/cli.md): those of internal/clikit, which
// gitless-puller shares.
const (
	ExitOK           = clikit.ExitOK
	ExitError        = clikit.ExitError
	ExitUsage        = clikit.ExitUsage
	ExitDiffers      = clikit.ExitDiffers
	ExitDenied       = clikit.ExitDenied
	ExitTagConflict  = clikit.ExitTagConflict
	ExitNotFound     = clikit.ExitNotFound
	ExitVerifyFailed = clikit.ExitVerifyFailed
	ExitUnavailable  = clikit.ExitUnavailable
)

// program is gitless's part of the CLI kit: its hints; a signing key that does not load
// and a --format that does not work are usage errors, and a chart or chart version that does not exist is exit code 6, as
// a missing tag is.
func program() clikit.Program {
	return clikit.Program{
		Hints: hints,
		ExitCode: func(err error) (int, bool) {
			switch {
			case errors.Is(err, verify.ErrVerificationFailed):
				return 0, false
			case errors.Is(err, sign.ErrKey):
				return ExitUsage, true
			case errors.Is(err, helm.ErrChartNotFound):
				return ExitNotFound, true
			case errors.As(err, new(*render.FormatError)):
				return ExitUsage, true // --format
			}
			return 0, false
		},
	}
}

// ExitCode maps an error from a command to the process exit code.
func ExitCode(err error) int { return program().Code(err) }

// Main runs a root command with args and returns the exit code, printing the error
// and what to do about it.
func Main(ctx context.Context, root *cobra.Command, args []string, env Env) int {
	return clikit.Main(ctx, root, args, env.Err, program())
}
