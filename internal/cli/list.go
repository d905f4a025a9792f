package cli

import (
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/clikit"
)

func newListCmd(env Env, g *globalFlags) *cobra.Command {
	var (
		semver string
		reg    clikit.RegistryFlags
		out    clikit.Output
	)
	cmd := &cobra.Command{
		Use:   "list oci://REGISTRY/REPOSITORY",
		Short: "List a repository's tags with their digest and revision",
		Long: `List the tags of a repository, the digest each points at and the source revision
recorded in it. Signature and attestation tags are left out. --semver keeps only tags
inside a version range (Flux's syntax), newest first.`,
		Args: clikit.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := out.Resolve(nil, env.Err); err != nil {
				return err
			}
			ref, err := parseRef(a[0])
			if err != nil {
				return err
			}
			if ref.Tag != "" || ref.Digest != "" {
				return clikit.Usagef("list takes a repository, without tag or digest: %s", ref)
			}
			c, err := registryClient(cmd.Context(), env, g, &reg, ref.Registry)
			if err != nil {
				return err
			}
			tags, err := c.List(cmd.Context(), ref, remote.ListOptions{SemVer: semver})
			if err != nil {
				return err
			}
			if out.Structured() {
				if tags == nil {
					tags = []remote.TagInfo{}
				}
				return out.Write(env.Out, tags)
			}
			w := tabwriter.NewWriter(env.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "TAG\tDIGEST\tREVISION\tCREATED")
			for _, t := range tags {
				if t.Err != "" {
					fmt.Fprintf(w, "%s\t-\t(not an artifact: %s)\t\n", t.Tag, t.Err)
					continue
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Tag, t.Digest, t.Revision, t.Created)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&semver, "semver", "", "keep tags in this semantic version range, e.g. \">=1.0.0 <2.0.0\"")
	reg.AddFlags(cmd.Flags())
	out.AddFlags(cmd.Flags())
	return cmd
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
