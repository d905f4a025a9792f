package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/verify"
)

// verifyOutput is what verify prints with -o json.
type verifyOutput struct {
	URL        string `json:"url"`
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	*verify.Result
}

func newVerifyCmd(env Env, g *globalFlags) *cobra.Command {
	var (
		vf  clikit.PolicyFlags
		reg clikit.RegistryFlags
		out clikit.Output
	)
	cmd := &cobra.Command{
		Use:   "verify oci://REGISTRY/REPOSITORY[:TAG|@DIGEST]",
		Short: "Verify an artifact's signature against keys or keyless identities",
		Long: `Check that the artifact carries a signature, in cosign's .sig format or as a sigstore
bundle referrer (cosign v3), that satisfies the policy: made by one of the --key public keys,
or by a Fulcio certificate whose issuer and subject match. A tag is resolved once; the
digest verified is printed, and that digest is what to fetch.

Regular expressions must match the whole value (they are anchored). A transparency-log
proof is required unless --insecure-ignore-tlog is given; --trusted-root verifies offline
against a private or air-gapped Sigstore (default: the public Sigstore root via TUF).

--policy reads the policy the puller uses (YAML or JSON: keys, identities, trustedRoot,
insecureIgnoreTlog, matchRevision).

Exit codes: 0 verified; 7 no signature satisfies the policy (never apply); 8 the signature
could not be checked (registry or Sigstore unreachable: retry); 2 bad flags or policy;
4 the registry refused the credentials; 6 no such tag or digest.`,
		Example: `  gitless verify oci://ghcr.io/acme/app-manifests:1a2b3c4 --key cosign.pub
  gitless verify oci://ghcr.io/acme/app-manifests@sha256:... \
    --certificate-oidc-issuer https://token.actions.githubusercontent.com \
    --certificate-identity-regexp 'https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v.*' \
    --certificate-github-workflow-repository acme/app --match-revision -o json
  gitless verify oci://registry.internal/app:v1 --key cosign.pub --trusted-root trusted_root.json`,
		Args: clikit.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := out.Resolve(nil, env.Err); err != nil {
				return err
			}
			ref, err := parseRef(a[0])
			if err != nil {
				return err
			}
			p, err := vf.Policy()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			rc, err := registryClient(ctx, env, g, &reg, ref.Registry)
			if err != nil {
				return err
			}
			pinned := ref
			if ref.Digest == "" {
				desc, err := rc.Resolve(ctx, ref)
				if err != nil {
					// A registry that cannot be reached, or answers 5xx/429, leaves
					// the signature unchecked (exit 8: retry); a refusal and a missing
					// tag keep their own codes.
					if !errors.Is(err, remote.ErrUnauthorized) && !errors.Is(err, remote.ErrNotFound) && !errors.Is(err, context.Canceled) {
						err = fmt.Errorf("%w: %w", verify.ErrUnavailable, err)
					}
					return err
				}
				pinned = ref.WithDigest(desc.Digest)
			}
			c := verify.New(verify.Options{Registry: rc, Logger: g.logger(env), Getenv: env.Getenv})
			res, err := c.Verify(ctx, pinned, p)
			if err != nil {
				return err
			}
			if out.Structured() {
				return out.Write(env.Out, verifyOutput{URL: res.Reference.String(), Repository: ref.Repo(), Tag: ref.Tag, Result: res})
			}
			from := ""
			if ref.Digest == "" {
				from = " (tag " + ref.Tag + ")"
			}
			fmt.Fprintf(env.Err, "verified %s%s: signed by %s (%s format)\n", res.Digest, from, res.Signer, res.Format)
			if g := res.Signer.GitHub; g != nil {
				fmt.Fprintf(env.Err, "  GitHub: repository %s, ref %s, workflow %s, commit %s, trigger %s\n", g.Repository, g.Ref, g.Workflow, g.SHA, g.Trigger)
			}
			if res.Tlog != nil && res.Tlog.Verified {
				fmt.Fprintf(env.Err, "  transparency log: entry %d, %s\n", res.Tlog.LogIndex, res.Tlog.IntegratedTime.Format("2006-01-02T15:04:05Z"))
			} else {
				fmt.Fprintln(env.Err, "  transparency log: not checked (--insecure-ignore-tlog)")
			}
			fmt.Fprintln(env.Out, res.Reference.String())
			return nil
		},
	}
	f := cmd.Flags()
	vf.AddFlags(f)
	reg.AddFlags(f)
	out.AddFlags(f)
	return cmd
}
