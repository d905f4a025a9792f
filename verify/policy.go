package verify

import (
	"fmt"
	"regexp"
	"strings"
)

// Policy says which signatures an artifact must carry. It is plain data: the puller reads
// it from its configuration file (YAML or JSON, the field names below), the CLI builds it
// from flags. The zero value accepts nothing.
//
// A signature satisfies the policy when it is cryptographically valid for the artifact's
// digest and was made by one of Keys or by a certificate matching one of Identities; the
// artifact is accepted when at least one signature does. Unless InsecureIgnoreTlog is set,
// the signature must also carry a transparency-log proof (a Rekor entry signed by a log of
// the trusted root).
//
// Example (YAML):
//
//	keys:
//	  - /etc/gitless/cosign.pub
//	identities:
//	  - issuer: https://token.actions.githubusercontent.com
//	    subjectRegexp: https://github\.com/acme/app/\.github/workflows/release\.yml@refs/tags/v.*
//	    github:
//	      repository: acme/app
//	trustedRoot: /etc/gitless/trusted_root.json
type Policy struct {
	// Keys are public keys, any of which may have signed. Each entry is a PEM-encoded
	// public key, a path to a PEM file, env://VAR (the PEM in an environment variable),
	// or a KMS URI the sigstore library resolves (a sigstore-kms-* plugin on PATH, or a
	// provider linked into the program).
	Keys []string `json:"keys,omitempty" yaml:"keys,omitempty"`
	// Identities are keyless signers (Fulcio certificates), any of which may have signed.
	Identities []Identity `json:"identities,omitempty" yaml:"identities,omitempty"`
	// TrustedRoot is the path of a Sigstore trusted root (trusted_root.json: Fulcio
	// CAs, Rekor and CT log keys) for offline verification. Empty means the public
	// Sigstore root, fetched (and cached) through TUF when the policy needs a root:
	// for Identities, and for Keys unless InsecureIgnoreTlog is set.
	TrustedRoot string `json:"trustedRoot,omitempty" yaml:"trustedRoot,omitempty"`
	// InsecureIgnoreTlog accepts signatures without a transparency-log proof. Needed for
	// signatures made with --tlog-upload=false (air-gapped signing).
	InsecureIgnoreTlog bool `json:"insecureIgnoreTlog,omitempty" yaml:"insecureIgnoreTlog,omitempty"`
	// MatchRevision requires a keyless signature whose certificate's commit (Fulcio's
	// source repository digest, or GitHub workflow SHA) equals the commit of the artifact's
	// org.opencontainers.image.revision annotation ("main@sha1:<sha>"). Key signatures
	// carry no commit and do not satisfy it.
	MatchRevision bool `json:"matchRevision,omitempty" yaml:"matchRevision,omitempty"`
}

// Identity matches the certificate of a keyless signature. Issuer (or IssuerRegexp) and
// Subject (or SubjectRegexp) are both required: an identity that left either open would
// trust anyone that issuer vouches for, or anyone at all.
//
// Regular expressions use Go's syntax (RE2) and must match the whole value: they are
// anchored as ^(?:EXPR)$, so "https://github.com/acme/.*" does not match
// "https://github.com/acme-evil/...".
type Identity struct {
	// Issuer is the OIDC issuer, matched exactly: for GitHub Actions
	// "https://token.actions.githubusercontent.com", for GitLab "https://gitlab.com".
	Issuer       string `json:"issuer,omitempty" yaml:"issuer,omitempty"`
	IssuerRegexp string `json:"issuerRegexp,omitempty" yaml:"issuerRegexp,omitempty"`
	// Subject is the certificate's subject alternative name, matched exactly: for GitHub
	// Actions the workflow ref URI
	// "https://github.com/ORG/REPO/.github/workflows/FILE.yml@refs/heads/main".
	Subject       string `json:"subject,omitempty" yaml:"subject,omitempty"`
	SubjectRegexp string `json:"subjectRegexp,omitempty" yaml:"subjectRegexp,omitempty"`
	// GitHub claims, each matched exactly when set.
	GitHub GitHubClaims `json:"github,omitzero" yaml:"github,omitempty"`
}

// GitHubClaims are the GitHub Actions claims Fulcio writes into certificates. Each field,
// when set, must equal the certificate's value exactly.
type GitHubClaims struct {
	// Repository is "ORG/REPO" (Fulcio OID 1.3.6.1.4.1.57264.1.5, or 1.12 without the
	// server URL).
	Repository string `json:"repository,omitempty" yaml:"repository,omitempty"`
	// Ref is the git ref the workflow ran for, "refs/heads/main" (OID 1.6 or 1.14).
	Ref string `json:"ref,omitempty" yaml:"ref,omitempty"`
	// Workflow is the workflow's name (OID 1.4).
	Workflow string `json:"workflow,omitempty" yaml:"workflow,omitempty"`
	// SHA is the commit the workflow ran at (OID 1.3 or 1.13).
	SHA string `json:"sha,omitempty" yaml:"sha,omitempty"`
	// Trigger is the event that started the workflow, "push" (OID 1.2 or 1.20).
	Trigger string `json:"trigger,omitempty" yaml:"trigger,omitempty"`
}

func (g GitHubClaims) isZero() bool { return g == GitHubClaims{} }

// Validate checks the policy without reading any file or the network, and names the
// first offending field. Verify validates too; call Validate when the configuration is
// loaded, so that a bad policy is refused at start.
func (p *Policy) Validate() error {
	_, err := p.compileIdentities()
	if err != nil {
		return err
	}
	if len(p.Keys) == 0 && len(p.Identities) == 0 {
		return policyErr("keys", "a policy needs at least one key or identity")
	}
	for i, k := range p.Keys {
		if strings.TrimSpace(k) == "" {
			return policyErr(fmt.Sprintf("keys[%d]", i), "empty key reference")
		}
	}
	if p.MatchRevision && len(p.Identities) == 0 {
		return policyErr("matchRevision", "needs identities: only keyless certificates carry a commit")
	}
	return nil
}

// identityMatcher is an Identity with its expressions compiled.
type identityMatcher struct {
	Identity
	issuer, subject *regexp.Regexp
}

func (p *Policy) compileIdentities() ([]identityMatcher, error) {
	out := make([]identityMatcher, 0, len(p.Identities))
	for i, id := range p.Identities {
		field := fmt.Sprintf("identities[%d]", i)
		m := identityMatcher{Identity: id}
		var err error
		switch {
		case id.Issuer != "" && id.IssuerRegexp != "":
			return nil, policyErr(field, "issuer and issuerRegexp are exclusive")
		case id.Issuer == "" && id.IssuerRegexp == "":
			return nil, policyErr(field+".issuer", "an identity needs an issuer or issuerRegexp")
		case id.IssuerRegexp != "":
			if m.issuer, err = anchored(id.IssuerRegexp); err != nil {
				return nil, policyErr(field+".issuerRegexp", "%v", err)
			}
		}
		switch {
		case id.Subject != "" && id.SubjectRegexp != "":
			return nil, policyErr(field, "subject and subjectRegexp are exclusive")
		case id.Subject == "" && id.SubjectRegexp == "":
			return nil, policyErr(field+".subject", "an identity needs a subject or subjectRegexp")
		case id.SubjectRegexp != "":
			if m.subject, err = anchored(id.SubjectRegexp); err != nil {
				return nil, policyErr(field+".subjectRegexp", "%v", err)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// anchored compiles expr so that it must match a whole string.
func anchored(expr string) (*regexp.Regexp, error) {
	if len(expr) > 4096 {
		return nil, fmt.Errorf("expression of %d bytes, over the 4096 byte limit", len(expr))
	}
	if _, err := regexp.Compile(expr); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + expr + `)$`)
}
