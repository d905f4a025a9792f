package pullercli

import (
	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/internal/clikit"
)

func newResumeCmd(env Env, k *kubeFlags) *cobra.Command {
	var w waitFlags
	cmd := &cobra.Command{
		Use:     "resume SOURCE",
		Short:   "Sync a suspended source again, starting now",
		Long:    `Resume removes control.gitless.dev/suspended from the source's ApplySet parent and asks for a sync at once; with --wait it waits for that sync and prints its outcome.`,
		Example: `  gitless-puller resume apps --wait`,
		Args:    clikit.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := w.out.Resolve(nil, env.Err); err != nil {
				return err
			}
			c, err := k.control(env)
			if err != nil {
				return err
			}
			token, err := c.Resume(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return w.finish(cmd.Context(), env, c, args[0], token, "resume and sync")
		},
	}
	w.add(cmd)
	return cmd
}
