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
		limit  int
		reg    clikit.RegistryFlags
		out    clikit.Output
	)
	cmd := &cobra.Command{
		Use:   "list oci://REGISTRY/REPOSITORY",
		Short: "List a repository's tags with their digest and revision",
		Long: `List the tags of a repository, the digest each points at and the source revision
recorded in it. Signature and attestation tags are left out. Tags that are versions come
first, newest first, then the others by name; --semver keeps only tags inside a version
range (Flux's syntax). Each tag read is a request: --limit (default 100) bounds them, and
the tags past it are counted on stderr.`,
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
			if limit < 0 {
				return clikit.Usagef("--limit %d: want a number of tags, or 0 for all of them", limit)
			}
			if limit == 0 {
				limit = -1 // every tag
			}
			list, err := c.List(cmd.Context(), ref, remote.ListOptions{SemVer: semver, Limit: limit})
			if err != nil {
				return err
			}
			tags := list.Tags
			if list.More > 0 {
				fmt.Fprintf(env.Err, "%d more tags not read (--limit %d: versions newest first, then other tags by name, not by date; --limit 0 reads them all)\n", list.More, limit)
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
	cmd.Flags().IntVar(&limit, "limit", remote.DefaultListLimit, "read at most this many tags (versions first, newest first); 0 reads all")
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
