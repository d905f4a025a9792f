package pullercli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/puller"
)

// waitFlags are --wait and --timeout of reconcile and resume.
type waitFlags struct {
	wait    bool
	timeout time.Duration
	out     clikit.Output
}

func (w *waitFlags) add(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.wait, "wait", false, "wait until the running puller has synced the source, and print the outcome (exit 1 if it failed)")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 5*time.Minute, "bound on --wait")
	w.out.AddFlags(cmd.Flags())
}

// finish waits for the request token if asked, and prints the outcome.
func (w *waitFlags) finish(ctx context.Context, env Env, c *puller.Control, name, token, what string) error {
	if !w.wait {
		if w.out.Structured() {
			return w.out.Write(env.Out, map[string]string{"name": name, "requested": token})
		}
		fmt.Fprintf(env.Out, "%s: %s requested\n", name, what)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	s, err := c.WaitReconciled(ctx, name, token)
	if err != nil {
		return err
	}
	if w.out.Structured() {
		if err := w.out.Write(env.Out, s); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Out, "%s: %s at %s\n", name, s.LastResult, dash(s.Digest))
		if s.Revision != "" {
			fmt.Fprintf(env.Out, "  revision %s\n", s.Revision)
		}
		if s.Message != "" {
			fmt.Fprintf(env.Out, "  %s\n", s.Message)
		}
	}
	if s.LastResult != string(puller.Applied) {
		return &clikit.CodeError{Code: ExitError, Quiet: w.out.Structured(), Err: fmt.Errorf("source %s: the sync failed: %s", name, s.Message)}
	}
	return nil
}

func newReconcileCmd(env Env, k *kubeFlags) *cobra.Command {
	return requestCmd(env, k, &cobra.Command{
		Use:   "reconcile SOURCE",
		Short: "Ask the running puller to sync a source now",
		Long: `Reconcile records a request on the source's ApplySet parent (the annotation
control.gitless.dev/reconcile-requested-at, like Flux's reconcile.fluxcd.io/requestedAt);
the running puller (its leader) sees it at once and syncs the source, checking the
objects even if the artifact has not changed. With --wait it waits for that sync and
prints its outcome; the exit code is 1 if it failed.`,
		Example: `  gitless-puller reconcile apps --wait`,
	}, (*puller.Control).RequestReconcile, "sync")
}

// requestCmd completes cmd (SOURCE, --wait and -o) as a command that records a
// request on the source's parent with request and, with --wait, waits for the sync
// that answers it; what names it in the messages.
func requestCmd(env Env, k *kubeFlags, cmd *cobra.Command, request func(*puller.Control, context.Context, string) (string, error), what string) *cobra.Command {
	var w waitFlags
	cmd.Args = clikit.Args(cobra.ExactArgs(1))
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := w.out.Resolve(nil, env.Err); err != nil {
			return err
		}
		c, err := k.control(env)
		if err != nil {
			return err
		}
		token, err := request(c, cmd.Context(), args[0])
		if err != nil {
			return err
		}
		return w.finish(cmd.Context(), env, c, args[0], token, what)
	}
	w.add(cmd)
	return cmd
}
