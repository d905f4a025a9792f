package sigstoretest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/oauthflow"
	"github.com/sigstore/sigstore/pkg/signature"
)

// GitHubIssuer is the issuer of GitHub Actions tokens; the test issuer uses the same
// string, so that policies read like production ones.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// Options configures Start.
type Options struct {
	// Issuer is the iss of the minted tokens; GitHubIssuer by default.
	Issuer string
	// CertValidity is the lifetime of issued leaves; 10 minutes (Fulcio's) by default.
	CertValidity time.Duration
	// CANotBefore and CANotAfter bound the CA; one hour ago to one year ahead by default.
	CANotBefore, CANotAfter time.Time
}

// Sigstore is a running private Sigstore.
type Sigstore struct {
	// FulcioURL and RekorURL are the base URLs to give signing clients.
	FulcioURL, RekorURL string
	// Issuer is the OIDC issuer of GitHubToken's tokens.
	Issuer string
	CA     *CA
	Log    *Log

	opts      Options
	oidcKey   *ecdsa.PrivateKey
	mu        sync.Mutex
	issued    int
	actions   map[string]string // request token → OIDC token
	actionsMu sync.Mutex
}

// Start runs the services on loopback until the test ends.
func Start(t testing.TB, opts Options) *Sigstore {
	t.Helper()
	if opts.Issuer == "" {
		opts.Issuer = GitHubIssuer
	}
	if opts.CertValidity == 0 {
		opts.CertValidity = 10 * time.Minute
	}
	now := time.Now()
	if opts.CANotBefore.IsZero() {
		opts.CANotBefore = now.Add(-time.Hour)
	}
	if opts.CANotAfter.IsZero() {
		opts.CANotAfter = now.Add(365 * 24 * time.Hour)
	}
	ca, err := NewCA(opts.CANotBefore, opts.CANotAfter)
	if err != nil {
		t.Fatal(err)
	}
	oidcKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sigstore{Issuer: opts.Issuer, CA: ca, opts: opts, oidcKey: oidcKey, actions: map[string]string{}}
	fulcio := httptest.NewServer(http.HandlerFunc(s.serveFulcio))
	t.Cleanup(fulcio.Close)
	s.FulcioURL = fulcio.URL
	s.Log, err = NewLog()
	if err != nil {
		t.Fatal(err)
	}
	rekor := httptest.NewServer(s.Log)
	t.Cleanup(rekor.Close)
	s.RekorURL = rekor.URL
	s.Log.BaseURL = rekor.URL
	return s
}

// Token mints an OIDC token with the given claims (iss, aud "sigstore", iat, exp are
// added).
func (s *Sigstore) Token(claims map[string]any) string {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: s.oidcKey}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	now := time.Now()
	c := map[string]any{"iss": s.Issuer, "aud": "sigstore", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	for k, v := range claims {
		c[k] = v
	}
	tok, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		panic(err)
	}
	return tok
}

// GitHubToken mints a token like GitHub Actions gives a job of g.Repository. The
// certificate Fulcio makes from it has the subject
// https://github.com/<JobWorkflowRef> (default workflow .github/workflows/release.yml at
// g.Ref).
func (s *Sigstore) GitHubToken(g GitHubClaims) string {
	g = g.withDefaults()
	return s.Token(map[string]any{
		"sub":                 "repo:" + g.Repository + ":ref:" + g.Ref,
		"repository":          g.Repository,
		"repository_owner":    g.RepositoryOwner,
		"repository_id":       g.RepositoryID,
		"ref":                 g.Ref,
		"sha":                 g.SHA,
		"workflow":            g.Workflow,
		"event_name":          g.EventName,
		"job_workflow_ref":    g.JobWorkflowRef,
		"run_id":              g.RunID,
		"run_attempt":         g.RunAttempt,
		"runner_environment":  g.RunnerEnv,
		"workflow_ref":        g.JobWorkflowRef,
		"repository_owner_id": "1",
	})
}

func (g GitHubClaims) withDefaults() GitHubClaims {
	if g.Ref == "" {
		g.Ref = "refs/heads/main"
	}
	if g.Workflow == "" {
		g.Workflow = "release"
	}
	if g.EventName == "" {
		g.EventName = "push"
	}
	if g.JobWorkflowRef == "" {
		g.JobWorkflowRef = g.Repository + "/.github/workflows/release.yml@" + g.Ref
	}
	if g.RepositoryOwner == "" {
		g.RepositoryOwner, _, _ = strings.Cut(g.Repository, "/")
	}
	if g.RunID == "" {
		g.RunID = "4242"
	}
	if g.RunAttempt == "" {
		g.RunAttempt = "1"
	}
	if g.RunnerEnv == "" {
		g.RunnerEnv = "github-hosted"
	}
	if g.RepositoryID == "" {
		g.RepositoryID = "123456"
	}
	return g
}

// GitHubSubject is the certificate subject Fulcio gives a token of GitHubToken(g).
func GitHubSubject(g GitHubClaims) string {
	return "https://github.com/" + g.withDefaults().JobWorkflowRef
}

// ActionsTokenEndpoint starts a GitHub Actions token endpoint that hands out token to
// whoever presents the returned request token; it returns what the runner would put in
// ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN.
func (s *Sigstore) ActionsTokenEndpoint(t testing.TB, token string) (requestURL, requestToken string) {
	t.Helper()
	requestToken = fmt.Sprintf("actions-request-%d", time.Now().UnixNano())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+requestToken {
			http.Error(w, "bad request token", http.StatusUnauthorized)
			return
		}
		if r.URL.Query().Get("audience") != "sigstore" {
			http.Error(w, "audience must be sigstore", http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"value": token})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token?api-version=2.0", requestToken
}

// IssuedCertificates counts the certificates Fulcio issued.
func (s *Sigstore) IssuedCertificates() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// serveFulcio implements POST /api/v2/signingCert (JSON chain) and the v1 API the
// cosign v2 CLI uses, POST /api/v1/signingCert (PEM chain).
func (s *Sigstore) serveFulcio(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/signingCert" {
		s.serveFulcioV1(w, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/signingCert" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	var req struct {
		Credentials struct {
			OIDCIdentityToken string `json:"oidcIdentityToken"`
		} `json:"credentials"`
		PublicKeyRequest struct {
			PublicKey struct {
				Algorithm string `json:"algorithm"`
				Content   string `json:"content"`
			} `json:"publicKey"`
			ProofOfPossession string `json:"proofOfPossession"`
		} `json:"publicKeyRequest"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	token := req.Credentials.OIDCIdentityToken
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = bearer
	}
	pop, err := base64.StdEncoding.DecodeString(req.PublicKeyRequest.ProofOfPossession)
	if err != nil {
		http.Error(w, "bad proof of possession", http.StatusBadRequest)
		return
	}
	chain, status, err := s.issue(token, []byte(req.PublicKeyRequest.PublicKey.Content), pop)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}},
	})
}

func (s *Sigstore) serveFulcioV1(w http.ResponseWriter, r *http.Request) {
	var req struct {
		PublicKey struct {
			Content []byte `json:"content"`
		} `json:"publicKey"`
		SignedEmailAddress []byte `json:"signedEmailAddress"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	chain, status, err := s.issue(token, req.PublicKey.Content, req.SignedEmailAddress)
	if err != nil {
		http.Error(w, err.Error(), status)
		return
	}
	w.Header().Set("Content-Type", "application/pem-certificate-chain")
	w.WriteHeader(http.StatusCreated)
	io.WriteString(w, strings.Join(chain, ""))
}

// issue checks the token and the proof of possession (a signature over the token's
// subject) and returns the PEM chain of a new leaf for the key.
func (s *Sigstore) issue(token string, keyBytes, pop []byte) ([]string, int, error) {
	claims, err := s.verifyToken(token)
	if err != nil {
		return nil, http.StatusUnauthorized, fmt.Errorf("invalid token: %w", err)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(keyBytes)
	if err != nil {
		if pub, err = x509.ParsePKIXPublicKey(keyBytes); err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("bad public key: %w", err)
		}
	}
	// Proof of possession: a signature over the token's subject.
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	subject, err := oauthflow.SubjectFromUnverifiedToken(payload)
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("no subject: %w", err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil || v.VerifySignature(strings.NewReader(string(pop)), strings.NewReader(subject)) != nil {
		return nil, http.StatusBadRequest, errors.New("proof of possession does not verify")
	}
	c := Claims{Issuer: claims.str("iss")}
	if jwr := claims.str("job_workflow_ref"); jwr != "" {
		c.Subject = "https://github.com/" + jwr
		c.GitHub = GitHubClaims{
			Repository: claims.str("repository"), Ref: claims.str("ref"), SHA: claims.str("sha"),
			Workflow: claims.str("workflow"), EventName: claims.str("event_name"), JobWorkflowRef: jwr,
			RunID: claims.str("run_id"), RunAttempt: claims.str("run_attempt"), RunnerEnv: claims.str("runner_environment"),
			RepositoryID: claims.str("repository_id"), RepositoryOwner: claims.str("repository_owner"),
		}
	} else if email := claims.str("email"); email != "" {
		c.Subject = email
	} else {
		c.Subject = claims.str("sub")
	}
	leaf, err := s.CA.Issue(pub, c, time.Now().Add(-time.Second), s.opts.CertValidity)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	s.mu.Lock()
	s.issued++
	s.mu.Unlock()
	var chain []string
	for _, cert := range []*x509.Certificate{leaf, s.CA.Intermediate, s.CA.Root} {
		p, _ := cryptoutils.MarshalCertificateToPEM(cert)
		chain = append(chain, string(p))
	}
	return chain, http.StatusCreated, nil
}

type claimSet map[string]any

func (c claimSet) str(k string) string {
	s, _ := c[k].(string)
	return s
}

func (s *Sigstore) verifyToken(token string) (claimSet, error) {
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, err
	}
	var std jwt.Claims
	var all claimSet
	if err := tok.Claims(&s.oidcKey.PublicKey, &std, &all); err != nil {
		return nil, err
	}
	if err := std.Validate(jwt.Expected{Issuer: s.Issuer, AnyAudience: jwt.Audience{"sigstore"}, Time: time.Now()}); err != nil {
		return nil, err
	}
	return all, nil
}

// RootOptions configures TrustedRoot.
type RootOptions struct {
	// NoRekor leaves the transparency log out (for tlog-less verification).
	NoRekor bool
	// NoCA leaves the certificate authority out.
	NoCA bool
	// CAValidUntil, when set, ends the CA's validity in the trusted root at that time
	// (an expired root when in the past).
	CAValidUntil time.Time
}

// TrustedRoot returns a trusted_root.json trusting this CA and log.
func (s *Sigstore) TrustedRoot(opts RootOptions) ([]byte, error) {
	var cas []root.CertificateAuthority
	if !opts.NoCA {
		cas = append(cas, &root.FulcioCertificateAuthority{
			Root:                s.CA.Root,
			Intermediates:       []*x509.Certificate{s.CA.Intermediate},
			ValidityPeriodStart: s.opts.CANotBefore,
			ValidityPeriodEnd:   opts.CAValidUntil,
			URI:                 s.FulcioURL,
		})
	}
	tlogs := map[string]*root.TransparencyLog{}
	if !opts.NoRekor {
		tlogs[s.Log.LogID()] = s.Log.transparencyLog()
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, cas, nil, nil, tlogs)
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// WriteTrustedRoot writes TrustedRoot(opts) to a file in a test directory and returns
// its path.
func (s *Sigstore) WriteTrustedRoot(t testing.TB, opts RootOptions) string {
	t.Helper()
	b, err := s.TrustedRoot(opts)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "trusted_root.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// logKeyID is Rekor's log ID: the SHA-256 of the log key's PKIX encoding.
func logKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return sum[:], nil
}

var errNoEntry = errors.New("no such entry")

// ChainPEM is the CA chain, intermediate first and root last (cosign's
// --certificate-chain), and RootPEM the root alone (SIGSTORE_ROOT_FILE).
func (s *Sigstore) ChainPEM() (chain, rootPEM []byte) {
	inter, _ := cryptoutils.MarshalCertificateToPEM(s.CA.Intermediate)
	rootPEM, _ = cryptoutils.MarshalCertificateToPEM(s.CA.Root)
	return append(inter, rootPEM...), rootPEM
}

// PublicKeyPEM is the log's public key (cosign's SIGSTORE_REKOR_PUBLIC_KEY).
func (l *Log) PublicKeyPEM() []byte {
	b, _ := cryptoutils.MarshalPublicKeyToPEM(l.key.Public())
	return b
}
