package pullercli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/puller/config"
)

func newConvertFluxCmd(env Env, k *kubeFlags) *cobra.Command {
	var keysDir string
	cmd := &cobra.Command{
		Use:   "convert-flux FILE... (- for stdin)",
		Short: "Turn Flux OCIRepository and Kustomization objects into a puller configuration",
		Long: `convert-flux reads Flux's OCIRepository and Kustomization objects (YAML or JSON streams,
as a fleet repository, 'kubectl get ocirepositories,kustomizations -A -o yaml' or, for
one namespace, 'flux export source oci --all; flux export kustomization --all' gives them) and prints the puller configuration that does the same: one source per
Kustomization of an OCIRepository (docs/flux.md says how each field maps).

What must be done beside the file (a Secret of public keys to copy and mount, a ConfigMap
to copy into the puller's namespace) is printed on stderr as notes. A
field with no equivalent (decryption, components, a GitRepository source, a cloud
provider's workload identity) is an error naming the object and the field, every one of
them at once, exit 2: nothing is dropped without a word.`,
		Example: `  kubectl get ocirepositories.source.toolkit.fluxcd.io,kustomizations.kustomize.toolkit.fluxcd.io -A -o yaml > flux.yaml
  gitless-puller convert-flux flux.yaml -n gitless-system > puller.yaml
  gitless-puller convert-flux clusters/production/*.yaml > puller.yaml`,
		Args: clikit.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var inputs []config.FluxInput
			for _, a := range args {
				var b []byte
				var err error
				if a == "-" {
					b, err = io.ReadAll(io.LimitReader(os.Stdin, config.MaxSize+1))
					a = "(stdin)"
				} else {
					b, err = os.ReadFile(a)
				}
				if err != nil {
					return fmt.Errorf("reading %s: %w", a, err)
				}
				inputs = append(inputs, config.FluxInput{Name: a, Data: b}) // FromFlux refuses one over MaxSize
			}
			c, notes, err := config.FromFlux(inputs, config.FromFluxOptions{Namespace: k.namespace, KeysDir: keysDir})
			for _, n := range notes {
				fmt.Fprintln(env.Err, "note:", n)
			}
			if err != nil {
				return clikit.Usage(err)
			}
			out, err := config.Marshal(c)
			if err != nil {
				return err
			}
			_, err = env.Out.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&keysDir, "keys-dir", "/etc/gitless/keys", "where the Secrets of public keys that OCIRepositories verify with are mounted in the puller's pod (one directory NAMESPACE-NAME each)")
	return cmd
}
