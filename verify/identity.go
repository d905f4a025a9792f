package verify

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/gitless-dev/gitless/internal/sigstore"
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

// match reports whether the certificate identity satisfies m, and if not, why.
func (m identityMatcher) match(id sigstore.CertIdentity) error {
	switch {
	case m.issuer != nil && !m.issuer.MatchString(id.Issuer):
		return fmt.Errorf("issuer %q does not match %q", id.Issuer, m.IssuerRegexp)
	case m.issuer == nil && id.Issuer != m.Issuer:
		return fmt.Errorf("issuer %q is not %q", id.Issuer, m.Issuer)
	}
	ok := false
	for _, san := range id.SANs {
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
		return fmt.Errorf("subject %q does not match %s", strings.Join(id.SANs, ", "), want)
	}
	for _, c := range []struct{ name, want, got string }{
		{"repository", m.GitHub.Repository, id.GitHub.Repository},
		{"ref", m.GitHub.Ref, id.GitHub.Ref},
		{"workflow", m.GitHub.Workflow, id.GitHub.Workflow},
		{"sha", m.GitHub.SHA, id.GitHub.SHA},
		{"trigger", m.GitHub.Trigger, id.GitHub.Trigger},
	} {
		if c.want != "" && c.got != c.want {
			return fmt.Errorf("GitHub %s %q is not %q", c.name, c.got, c.want)
		}
	}
	return nil
}

// matchIdentities checks a verified certificate against the policy's identities.
func matchIdentities(ids []identityMatcher, id sigstore.CertIdentity) error {
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

// SignerFromCertificate says who a Fulcio certificate names: issuer, subject, GitHub
// claims, and the certificate itself.
func SignerFromCertificate(cert *x509.Certificate) (Signer, error) {
	id, err := sigstore.IdentityOf(cert)
	if err != nil {
		return Signer{}, err
	}
	return signerFromCert(cert, id), nil
}

func signerFromCert(cert *x509.Certificate, id sigstore.CertIdentity) Signer {
	s := Signer{Issuer: id.Issuer, Subject: id.Subject(), KeyID: sigstore.KeyID(cert.PublicKey)}
	if id.HasClaim {
		g := GitHubClaims(id.GitHub)
		s.GitHub = &g
	}
	if pemBytes, err := cryptoutils.MarshalCertificateToPEM(cert); err == nil {
		s.Certificate = string(pemBytes)
	}
	return s
}
