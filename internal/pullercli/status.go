package pullercli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/config"
)

// control returns a puller.Control for the puller's namespace (--namespace,
// $POD_NAMESPACE, else gitless-system).
func (k *kubeFlags) control(env Env) (*puller.Control, error) {
	cfg, err := k.restConfig(env)
	if err != nil {
		return nil, err
	}
	ns := k.namespaceDefault(env)
	if ns == "" {
		ns = config.DefaultNamespace
	}
	return puller.NewControl(cfg, ns)
}

func newStatusCmd(env Env, k *kubeFlags) *cobra.Command {
	var out clikit.Output
	cmd := &cobra.Command{
		Use:   "status [SOURCE]",
		Short: "Show each source's state, as its ApplySet parent records it",
		Long: `Status reads the ApplySet parents in the puller's namespace (-n, default gitless-system)
and shows, per source: its ref, the digest and revision applied, who signed it, when
it was applied, the last attempt's result and message, and whether it is ready (the
last attempt applied it and the source is not suspended). -o json gives a list of
objects with the fields name, url, ref, digest, revision, signer, appliedAt, result,
message and ready. A source that never synced has no parent yet and is not listed.`,
		Example: `  gitless-puller status
  gitless-puller status apps -o json`,
		Args: clikit.Args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := out.Resolve(nil, env.Err); err != nil {
				return err
			}
			c, err := k.control(env)
			if err != nil {
				return err
			}
			var list []puller.SourceStatus
			if len(args) == 1 {
				s, err := c.Get(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				list = []puller.SourceStatus{*s}
			} else if list, err = c.List(cmd.Context()); err != nil {
				return err
			}
			if out.Structured() {
				if list == nil {
					list = []puller.SourceStatus{}
				}
				return out.Write(env.Out, list)
			}
			printStatus(env.Out, list, time.Now())
			return nil
		},
	}
	out.AddFlags(cmd.Flags())
	return cmd
}

func printStatus(w io.Writer, list []puller.SourceStatus, now time.Time) {
	if len(list) == 0 {
		fmt.Fprintln(w, "no sources have synced in this namespace yet")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREADY\tRESULT\tREF\tDIGEST\tREVISION\tSIGNER\tAPPLIED\tMESSAGE")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%t\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Ready, dash(s.Result), dash(s.Ref), dash(shortDigest(s.Digest)),
			dash(s.Revision), dash(s.Signer), age(s.AppliedAt, now), dash(oneLine(s.Message, 100)))
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

// age is "3m ago" for an RFC 3339 time.
func age(ts string, now time.Time) string {
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}
