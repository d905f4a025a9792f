package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/verify"
)

// verifyFlags build a verify.Policy from cosign-style flags, or read one from a file.
type verifyFlags struct {
	policyFile     string
	keys           []string
	identity       string
	identityRegexp string
	issuer         string
	issuerRegexp   string
	github         verify.GitHubClaims
	matchRevision  bool
	trustedRoot    string
	ignoreTlog     bool
}

func (v *verifyFlags) policy() (*verify.Policy, error) {
	fromFlags := len(v.keys) > 0 || v.identity != "" || v.identityRegexp != "" || v.issuer != "" || v.issuerRegexp != "" ||
		v.github != (verify.GitHubClaims{}) || v.matchRevision
	if v.policyFile != "" {
		if fromFlags {
			return nil, usagef("--policy and the key or certificate flags are exclusive")
		}
		b, err := readPolicyFile(v.policyFile)
		if err != nil {
			return nil, usagef("--policy: %v", err)
		}
		var p verify.Policy
		if err := yaml.UnmarshalStrict(b, &p); err != nil {
			return nil, usagef("--policy %s: %v", v.policyFile, err)
		}
		// flags that only loosen or locate may still apply
		if v.trustedRoot != "" {
			p.TrustedRoot = v.trustedRoot
		}
		p.InsecureIgnoreTlog = p.InsecureIgnoreTlog || v.ignoreTlog
		return &p, p.Validate()
	}
	p := &verify.Policy{Keys: v.keys, TrustedRoot: v.trustedRoot, InsecureIgnoreTlog: v.ignoreTlog, MatchRevision: v.matchRevision}
	certFlags := v.identity != "" || v.identityRegexp != "" || v.issuer != "" || v.issuerRegexp != ""
	if certFlags {
		p.Identities = []verify.Identity{{
			Issuer: v.issuer, IssuerRegexp: v.issuerRegexp,
			Subject: v.identity, SubjectRegexp: v.identityRegexp,
			GitHub: v.github,
		}}
	} else if v.github != (verify.GitHubClaims{}) {
		return nil, usagef("the --certificate-github-workflow-* flags need --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]")
	}
	if len(p.Keys) == 0 && len(p.Identities) == 0 {
		return nil, usagef("say whom to trust: --key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp], or --policy")
	}
	if err := p.Validate(); err != nil {
		return nil, usageError{err}
	}
	return p, nil
}

func readPolicyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("%s is over 1 MiB", path)
	}
	return b, nil
}

// verifyOutput is what verify prints with -o json.
type verifyOutput struct {
	URL        string `json:"url"`
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	*verify.Result
}

func newVerifyCmd(env Env, g *globalFlags) *cobra.Command {
	var (
		vf  verifyFlags
		reg registryFlags
		out outputFlag
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
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := out.validate(); err != nil {
				return err
			}
			ref, err := parseRef(a[0])
			if err != nil {
				return err
			}
			p, err := vf.policy()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			pinned := ref
			if ref.Digest == "" {
				rc, err := reg.client(ctx, env, g, ref.Registry)
				if err != nil {
					return err
				}
				desc, err := rc.Resolve(ctx, ref)
				if err != nil {
					return err
				}
				pinned = ref.WithDigest(desc.Digest)
			}
			c, err := reg.signClient(ctx, env, g, ref.Registry)
			if err != nil {
				return err
			}
			res, err := c.Verify(ctx, pinned, p)
			if err != nil {
				return err
			}
			if out.json() {
				return writeJSON(env.Out, verifyOutput{URL: res.Reference.String(), Repository: ref.Repo(), Tag: ref.Tag, Result: res})
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
	f.StringVar(&vf.policyFile, "policy", "", "verification policy file (YAML or JSON), as the puller reads it")
	f.StringArrayVar(&vf.keys, "key", nil, "public key that may have signed: a PEM file, env://VAR or a KMS URI (repeatable)")
	f.StringVar(&vf.identity, "certificate-identity", "", "keyless: the certificate's subject (workflow URI, e-mail), exactly")
	f.StringVar(&vf.identityRegexp, "certificate-identity-regexp", "", "keyless: a regular expression the whole subject must match")
	f.StringVar(&vf.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer, exactly (GitHub Actions: https://token.actions.githubusercontent.com)")
	f.StringVar(&vf.issuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a regular expression the whole issuer must match")
	f.StringVar(&vf.github.Repository, "certificate-github-workflow-repository", "", "keyless: the GitHub repository (ORG/REPO) the workflow ran in")
	f.StringVar(&vf.github.Ref, "certificate-github-workflow-ref", "", "keyless: the git ref the workflow ran for (refs/heads/main)")
	f.StringVar(&vf.github.Workflow, "certificate-github-workflow-name", "", "keyless: the workflow's name")
	f.StringVar(&vf.github.SHA, "certificate-github-workflow-sha", "", "keyless: the commit the workflow ran at")
	f.StringVar(&vf.github.Trigger, "certificate-github-workflow-trigger", "", "keyless: the event that started the workflow (push)")
	f.BoolVar(&vf.matchRevision, "match-revision", false, "keyless: the certificate's commit must be the commit of the artifact's org.opencontainers.image.revision")
	f.StringVar(&vf.trustedRoot, "trusted-root", "", "Sigstore trusted root (trusted_root.json) for offline verification")
	f.BoolVar(&vf.ignoreTlog, "insecure-ignore-tlog", false, "accept signatures without a transparency-log proof (signed with --tlog-upload=false)")
	reg.AddFlags(f)
	out.AddFlags(f)
	return cmd
}
