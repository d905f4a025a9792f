package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/clikit"
)

func newBuildCmd(env Env, _ *globalFlags) *cobra.Command {
	var (
		outFile string
		dir     string
		b       buildFlags
		out     = clikit.Output{PathFlag: "out"}
	)
	cmd := &cobra.Command{
		Use:   "build (DIR | --path DIR) --out artifact.tgz",
		Short: "Package a directory into the artifact's tar+gzip layer, offline",
		Long: `Package DIR exactly as push would, without a registry, and write the layer to a file.
The layer digest printed is the one push would upload. DIR is given as an argument or,
as push (and flux push artifact) take it, with --path.`,
		Args: clikit.Args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			switch {
			case len(a) == 1 && dir != "" && filepath.Clean(a[0]) != filepath.Clean(dir):
				return clikit.Usagef("two directories: %s and --path %s; give one", a[0], dir)
			case len(a) == 1:
				dir = a[0]
			case dir == "":
				return clikit.Usagef("build needs the directory to package: build DIR, or --path DIR")
			}
			if err := out.Resolve(&outFile, env.Err); err != nil {
				return err
			}
			if outFile == "" {
				return clikit.Usagef("--out is required")
			}
			opts, err := b.options()
			if err != nil {
				return err
			}
			layer, err := artifact.Build(cmd.Context(), dir, opts)
			if err != nil {
				return err
			}
			warnFluxIgnored(env, layer)
			if err := writeFileAtomic(outFile, layer.Data); err != nil {
				return fmt.Errorf("writing %s: %w", outFile, err)
			}
			if out.Structured() {
				return out.Write(env.Out, map[string]any{"file": outFile, "digest": layer.Descriptor.Digest, "size": layer.Descriptor.Size, "files": layer.Files})
			}
			fmt.Fprintf(env.Err, "packaged %d files into %s (%s)\n", len(layer.Files), outFile, humanSize(layer.Descriptor.Size))
			fmt.Fprintln(env.Out, layer.Descriptor.Digest)
			return nil
		},
	}
	cmd.Flags().StringVar(&outFile, "out", "", "where to write the tar+gzip layer (required)")
	cmd.Flags().StringVar(&dir, "path", "", "the directory to package (instead of the DIR argument, as push takes it)")
	out.AddFlags(cmd.Flags())
	b.AddFlags(cmd.Flags())
	return cmd
}

// warnFluxIgnored says which files of the layer Flux's source-controller would leave
// out (artifact.FluxIgnored).
func warnFluxIgnored(env Env, layer *artifact.Layer) {
	ignored := artifact.FluxIgnored(layer.Files)
	if len(ignored) == 0 {
		return
	}
	shown := ignored[:min(len(ignored), 5)]
	more := ""
	if len(ignored) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(ignored)-len(shown))
	}
	fmt.Fprintf(env.Err, "Warning: Flux's source-controller leaves out %d file(s) of this artifact, which its default ignore rules exclude and a !pattern re-included here: %s%s (gitless-puller reads them; a Flux OCIRepository builds without them)\n",
		len(ignored), strings.Join(shown, ", "), more)
}

// writeFileAtomic writes via a temporary file in the same directory, so a failure
// leaves no half-written file.
//
// A target that exists and is no regular file (/dev/null, /dev/stdout, a FIFO) is
// written to as it is: renamed over, /dev/null became a regular file for every program
// of the machine.
func writeFileAtomic(name string, data []byte) error {
	if fi, err := os.Stat(name); err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return fmt.Errorf("%s is a directory", name)
		}
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	tmp, err := os.CreateTemp(dirOf(name), ".gitless-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

func dirOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[:i+1]
		}
	}
	return "."
}
