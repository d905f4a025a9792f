package pullercli

import (
	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/puller"
)

func newResumeCmd(env Env, k *kubeFlags) *cobra.Command {
	return requestCmd(env, k, &cobra.Command{
		Use:     "resume SOURCE",
		Short:   "Sync a suspended source again, starting now",
		Long:    `Resume removes control.gitless.dev/suspended from the source's ApplySet parent and asks for a sync at once; with --wait it waits for that sync and prints its outcome.`,
		Example: `  gitless-puller resume apps --wait`,
	}, (*puller.Control).Resume, "resume and sync")
}
