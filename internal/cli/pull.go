package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/clikit"
)

func newPullCmd(env Env, g *globalFlags) *cobra.Command {
	var (
		dir     string
		maxSize string
		reg     clikit.RegistryFlags
		out     = clikit.Output{PathFlag: "out"}
	)
	cmd := &cobra.Command{
		Use:   "pull oci://REGISTRY/REPOSITORY[:TAG|@DIGEST] --out DIR",
		Short: "Fetch an artifact and extract it safely into a new directory",
		Long: `Resolve the tag once, fetch the manifest and layer by digest, check every size and digest,
and extract into DIR, which must not exist or be empty. Extraction refuses absolute and ".."
paths, links, devices and FIFOs, and stops at caps on total size, file size and file count.
Nothing is left behind when any check fails.`,
		Args: clikit.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := out.Resolve(&dir, env.Err); err != nil {
				return err
			}
			if dir == "" {
				return clikit.Usagef("--out is required")
			}
			ref, err := parseRef(a[0])
			if err != nil {
				return err
			}
			n, err := parseSize(maxSize)
			if err != nil {
				return clikit.Usagef("--max-size: %v", err)
			}
			c, err := registryClient(cmd.Context(), env, g, &reg, ref.Registry)
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
			if out.Structured() {
				return out.Write(env.Out, map[string]any{"url": a2.Reference.String(), "digest": a2.Descriptor.Digest, "metadata": a2.Metadata, "dir": dir, "files": files})
			}
			fmt.Fprintf(env.Err, "extracted %d files into %s (%s)\n", len(files), dir, describeMeta(a2.Metadata))
			fmt.Fprintln(env.Out, a2.Reference.String())
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "out", "", "directory to extract into; must not exist or be empty (required)")
	out.AddFlags(cmd.Flags())
	cmd.Flags().StringVar(&maxSize, "max-size", "100Mi", "cap on the bytes of files extracted (Ki, Mi, Gi suffixes)")
	reg.AddFlags(cmd.Flags())
	return cmd
}
