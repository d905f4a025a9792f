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
	var w waitFlags
	cmd := &cobra.Command{
		Use:   "reconcile SOURCE",
		Short: "Ask the running puller to sync a source now",
		Long: `Reconcile records a request on the source's ApplySet parent (the annotation
control.gitless.dev/reconcile-requested-at, like Flux's reconcile.fluxcd.io/requestedAt);
the running puller (its leader) sees it at once and syncs the source, checking the
objects even if the artifact has not changed. With --wait it waits for that sync and
prints its outcome; the exit code is 1 if it failed.`,
		Example: `  gitless-puller reconcile apps --wait`,
		Args:    clikit.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := w.out.Resolve(nil, env.Err); err != nil {
				return err
			}
			c, err := k.control(env)
			if err != nil {
				return err
			}
			token, err := c.RequestReconcile(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return w.finish(cmd.Context(), env, c, args[0], token, "sync")
		},
	}
	w.add(cmd)
	return cmd
}
