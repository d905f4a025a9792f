package registry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// tokenTTL is how long issued tokens are valid.
const tokenTTL = 5 * time.Minute

// tokenPath is the token endpoint's path on the token server.
const tokenPath = "/token"

type tokenServerOptions struct {
	addr               string // listen address
	dir                string // where to write the root certificate
	issuer, service    string
	username, password string
	// readOnly is a second user who gets pull access only (a token without
	// write permission, as GITHUB_TOKEN without packages: write on ghcr.io).
	readOnlyUser, readOnlyPassword string
}

// tokenServer implements the registry token protocol
// (https://distribution.github.io/distribution/spec/auth/token/ and its
// OAuth2 variant, .../spec/auth/oauth/) for a single user.
type tokenServer struct {
	opts     tokenServerOptions
	key      *ecdsa.PrivateKey
	x5c      string // base64 DER of the self-signed certificate of key
	certPath string // PEM of the same certificate: the registry's rootcertbundle
	realm    string
	requests atomic.Int64

	srv    *http.Server
	served chan struct{}
}

func startTokenServer(opts tokenServerOptions) (*tokenServer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generating signing key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: opts.issuer},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("making signing certificate: %w", err)
	}
	certPath := filepath.Join(opts.dir, "token-root.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, fmt.Errorf("writing signing certificate: %w", err)
	}

	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return nil, err
	}
	s := &tokenServer{
		opts:     opts,
		key:      key,
		x5c:      base64.StdEncoding.EncodeToString(der),
		certPath: certPath,
		realm:    "http://" + ln.Addr().String() + tokenPath,
	}
	mux := http.NewServeMux()
	mux.Handle(tokenPath, s)
	s.srv = newServer(mux)
	s.served = serve(s.srv, ln)
	return s, nil
}

func (s *tokenServer) close(ctx context.Context) error {
	err := shutdown(ctx, s.srv)
	<-s.served
	return err
}

// tokenResponse is the body of a successful token request; both spellings
// of the token are set, as Docker Hub does.
type tokenResponse struct {
	Token       string `json:"token"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	IssuedAt    string `json:"issued_at"`
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	s.requests.Add(1)

	var (
		username, password string
		haveCreds          bool
		scopes             []string
		service            string
	)
	switch req.Method {
	case http.MethodGet:
		// Docker's token protocol: credentials as HTTP basic, scopes as
		// repeated query parameters.
		username, password, haveCreds = req.BasicAuth()
		q := req.URL.Query()
		service = q.Get("service")
		for _, sc := range q["scope"] {
			scopes = append(scopes, strings.Fields(sc)...)
		}
	case http.MethodPost:
		// OAuth2 password grant: everything in the form, scopes space-separated.
		req.Body = http.MaxBytesReader(w, req.Body, 64<<10)
		if err := req.ParseForm(); err != nil {
			writeTokenError(w, http.StatusBadRequest, "invalid_request", "malformed form")
			return
		}
		if gt := req.PostForm.Get("grant_type"); gt != "password" {
			writeTokenError(w, http.StatusBadRequest, "unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported", gt))
			return
		}
		username, password = req.PostForm.Get("username"), req.PostForm.Get("password")
		haveCreds = username != "" || password != ""
		service = req.PostForm.Get("service")
		scopes = strings.Fields(req.PostForm.Get("scope"))
	default:
		w.Header().Set("Allow", "GET, POST")
		writeTokenError(w, http.StatusMethodNotAllowed, "invalid_request", "use GET or POST")
		return
	}

	if service != "" && service != s.opts.service {
		writeTokenError(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("unknown service %q", service))
		return
	}
	if !haveCreds {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", s.opts.service))
		writeTokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return
	}
	readOnly := s.opts.readOnlyUser != "" && sameSecret(username, s.opts.readOnlyUser) && sameSecret(password, s.opts.readOnlyPassword)
	if !readOnly && !s.checkCredentials(username, password) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", s.opts.service))
		writeTokenError(w, http.StatusUnauthorized, "UNAUTHORIZED", "invalid username or password")
		return
	}

	access := grant(scopes)
	if readOnly {
		access = pullOnly(access)
	}
	now := time.Now()
	token, err := s.sign(username, access, now)
	if err != nil {
		writeTokenError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(tokenResponse{
		Token:       token,
		AccessToken: token,
		ExpiresIn:   int(tokenTTL / time.Second),
		IssuedAt:    now.UTC().Format(time.RFC3339),
	})
}

// sameSecret compares digests so that the comparison takes the same time whatever the
// lengths.
func sameSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// pullOnly keeps only the pull action of each grant.
func pullOnly(access []resourceActions) []resourceActions {
	var out []resourceActions
	for _, a := range access {
		if slices.Contains(a.Actions, "pull") {
			a.Actions = []string{"pull"}
			out = append(out, a)
		}
	}
	return out
}

func (s *tokenServer) checkCredentials(username, password string) bool {
	// Compare digests so the comparison takes the same time whatever the lengths.
	u1, u2 := sha256.Sum256([]byte(username)), sha256.Sum256([]byte(s.opts.username))
	p1, p2 := sha256.Sum256([]byte(password)), sha256.Sum256([]byte(s.opts.password))
	return subtle.ConstantTimeCompare(u1[:], u2[:])&subtle.ConstantTimeCompare(p1[:], p2[:]) == 1
}

// writeTokenError answers in the registry's error format, which registry
// clients parse whatever the endpoint, with the OAuth2 error field as well.
func writeTokenError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":             code,
		"error_description": message,
		"errors":            []map[string]string{{"code": code, "message": message}},
	})
}

// resourceActions is one entry of a token's "access" claim, as
// distribution's registry/auth/token.ResourceActions reads it.
type resourceActions struct {
	Type    string   `json:"type"`
	Class   string   `json:"class,omitempty"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// grantable lists, per resource type, the actions the user may be granted.
var grantable = map[string][]string{
	"repository": {"pull", "push", "delete", "*"},
	"registry":   {"*"}, // registry:catalog:*
}

// grant returns the access the user gets for the requested scopes: exactly
// the requested actions that are grantable, nothing more. Malformed scopes
// and unknown resource types are ignored, as Docker's token servers do.
func grant(scopes []string) []resourceActions {
	var access []resourceActions
	for _, scope := range scopes {
		// type[(class)]:name:actions; the name may contain ':' (a port).
		typ, rest, ok := strings.Cut(scope, ":")
		if !ok {
			continue
		}
		i := strings.LastIndex(rest, ":")
		if i < 0 {
			continue
		}
		name, actions := rest[:i], rest[i+1:]
		class := ""
		if open := strings.Index(typ, "("); open >= 0 && strings.HasSuffix(typ, ")") {
			typ, class = typ[:open], typ[open+1:len(typ)-1]
		}
		allowed, known := grantable[typ]
		if !known || name == "" {
			continue
		}
		var granted []string
		for _, a := range strings.Split(actions, ",") {
			if slices.Contains(allowed, a) && !slices.Contains(granted, a) {
				granted = append(granted, a)
			}
		}
		if len(granted) == 0 {
			continue
		}
		access = append(access, resourceActions{Type: typ, Class: class, Name: name, Actions: granted})
	}
	return access
}

// sign makes a compact ES256 JWS carrying the claims distribution's token
// access controller verifies: iss, aud (the service), exp/nbf, and access.
// The x5c header carries the signing certificate, which the registry
// checks against its rootcertbundle.
func (s *tokenServer) sign(subject string, access []resourceActions, now time.Time) (string, error) {
	header := map[string]any{
		"alg": "ES256",
		"typ": "JWT",
		"x5c": []string{s.x5c},
	}
	if access == nil {
		access = []resourceActions{}
	}
	claims := map[string]any{
		"iss":    s.opts.issuer,
		"sub":    subject,
		"aud":    s.opts.service,
		"exp":    now.Add(tokenTTL).Unix(),
		"nbf":    now.Unix(),
		"iat":    now.Unix(),
		"jti":    randomHex(16),
		"access": access,
	}
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	digest := sha256.Sum256([]byte(signingInput))
	r, sv, err := ecdsa.Sign(rand.Reader, s.key, digest[:])
	if err != nil {
		return "", fmt.Errorf("signing token: %w", err)
	}
	// JWS ES256 signatures are R||S, each left-padded to 32 bytes (RFC 7518 3.4).
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	sv.FillBytes(sig[32:])
	return signingInput + "." + enc.EncodeToString(sig), nil
}
