package clikit

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/verify"
)

// PolicyFlags are the verification policy flags of gitless verify and gitless-puller
// sync and run, cosign's names where cosign has them, mapped onto a verify.Policy (or
// read from a policy file).
type PolicyFlags struct {
	// Alternative is said, with the flags, when no key or identity was given
	// (gitless-puller: "--insecure-skip-verify for none").
	Alternative string

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

// AddFlags adds the policy flags.
func (v *PolicyFlags) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&v.policyFile, "policy", "", "verification policy file (YAML or JSON: keys, identities, trustedRoot, insecureIgnoreTlog, matchRevision; a puller source's verify section), instead of the key and certificate flags")
	f.StringArrayVar(&v.keys, "key", nil, "public key that may have signed: a PEM file, env://VAR or a KMS URI (repeatable)")
	f.StringVar(&v.identity, "certificate-identity", "", "keyless: the certificate's subject (workflow URI, e-mail), exactly")
	f.StringVar(&v.identityRegexp, "certificate-identity-regexp", "", "keyless: a regular expression the whole subject must match")
	f.StringVar(&v.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer, exactly (GitHub Actions: https://token.actions.githubusercontent.com)")
	f.StringVar(&v.issuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a regular expression the whole issuer must match")
	f.StringVar(&v.github.Repository, "certificate-github-workflow-repository", "", "keyless: the GitHub repository (ORG/REPO) the workflow ran in")
	f.StringVar(&v.github.Ref, "certificate-github-workflow-ref", "", "keyless: the git ref the workflow ran for (refs/heads/main)")
	f.StringVar(&v.github.Workflow, "certificate-github-workflow-name", "", "keyless: the workflow's name")
	f.StringVar(&v.github.SHA, "certificate-github-workflow-sha", "", "keyless: the commit the workflow ran at")
	f.StringVar(&v.github.Trigger, "certificate-github-workflow-trigger", "", "keyless: the event that started the workflow (push)")
	f.BoolVar(&v.matchRevision, "match-revision", false, "keyless: the certificate's commit must be the commit of the artifact's revision annotation (org.opencontainers.image.revision)")
	f.StringVar(&v.trustedRoot, "trusted-root", "", "Sigstore trusted root (trusted_root.json) for offline verification")
	f.BoolVar(&v.ignoreTlog, "insecure-ignore-tlog", false, "accept signatures without a transparency-log proof (signed with --tlog-upload=false)")
}

// Policy is the policy the flags describe. Errors are usage errors, or match
// verify.ErrInvalidPolicy (exit code 2 either way).
func (v *PolicyFlags) Policy() (*verify.Policy, error) {
	fromFlags := len(v.keys) > 0 || v.identity != "" || v.identityRegexp != "" || v.issuer != "" || v.issuerRegexp != "" ||
		v.github != (verify.GitHubClaims{}) || v.matchRevision
	if v.policyFile != "" {
		if fromFlags {
			return nil, Usagef("--policy and the key or certificate flags are exclusive")
		}
		b, err := ReadSmallFile(v.policyFile, 1<<20)
		if err != nil {
			return nil, Usagef("--policy: %v", err)
		}
		var p verify.Policy
		if err := yaml.UnmarshalStrict(b, &p); err != nil {
			return nil, Usagef("--policy %s: %v", v.policyFile, err)
		}
		// flags that only locate or loosen may still apply
		if v.trustedRoot != "" {
			p.TrustedRoot = v.trustedRoot
		}
		p.InsecureIgnoreTlog = p.InsecureIgnoreTlog || v.ignoreTlog
		if err := p.Validate(); err != nil {
			return nil, Usage(err)
		}
		return &p, nil
	}
	p := &verify.Policy{Keys: v.keys, TrustedRoot: v.trustedRoot, InsecureIgnoreTlog: v.ignoreTlog, MatchRevision: v.matchRevision}
	if v.identity != "" || v.identityRegexp != "" || v.issuer != "" || v.issuerRegexp != "" {
		p.Identities = []verify.Identity{{
			Issuer: v.issuer, IssuerRegexp: v.issuerRegexp,
			Subject: v.identity, SubjectRegexp: v.identityRegexp,
			GitHub: v.github,
		}}
	} else if v.github != (verify.GitHubClaims{}) {
		return nil, Usagef("the --certificate-github-workflow-* flags need --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]")
	}
	if len(p.Keys) == 0 && len(p.Identities) == 0 {
		msg := "say whom to trust: --key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp], or --policy"
		if v.Alternative != "" {
			msg += " (" + v.Alternative + ")"
		}
		return nil, Usagef("%s", msg)
	}
	if err := p.Validate(); err != nil {
		return nil, Usage(err)
	}
	return p, nil
}

// ReadSmallFile reads a file of at most max bytes.
func ReadSmallFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is over %d bytes", path, max)
	}
	return b, nil
}
