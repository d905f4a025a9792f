package sigstore

import (
	"crypto/x509"
	"fmt"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// Claims are the GitHub Actions claims of a Fulcio certificate (the fields of
// verify.GitHubClaims, in the same order, so that one converts to the other).
type Claims struct {
	Repository string
	Ref        string
	Workflow   string
	SHA        string
	Trigger    string
}

// CertIdentity is what a Fulcio certificate says about its subject.
type CertIdentity struct {
	Issuer   string
	SANs     []string
	GitHub   Claims
	HasClaim bool   // the certificate has GitHub claims at all
	Commit   string // the commit the signing workflow ran at, if the certificate says
}

// Subject is the first subject alternative name (a workflow URI, an e-mail).
func (id CertIdentity) Subject() string {
	if len(id.SANs) == 0 {
		return ""
	}
	return id.SANs[0]
}

// IdentityOf reads the Fulcio identity of cert: the issuer extension (OID 1.1 or 1.8),
// the subject alternative names and the CI claims.
func IdentityOf(cert *x509.Certificate) (CertIdentity, error) {
	ext, err := certificate.ParseExtensions(cert.Extensions)
	if err != nil {
		return CertIdentity{}, fmt.Errorf("certificate extensions: %w", err)
	}
	id := CertIdentity{Issuer: ext.Issuer, SANs: cryptoutils.GetSubjectAlternateNames(cert)}
	g := Claims{
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
	id.GitHub = g
	id.HasClaim = g != Claims{}
	id.Commit = g.SHA
	return id, nil
}
