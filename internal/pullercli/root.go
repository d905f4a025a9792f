package pullercli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitless-dev/gitless/internal/clikit"
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

func (g *globalFlags) logger(env Env) *slog.Logger { return clikit.Logger(env.Err, g.verbose) }

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
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if k.namespace != "" {
				if errs := validation.IsDNS1123Label(k.namespace); len(errs) > 0 {
					return clikit.Usagef("--namespace %q: %s", k.namespace, strings.Join(errs, "; "))
				}
			}
			if k.concurrency < 0 || k.concurrency > 64 {
				return clikit.Usagef("--concurrency %d: want 1 to 64, or 0 for the config file's", k.concurrency)
			}
			return nil
		},
	}
	root.SetOut(env.Out)
	root.SetErr(env.Err)
	pf := root.PersistentFlags()
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log to stderr (credentials are never logged)")
	k.AddFlags(pf)
	root.AddCommand(newSyncCmd(env, g, k), newRunCmd(env, g, k), newStatusCmd(env, k), newReconcileCmd(env, k),
		newSuspendCmd(env, k), newResumeCmd(env, k), newInstallCmd(env, g, k), newConvertFluxCmd(env, k), clikit.NewVersionCmd("gitless-puller", env.Out))
	return root
}

// Exit codes: those of the gitless CLI (docs/cli.md), from internal/clikit.
const (
	ExitOK           = clikit.ExitOK
	ExitError        = clikit.ExitError // anything not listed below: an apply or admission failure, a refused rollback, ...
	ExitUsage        = clikit.ExitUsage // bad flags, arguments, references or configuration
	ExitDenied       = clikit.ExitDenied
	ExitNotFound     = clikit.ExitNotFound
	ExitVerifyFailed = clikit.ExitVerifyFailed // no signature satisfies the policy: a security event
	ExitUnavailable  = clikit.ExitUnavailable  // the signature could not be checked: retry
)

// program is gitless-puller's part of the CLI kit: its hints, and an invalid source
// (puller.ErrInvalidSource) is a usage error.
func program() clikit.Program {
	return clikit.Program{
		Hints: hints,
		ExitCode: func(err error) (int, bool) {
			if errors.Is(err, verify.ErrVerificationFailed) {
				return ExitVerifyFailed, true
			}
			if errors.Is(err, puller.ErrUnknownSource) {
				return ExitNotFound, true
			}
			return ExitUsage, errors.Is(err, puller.ErrInvalidSource)
		},
	}
}

// ExitCode maps an error from a command to the process exit code.
func ExitCode(err error) int { return program().Code(err) }

// Main runs a root command with args and returns the exit code, printing the error.
func Main(ctx context.Context, root *cobra.Command, args []string, env Env) int {
	return clikit.Main(ctx, root, args, env.Err, program())
}
