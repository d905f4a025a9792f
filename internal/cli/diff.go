package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/clikit"
)

func newDiffCmd(env Env, g *globalFlags) *cobra.Command {
	var (
		b   buildFlags
		reg clikit.RegistryFlags
		out clikit.Output
	)
	cmd := &cobra.Command{
		Use:   "diff DIR oci://REGISTRY/REPOSITORY[:TAG|@DIGEST]",
		Short: "Show, file by file, what pushing DIR would change",
		Long: `Package DIR as push would and compare it with the artifact, file by file:
A (added), M (modified: content or mode), D (removed). A tag that does not exist counts as
empty. Exit status: 0 no difference, 3 differences, other codes on errors.`,
		Args: clikit.Args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := out.Resolve(nil, env.Err); err != nil {
				return err
			}
			ref, err := parseRef(a[1])
			if err != nil {
				return err
			}
			opts, err := b.options()
			if err != nil {
				return err
			}
			layer, err := artifact.Build(cmd.Context(), a[0], opts)
			if err != nil {
				return err
			}
			c, err := registryClient(cmd.Context(), env, g, &reg, ref.Registry)
			if err != nil {
				return err
			}
			res, err := c.Diff(cmd.Context(), ref, layer)
			if err != nil {
				return err
			}
			if out.Structured() {
				changes := res.Changes
				if changes == nil {
					changes = []artifact.FileChange{}
				}
				if err := out.Write(env.Out, map[string]any{"differs": res.Differs(), "changes": changes}); err != nil {
					return err
				}
			} else {
				for _, c := range res.Changes {
					fmt.Fprintf(env.Out, "%s %s\n", map[artifact.Change]string{artifact.Added: "A", artifact.Modified: "M", artifact.Removed: "D"}[c.Change], c.Path)
				}
				if !res.Differs() {
					fmt.Fprintf(env.Err, "no differences with %s\n", ref)
				}
			}
			if res.Differs() {
				return &clikit.CodeError{Code: ExitDiffers, Quiet: true, Err: errors.New("differences found")}
			}
			return nil
		},
	}
	b.AddFlags(cmd.Flags())
	reg.AddFlags(cmd.Flags())
	out.AddFlags(cmd.Flags())
	return cmd
}
