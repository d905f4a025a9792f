package cli

import (
	"io"

	"github.com/spf13/cobra"

	buildversion "github.com/gitless-dev/gitless/internal/version"
)

func newVersionCmd(env Env) *cobra.Command {
	var out outputFlag
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and platform of this binary",
		Example: `  gitless version
  gitless version -o json   # {"version": "v0.1.0", "commit": "...", "goVersion": "go1.26.8", "platform": "linux/amd64"}`,
		Args: args(cobra.NoArgs),
		RunE: func(_ *cobra.Command, _ []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			info := buildversion.Get()
			if out.json() {
				return writeJSON(env.Out, info)
			}
			_, err := io.WriteString(env.Out, info.Text("gitless"))
			return err
		},
	}
	out.AddFlags(cmd.Flags())
	return cmd
}
