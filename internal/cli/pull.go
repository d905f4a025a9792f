package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
)

func newPullCmd(env Env, g *globalFlags) *cobra.Command {
	var (
		dir     string
		maxSize string
		reg     registryFlags
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "pull oci://REGISTRY/REPOSITORY[:TAG|@DIGEST] -o DIR",
		Short: "Fetch an artifact and extract it safely into a new directory",
		Long: `Resolve the tag once, fetch the manifest and layer by digest, check every size and digest,
and extract into DIR, which must not exist or be empty. Extraction refuses absolute and ".."
paths, links, devices and FIFOs, and stops at caps on total size, file size and file count.
Nothing is left behind when any check fails.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if dir == "" {
				return usagef("--output is required")
			}
			ref, err := parseRef(a[0])
			if err != nil {
				return err
			}
			n, err := parseSize(maxSize)
			if err != nil {
				return usagef("--max-size: %v", err)
			}
			c, err := reg.client(cmd.Context(), env, g, ref.Registry)
			if err != nil {
				return err
			}
			a2, err := c.Fetch(cmd.Context(), ref)
			if err != nil {
				return err
			}
			files, err := c.ExtractTo(cmd.Context(), a2, dir, artifact.ExtractOptions{MaxTotalSize: n})
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(env.Out, map[string]any{"url": a2.Reference.String(), "digest": a2.Descriptor.Digest, "metadata": a2.Metadata, "dir": dir, "files": files})
			}
			fmt.Fprintf(env.Err, "extracted %d files into %s (%s)\n", len(files), dir, describeMeta(a2.Metadata))
			fmt.Fprintln(env.Out, a2.Reference.String())
			return nil
		},
	}
	cmd.Flags().StringVarP(&dir, "output", "o", "", "directory to extract into; must not exist or be empty (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.Flags().StringVar(&maxSize, "max-size", "100Mi", "cap on the bytes of files extracted (Ki, Mi, Gi suffixes)")
	reg.AddFlags(cmd.Flags())
	return cmd
}
