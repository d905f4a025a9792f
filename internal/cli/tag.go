package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/clikit"
)

func newTagCmd(env Env, g *globalFlags) *cobra.Command {
	var (
		tags           []string
		allowOverwrite bool
		reg            clikit.RegistryFlags
		out            clikit.Output
	)
	cmd := &cobra.Command{
		Use:   "tag oci://REGISTRY/REPOSITORY:SRC|@DIGEST --tag NEW",
		Short: "Point more tags at an artifact (promotion)",
		Long: `Point each --tag at the artifact SRC names, without copying blobs. Moving tags such as
latest, staging or v1 move; tags that look immutable (a commit SHA, or a full version
such as v1.2.3) never move to another digest unless --allow-overwrite is given.`,
		Example: `  gitless tag oci://ghcr.io/acme/app-manifests:1a2b3c4 --tag production`,
		Args:    clikit.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := out.Resolve(nil, env.Err); err != nil {
				return err
			}
			if len(tags) == 0 {
				return clikit.Usagef("--tag is required")
			}
			// Every name is checked before the registry is asked anything.
			for _, t := range tags {
				if err := artifact.ValidateTag(t); err != nil {
					return clikit.Usage(fmt.Errorf("--tag: %w", err))
				}
			}
			ref, err := parseRef(a[0])
			if err != nil {
				return err
			}
			c, err := registryClient(cmd.Context(), env, g, &reg, ref.Registry)
			if err != nil {
				return err
			}
			opts := remote.DefaultTagOptions()
			opts.Policy.AllowOverwrite = allowOverwrite
			res, err := c.Tag(cmd.Context(), ref, tags, opts)
			if err != nil {
				return err
			}
			if out.Structured() {
				return out.Write(env.Out, map[string]any{"url": res.Reference.String(), "digest": res.Digest, "tagUpdates": res.Tags})
			}
			for _, t := range res.Tags {
				switch {
				case !t.Changed:
					fmt.Fprintf(env.Err, "%s: already at %s\n", t.Tag, res.Digest)
				case t.Previous == "":
					fmt.Fprintf(env.Err, "%s: new, at %s\n", t.Tag, res.Digest)
				default:
					fmt.Fprintf(env.Err, "%s: moved from %s to %s\n", t.Tag, t.Previous, res.Digest)
				}
			}
			fmt.Fprintln(env.Out, res.Reference.String())
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&tags, "tag", "t", nil, "tag to point at the artifact (repeatable, required)")
	cmd.Flags().BoolVar(&allowOverwrite, "allow-overwrite", false, "also move tags that look immutable")
	reg.AddFlags(cmd.Flags())
	out.AddFlags(cmd.Flags())
	return cmd
}
