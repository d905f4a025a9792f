package verify

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Signer says who made a verified signature: a key of the policy, or the identity in a
// keyless certificate.
type Signer struct {
	// Key is the policy's key reference that verified the signature (a path, env://VAR,
	// a KMS URI, or "keys[N] (inline PEM)"); empty for keyless signatures.
	Key string `json:"key,omitempty"`
	// KeyID is "sha256:" and the hex SHA-256 of the signing public key (PKIX).
	KeyID string `json:"keyID,omitempty"`
	// Issuer is the OIDC issuer in the certificate; empty for key signatures.
	Issuer string `json:"issuer,omitempty"`
	// Subject is the certificate's subject alternative name (workflow URI, e-mail).
	Subject string `json:"subject,omitempty"`
	// GitHub holds the GitHub Actions claims of the certificate, when it has them.
	GitHub *GitHubClaims `json:"github,omitempty"`
	// Certificate is the signing certificate, PEM; empty for key signatures.
	Certificate string `json:"certificate,omitempty"`
}

// String describes the signer in one line.
func (s Signer) String() string {
	if s.Issuer == "" && s.Subject == "" {
		return fmt.Sprintf("key %s (%s)", s.Key, s.KeyID)
	}
	return fmt.Sprintf("%s (issuer %s)", s.Subject, s.Issuer)
}

// certIdentity is what a certificate says about its subject.
type certIdentity struct {
	issuer   string
	sans     []string
	github   GitHubClaims
	hasClaim bool // the certificate has GitHub claims at all
	commit   string
}

// identityOf reads the Fulcio identity of cert: the issuer extension (OID 1.1 or 1.8),
// the subject alternative names and the CI claims.
func identityOf(cert *x509.Certificate) (certIdentity, error) {
	ext, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		return certIdentity{}, fmt.Errorf("certificate extensions: %w", err)
	}
	id := certIdentity{issuer: ext.Issuer, sans: cryptoutils.GetSubjectAlternateNames(cert)}
	g := GitHubClaims{
		Repository: ext.GithubWorkflowRepository,
		Ref:        ext.GithubWorkflowRef,
		Workflow:   ext.GithubWorkflowName,
		SHA:        ext.GithubWorkflowSHA,
		Trigger:    ext.GithubWorkflowTrigger,
	}
	// Newer Fulcio extensions carry the same facts; use them where the deprecated ones
	// are absent. The repository only for GitHub-hosted URIs, so that "ORG/REPO" means
	// the same thing whichever extension it came from.
	if r, ok := strings.CutPrefix(ext.SourceRepositoryURI, "https://github.com/"); ok && g.Repository == "" {
		g.Repository = r
	}
	if g.Ref == "" {
		g.Ref = ext.SourceRepositoryRef
	}
	if g.SHA == "" {
		g.SHA = ext.SourceRepositoryDigest
	}
	if g.Trigger == "" {
		g.Trigger = ext.BuildTrigger
	}
	id.github = g
	id.hasClaim = !g.isZero()
	id.commit = g.SHA
	return id, nil
}

func (id certIdentity) subject() string {
	if len(id.sans) == 0 {
		return ""
	}
	return id.sans[0]
}

// match reports whether the certificate identity satisfies m, and if not, why.
func (m identityMatcher) match(id certIdentity) error {
	switch {
	case m.issuer != nil && !m.issuer.MatchString(id.issuer):
		return fmt.Errorf("issuer %q does not match %q", id.issuer, m.IssuerRegexp)
	case m.issuer == nil && id.issuer != m.Issuer:
		return fmt.Errorf("issuer %q is not %q", id.issuer, m.Issuer)
	}
	ok := false
	for _, san := range id.sans {
		if (m.subject != nil && m.subject.MatchString(san)) || (m.subject == nil && san == m.Subject) {
			ok = true
			break
		}
	}
	if !ok {
		want := m.Subject
		if m.subject != nil {
			want = "regexp " + m.SubjectRegexp
		}
		return fmt.Errorf("subject %q does not match %s", strings.Join(id.sans, ", "), want)
	}
	for _, c := range []struct{ name, want, got string }{
		{"repository", m.GitHub.Repository, id.github.Repository},
		{"ref", m.GitHub.Ref, id.github.Ref},
		{"workflow", m.GitHub.Workflow, id.github.Workflow},
		{"sha", m.GitHub.SHA, id.github.SHA},
		{"trigger", m.GitHub.Trigger, id.github.Trigger},
	} {
		if c.want != "" && c.got != c.want {
			return fmt.Errorf("GitHub %s %q is not %q", c.name, c.got, c.want)
		}
	}
	return nil
}

// matchIdentities checks a verified certificate against the policy's identities.
func matchIdentities(ids []identityMatcher, id certIdentity) error {
	if len(ids) == 0 {
		return fmt.Errorf("the policy has no identities for keyless signatures")
	}
	var why []string
	for i, m := range ids {
		err := m.match(id)
		if err == nil {
			return nil
		}
		why = append(why, fmt.Sprintf("identities[%d]: %v", i, err))
	}
	return fmt.Errorf("certificate identity not trusted: %s", strings.Join(why, "; "))
}

// revisionCommit returns the commit of a Flux-style revision: "main@sha1:<sha>",
// "sha1:<sha>", or a bare hex SHA.
func revisionCommit(rev string) string {
	if i := strings.LastIndex(rev, "@"); i >= 0 {
		rev = rev[i+1:]
	}
	if i := strings.Index(rev, ":"); i >= 0 {
		rev = rev[i+1:]
	}
	for _, r := range rev {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return ""
		}
	}
	return rev
}

func signerFromCert(cert *x509.Certificate, id certIdentity) Signer {
	s := Signer{Issuer: id.issuer, Subject: id.subject(), KeyID: keyID(cert.PublicKey)}
	if id.hasClaim {
		g := id.github
		s.GitHub = &g
	}
	if pemBytes, err := cryptoutils.MarshalCertificateToPEM(cert); err == nil {
		s.Certificate = string(pemBytes)
	}
	return s
}
