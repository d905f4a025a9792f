package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/render"
)

func newInspectCmd(env Env, g *globalFlags) *cobra.Command {
	var (
		files bool
		reg   clikit.RegistryFlags
		out   clikit.Output
	)
	cmd := &cobra.Command{
		Use:   "inspect oci://REGISTRY/REPOSITORY[:TAG|@DIGEST]",
		Short: "Show an artifact's manifest, annotations, sizes and (with --files) content",
		Args:  clikit.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := out.Resolve(nil, env.Err); err != nil {
				return err
			}
			ref, err := parseRef(a[0])
			if err != nil {
				return err
			}
			c, err := registryClient(cmd.Context(), env, g, &reg, ref.Registry)
			if err != nil {
				return err
			}
			in, err := c.Inspect(cmd.Context(), ref, files)
			if err != nil {
				return err
			}
			if out.Structured() {
				return out.Write(env.Out, map[string]any{
					"url": in.Reference.String(), "digest": in.Descriptor.Digest, "mediaType": in.Descriptor.MediaType,
					"size": in.Descriptor.Size, "manifest": in.Manifest, "metadata": in.Metadata, "files": in.Files,
					"charts": inspectCharts(in.Manifest.Annotations),
				})
			}
			w := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "URL:\t%s\n", in.Reference)
			fmt.Fprintf(w, "Digest:\t%s\n", in.Descriptor.Digest)
			fmt.Fprintf(w, "Media type:\t%s\n", in.Descriptor.MediaType)
			fmt.Fprintf(w, "Manifest size:\t%d\n", in.Descriptor.Size)
			fmt.Fprintf(w, "Config:\t%s %s (%d bytes)\n", in.Manifest.Config.MediaType, in.Manifest.Config.Digest, in.Manifest.Config.Size)
			for _, l := range in.Manifest.Layers {
				fmt.Fprintf(w, "Layer:\t%s %s (%s)\n", l.MediaType, l.Digest, humanSize(l.Size))
			}
			fmt.Fprintln(w, "Annotations:")
			for _, k := range sortedKeys(in.Manifest.Annotations) {
				fmt.Fprintf(w, "  %s:\t%s\n", printable(k), printable(in.Manifest.Annotations[k]))
			}
			if a, ok := in.Manifest.Annotations[artifact.AnnotationRenderedCharts]; ok {
				var charts []render.Chart
				if err := json.Unmarshal([]byte(a), &charts); err != nil {
					fmt.Fprintf(w, "Charts:\tunreadable (%v)\n", err)
				} else {
					fmt.Fprintf(w, "Charts (%d):\n", len(charts))
					for _, c := range charts {
						fmt.Fprintf(w, "  %s %s\t%s\t%s\n", printable(c.Name), printable(c.Version), c.Digest, printable(c.Source))
					}
				}
			}
			if files {
				fmt.Fprintf(w, "Files (%d):\n", len(in.Files))
				for _, f := range in.Files {
					fmt.Fprintf(w, "  %s\t%o\t%d\t%s\n", f.Path, f.Mode, f.Size, f.Digest)
				}
			}
			return w.Flush()
		},
	}
	cmd.Flags().BoolVar(&files, "files", false, "download the layer and list its files")
	reg.AddFlags(cmd.Flags())
	out.AddFlags(cmd.Flags())
	return cmd
}

// inspectCharts reads the charts an artifact records (nil when none, or unreadable).
func inspectCharts(a map[string]string) []render.Chart {
	var charts []render.Chart
	if v, ok := a[artifact.AnnotationRenderedCharts]; ok {
		if json.Unmarshal([]byte(v), &charts) != nil {
			return nil
		}
	}
	return charts
}
