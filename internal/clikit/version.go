package clikit

import (
	"io"

	"github.com/spf13/cobra"

	buildversion "github.com/gitless-dev/gitless/internal/version"
)

// NewVersionCmd is the version command of the program named program, printing to out.
func NewVersionCmd(program string, out io.Writer) *cobra.Command {
	o := Output{}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and platform of this binary",
		Example: "  " + program + ` version
  ` + program + ` version -o json   # {"version": "v0.1.0", "commit": "...", "goVersion": "go1.26.8", "platform": "linux/amd64"}`,
		Args: Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Resolve(nil, cmd.ErrOrStderr()); err != nil {
				return err
			}
			info := buildversion.Get()
			if o.Structured() {
				return o.Write(out, info)
			}
			_, err := io.WriteString(out, info.Text(program))
			return err
		},
	}
	o.AddFlags(cmd.Flags())
	return cmd
}
