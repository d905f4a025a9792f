package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"net/url"
	"time"
)

// CA is a Fulcio-like certificate authority: a root and an intermediate that issues
// code-signing leaves.
type CA struct {
	Root, Intermediate *x509.Certificate
	rootKey, intKey    *ecdsa.PrivateKey
}

// NewCA makes a root and an intermediate valid from notBefore to notAfter.
func NewCA(notBefore, notAfter time.Time) (*CA, error) {
	rootKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	rootTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"gitless-test"}, CommonName: "gitless-test-fulcio-root"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	rootDER, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, rootKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	root, _ := x509.ParseCertificate(rootDER)
	intKey, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	intTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"gitless-test"}, CommonName: "gitless-test-fulcio-intermediate"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	intDER, err := x509.CreateCertificate(rand.Reader, intTmpl, root, intKey.Public(), rootKey)
	if err != nil {
		return nil, err
	}
	inter, _ := x509.ParseCertificate(intDER)
	return &CA{Root: root, Intermediate: inter, rootKey: rootKey, intKey: intKey}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	return n
}

// Claims is the identity a leaf certificate states, as Fulcio derives it from an OIDC
// token.
type Claims struct {
	// Issuer is the OIDC issuer (the token's iss).
	Issuer string
	// Subject is the subject alternative name: a URI (GitHub's workflow ref URI) or, if it
	// contains "@" and no "://", an e-mail address.
	Subject string
	// GitHub claims; empty fields are left out of the certificate.
	GitHub GitHubClaims
}

// GitHubClaims are the claims of a GitHub Actions OIDC token that Fulcio copies into
// certificates.
type GitHubClaims struct {
	Server          string // "https://github.com" when empty
	Repository      string // "acme/app"
	Ref             string // "refs/heads/main"
	SHA             string // the commit
	Workflow        string // the workflow's name
	EventName       string // "push"
	JobWorkflowRef  string // "acme/app/.github/workflows/release.yml@refs/heads/main"
	RunID           string
	RunAttempt      string
	RunnerEnv       string // "github-hosted"
	RepositoryID    string
	RepositoryOwner string
}

// Fulcio's extension OIDs (github.com/sigstore/fulcio docs/oid-info.md).
var (
	oidIssuerV1          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidGitHubTrigger     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 2}
	oidGitHubSHA         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 3}
	oidGitHubWorkflow    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 4}
	oidGitHubRepository  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 5}
	oidGitHubRef         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 6}
	oidIssuerV2          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidBuildSignerURI    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 9}
	oidBuildSignerDigest = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 10}
	oidRunnerEnvironment = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 11}
	oidSourceRepoURI     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 12}
	oidSourceRepoDigest  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 13}
	oidSourceRepoRef     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 14}
	oidSourceRepoID      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 15}
	oidSourceRepoOwner   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 16}
	oidBuildConfigURI    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 18}
	oidBuildConfigDigest = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 19}
	oidBuildTrigger      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 20}
	oidRunInvocationURI  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 21}
)

// Issue makes a code-signing leaf for pub, valid from notBefore for validity, with
// claims in Fulcio's extensions.
func (ca *CA) Issue(pub crypto.PublicKey, c Claims, notBefore time.Time, validity time.Duration) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if u, err := url.Parse(c.Subject); err == nil && u.Scheme != "" && u.Host != "" {
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{c.Subject}
	}
	raw := func(oid asn1.ObjectIdentifier, v string) {
		if v != "" {
			tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oid, Value: []byte(v)})
		}
	}
	der := func(oid asn1.ObjectIdentifier, v string) error {
		if v == "" {
			return nil
		}
		b, err := asn1.MarshalWithParams(v, "utf8")
		if err != nil {
			return err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oid, Value: b})
		return nil
	}
	raw(oidIssuerV1, c.Issuer)
	if err := der(oidIssuerV2, c.Issuer); err != nil {
		return nil, err
	}
	g := c.GitHub
	if g.Repository != "" {
		server := g.Server
		if server == "" {
			server = "https://github.com"
		}
		raw(oidGitHubTrigger, g.EventName)
		raw(oidGitHubSHA, g.SHA)
		raw(oidGitHubWorkflow, g.Workflow)
		raw(oidGitHubRepository, g.Repository)
		raw(oidGitHubRef, g.Ref)
		repoURI := server + "/" + g.Repository
		for _, e := range []struct {
			oid asn1.ObjectIdentifier
			v   string
		}{
			{oidBuildSignerURI, prefixed(server+"/", g.JobWorkflowRef)},
			{oidBuildSignerDigest, g.SHA},
			{oidRunnerEnvironment, g.RunnerEnv},
			{oidSourceRepoURI, repoURI},
			{oidSourceRepoDigest, g.SHA},
			{oidSourceRepoRef, g.Ref},
			{oidSourceRepoID, g.RepositoryID},
			{oidSourceRepoOwner, prefixed(server+"/", g.RepositoryOwner)},
			{oidBuildConfigURI, prefixed(server+"/", g.JobWorkflowRef)},
			{oidBuildConfigDigest, g.SHA},
			{oidBuildTrigger, g.EventName},
			{oidRunInvocationURI, prefixed(repoURI+"/actions/runs/", g.RunID) + suffixed("/attempts/", g.RunAttempt, g.RunID)},
		} {
			if err := der(e.oid, e.v); err != nil {
				return nil, err
			}
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Intermediate, pub, ca.intKey)
	if err != nil {
		return nil, fmt.Errorf("issuing: %w", err)
	}
	return x509.ParseCertificate(leafDER)
}

func prefixed(prefix, v string) string {
	if v == "" {
		return ""
	}
	return prefix + v
}

func suffixed(sep, v, guard string) string {
	if v == "" || guard == "" {
		return ""
	}
	return sep + v
}
