package pullercli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
)

func newSyncCmd(env Env, g *globalFlags, k *kubeFlags) *cobra.Command {
	var (
		configPath string
		once       bool
		dryRun     bool
		sf         sourceFlags
		out        clikit.Output
	)
	cmd := &cobra.Command{
		Use:   "sync (--config FILE | --url oci://... [flags])",
		Short: "Sync every source once, in dependsOn order, and exit non-zero if any failed",
		Long: `Sync runs each source of the config file once (or the one source the flags describe),
each after the sources it depends on, prints what was created, configured, unchanged
and pruned, and exits non-zero if any sync failed (exit codes in docs/cli.md: 7 for a
signature that does not satisfy the policy, 8 for one that could not be checked, 4 for
registry credentials refused, 6 for a tag that does not exist, 2 for an invalid
configuration).

With --dry-run it writes nothing: each source's artifact is resolved, verified, fetched
and built as a sync does, every object dry-run server-side, and the members that left the
set sorted as the prune would; it prints what would be created, configured (with the diff
of each object's YAML, Secret values masked), recreated and pruned. The exit codes are the
same: 0 when every plan could be made, whatever it would change.`,
		Example: `  gitless-puller sync --config /etc/gitless/puller.yaml
  gitless-puller sync --url oci://ghcr.io/acme/app-manifests --ref '^1.0' --key cosign.pub \
    --pull-secret gitless-system/ghcr --prune -o json
  gitless-puller sync --config puller.yaml --dry-run   # what promoting would change`,
		Args: clikit.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.Resolve(nil, env.Err); err != nil {
				return err
			}
			if cmd.Flags().Changed("once") {
				fmt.Fprintln(env.Err, "Warning: --once is deprecated: sync always runs each source once (the daemon is `gitless-puller run`)")
				if !once {
					return clikit.Usagef("sync runs each source once; the daemon is `gitless-puller run`")
				}
			}
			c, err := loadSources(cmd.Context(), env, k, configPath, &sf, sf.given(cmd.Flags()))
			if err != nil {
				return err
			}
			p, err := newPuller(env, g, k, c)
			if err != nil {
				return err
			}
			sync := p.SyncAll
			if dryRun {
				sync = p.PlanAll
			}
			results, err := sync(cmd.Context(), c.Sources)
			if results == nil && err != nil {
				return clikit.Usage(err)
			}
			if out.Structured() {
				if werr := out.Write(env.Out, syncOutput{Results: results}); werr != nil {
					return werr
				}
			} else {
				for _, r := range results {
					printResult(env.Out, r)
				}
			}
			return firstCause(err)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "PullerConfig file (docs/puller-config.md)")
	f.BoolVar(&once, "once", true, "sync each source once and exit (deprecated: the only mode of sync)")
	_ = f.MarkHidden("once")
	f.BoolVar(&dryRun, "dry-run", false, "write nothing: print what a sync would create, configure (with diffs), recreate and prune")
	sf.AddFlags(f)
	out.AddFlags(f)
	return cmd
}

type syncOutput struct {
	Results []*puller.Result `json:"results"`
}

// firstCause keeps the joined error's text but lets ExitCode see the first failure's
// kind.
func firstCause(err error) error {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) && len(j.Unwrap()) > 0 {
		return joinedError{msg: err.Error(), first: j.Unwrap()[0]}
	}
	return err
}

type joinedError struct {
	msg   string
	first error
}

func (e joinedError) Error() string { return e.msg }
func (e joinedError) Unwrap() error { return e.first }

func printResult(w io.Writer, r *puller.Result) {
	switch r.Outcome {
	case puller.UpToDate:
		fmt.Fprintf(w, "%s: up to date at %s\n", r.Source, r.URL)
		return
	case puller.Suspended:
		fmt.Fprintf(w, "%s: suspended", r.Source)
		if r.Digest != "" {
			fmt.Fprintf(w, " at %s (the last digest applied)", r.Digest)
		}
		fmt.Fprintln(w)
		return
	case puller.Failed:
		fmt.Fprintf(w, "%s: FAILED", r.Source)
		if r.URL != "" {
			fmt.Fprintf(w, " at %s", r.URL)
		}
		fmt.Fprintf(w, "\n  %s\n", r.Error)
		return
	}
	verb := "applied"
	if r.Outcome == puller.Planned {
		verb = "plan for"
	}
	fmt.Fprintf(w, "%s: %s %s\n", r.Source, verb, r.URL)
	if r.Revision != "" {
		fmt.Fprintf(w, "  revision %s\n", r.Revision)
	}
	if r.Signer != "" {
		fmt.Fprintf(w, "  signed by %s\n", r.Signer)
	}
	fmt.Fprintf(w, "  %d created, %d configured, %d unchanged, %d pruned", r.Created, r.Configured, r.Unchanged, r.Pruned)
	if r.Recreated > 0 {
		fmt.Fprintf(w, ", %d recreated", r.Recreated)
	}
	if r.Skipped > 0 {
		fmt.Fprintf(w, ", %d kept", r.Skipped)
	}
	fmt.Fprintf(w, " (%s)\n", r.Duration.Round(1e6))
	for _, c := range r.Changes {
		if c.Action == apply.Unchanged {
			continue
		}
		fmt.Fprintf(w, "  %s %s", c.Action, c.Object)
		if c.Reason != "" {
			fmt.Fprintf(w, ": %s", c.Reason)
		}
		fmt.Fprintln(w)
		for _, f := range c.Forced {
			fmt.Fprintf(w, "    took back %s\n", f)
		}
		for _, f := range c.LeftAlone {
			fmt.Fprintf(w, "    left alone %s\n", f)
		}
		for l := range strings.Lines(c.Diff) {
			fmt.Fprintf(w, "    %s", l)
		}
	}
}
