package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/sign"
)

func newKeyCmd(env Env, g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Make and read cosign key pairs",
	}
	cmd.AddCommand(newKeyGenerateCmd(env), newKeyPublicCmd(env))
	return cmd
}

func newKeyGenerateCmd(env Env) *cobra.Command {
	var (
		prefix string
		force  bool
		out    clikit.Output
	)
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Write a cosign key pair (PREFIX.key, PREFIX.pub)",
		Long: `Generate an ECDSA P-256 key pair in cosign's format: PREFIX.key is the private key,
encrypted with the password in COSIGN_PASSWORD (scrypt and secretbox), written with mode
0600; PREFIX.pub is the public key. The cosign CLI of both lines reads both files, and
gitless reads cosign's. Existing files are not overwritten without --force.`,
		Example: `  COSIGN_PASSWORD=$(pass show ci/cosign) gitless key generate --output-key-prefix ci
  gitless sign oci://... --key ci.key && gitless verify oci://... --key ci.pub`,
		Args: clikit.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := out.Resolve(nil, env.Err); err != nil {
				return err
			}
			privPath, pubPath := prefix+".key", prefix+".pub"
			if !force {
				for _, p := range []string{privPath, pubPath} {
					if _, err := os.Lstat(p); err == nil {
						return clikit.Usagef("%s exists (--force to overwrite)", p)
					}
				}
			}
			password := env.Getenv(sign.PasswordEnv)
			kp, err := sign.GenerateKeyPair([]byte(password))
			if err != nil {
				return err
			}
			if err := writeKeyFile(privPath, kp.PrivatePEM, 0o600); err != nil {
				return err
			}
			if err := writeKeyFile(pubPath, kp.PublicPEM, 0o644); err != nil {
				return err
			}
			key, err := sign.LoadSigningKey(cmd.Context(), privPath, sign.KeyOptions{Password: func() ([]byte, error) { return []byte(password), nil }})
			if err != nil {
				return err
			}
			if out.Structured() {
				return out.Write(env.Out, map[string]string{"privateKey": privPath, "publicKey": pubPath, "keyID": key.KeyID()})
			}
			if password == "" {
				fmt.Fprintf(env.Err, "warning: %s is empty: %s is encrypted with an empty password\n", sign.PasswordEnv, privPath)
			}
			fmt.Fprintf(env.Err, "wrote %s (private, mode 0600) and %s (public), key %s\n", privPath, pubPath, key.KeyID())
			fmt.Fprintln(env.Out, pubPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "output-key-prefix", "cosign", "write PREFIX.key and PREFIX.pub")
	cmd.Flags().BoolVarP(&force, "force", "f", false, "overwrite existing files")
	out.AddFlags(cmd.Flags())
	return cmd
}

func newKeyPublicCmd(env Env) *cobra.Command {
	var key string
	cmd := &cobra.Command{
		Use:   "public --key REF",
		Short: "Print the public key of a private key or KMS key (PEM)",
		Args:  clikit.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if key == "" {
				return clikit.Usagef("--key is required")
			}
			k, err := sign.LoadSigningKey(cmd.Context(), key, sign.KeyOptions{Getenv: env.Getenv})
			if err != nil {
				return err
			}
			pemBytes, err := k.PublicKeyPEM()
			if err != nil {
				return err
			}
			_, err = env.Out.Write(pemBytes)
			return err
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "private key file (password in COSIGN_PASSWORD), env://VAR or KMS URI")
	return cmd
}

// writeKeyFile writes a key file with mode through a temporary file in the same
// directory (created 0600, so the private key is never readable by others).
func writeKeyFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".gitless-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(data)
	merr := tmp.Chmod(mode)
	if err := errors.Join(werr, merr, tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
