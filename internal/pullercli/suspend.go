package pullercli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/internal/clikit"
)

func newSuspendCmd(env Env, k *kubeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "suspend SOURCE",
		Short: "Stop syncing a source until it is resumed (its objects stay as they are)",
		Long: `Suspend sets control.gitless.dev/suspended: "true" on the source's ApplySet parent: the
running puller stops polling and applying it (status shows Suspended) until
gitless-puller resume. Nothing is deleted. A suspended source also survives restarts
and configuration reloads.`,
		Example: `  gitless-puller suspend apps`,
		Args:    clikit.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := k.control(env)
			if err != nil {
				return err
			}
			if err := c.Suspend(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "%s: suspended\n", args[0])
			return nil
		},
	}
}
