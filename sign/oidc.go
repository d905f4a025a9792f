package sign

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Environment variables the CI systems set for keyless signing.
const (
	// EnvSigstoreIDToken holds an OIDC token for Sigstore. GitLab CI sets it from
	// `id_tokens: SIGSTORE_ID_TOKEN: {aud: sigstore}`.
	EnvSigstoreIDToken = "SIGSTORE_ID_TOKEN"
	// EnvGitHubTokenURL and EnvGitHubTokenRequest are what GitHub Actions sets for a job
	// with `permissions: id-token: write`: the URL to ask for an OIDC token and the
	// bearer token that authorizes the request.
	EnvGitHubTokenURL     = "ACTIONS_ID_TOKEN_REQUEST_URL"
	EnvGitHubTokenRequest = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// Audience is the audience Fulcio expects in OIDC tokens.
const Audience = "sigstore"

// IDTokenOptions configures DetectIDToken.
type IDTokenOptions struct {
	// Getenv reads the CI variables; nil means os.Getenv.
	Getenv func(string) string
	// HTTPClient asks GitHub Actions for a token; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Audience of the requested token; "sigstore" by default.
	Audience string
}

// DetectIDToken finds an OIDC token for keyless signing in the CI environment:
// SIGSTORE_ID_TOKEN (GitLab's id_tokens, or anything that sets it), then GitHub Actions'
// ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN (a job with id-token: write). It returns the
// token and where it came from; ("", "", nil) when there is none.
func DetectIDToken(ctx context.Context, opts IDTokenOptions) (token, source string, err error) {
	getenv := KeyOptions{Getenv: opts.Getenv}.getenv
	if t := strings.TrimSpace(getenv(EnvSigstoreIDToken)); t != "" {
		return t, EnvSigstoreIDToken, nil
	}
	reqURL, reqToken := getenv(EnvGitHubTokenURL), getenv(EnvGitHubTokenRequest)
	if reqURL == "" || reqToken == "" {
		return "", "", nil
	}
	t, err := githubIDToken(ctx, opts, reqURL, reqToken)
	if err != nil {
		return "", "", err
	}
	return t, "GitHub Actions (" + EnvGitHubTokenURL + ")", nil
}

// githubIDToken asks the Actions runtime for a token: GET URL&audience=sigstore with
// the request token as bearer; the answer is {"value": "<jwt>"}.
func githubIDToken(ctx context.Context, opts IDTokenOptions, reqURL, reqToken string) (string, error) {
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrSigning, EnvGitHubTokenURL, err)
	}
	aud := opts.Audience
	if aud == "" {
		aud = Audience
	}
	q := u.Query()
	q.Set("audience", aud)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrSigning, err)
	}
	req.Header.Set("Authorization", "Bearer "+reqToken)
	req.Header.Set("Accept", "application/json")
	hc := opts.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: requesting an OIDC token from GitHub Actions: %w", ErrSigning, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return "", fmt.Errorf("%w: reading the GitHub Actions OIDC token: %w", ErrSigning, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: GitHub Actions refused an OIDC token (%s); does the job have permissions: id-token: write?", ErrSigning, resp.Status)
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		return "", fmt.Errorf("%w: GitHub Actions answered no OIDC token", ErrSigning)
	}
	return v.Value, nil
}

// CheckIDToken reads a token's claims, unverified (Fulcio verifies it), and refuses one
// that Fulcio would: not a JWT, expiring before now+margin, or whose audience lacks
// audience (public Fulcio's is Audience, "sigstore": GitLab's id_tokens need aud:
// sigstore; "" checks none, for a private Fulcio of its own audience). The token is
// never quoted.
func CheckIDToken(token string, now time.Time, margin time.Duration, audience string) error {
	// go-jose's errors are not passed on: some quote what they could not read.
	tok, err := jwt.ParseSigned(token, idTokenAlgorithms)
	if err != nil {
		return fmt.Errorf("%w: not a JWT (three base64url parts separated by dots, signed with an asymmetric key)", ErrIDToken)
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return fmt.Errorf("%w: its claims are not a JSON object of JWT claims (exp a number, aud a string or a list of strings)", ErrIDToken)
	}
	if claims.Expiry != nil {
		at := claims.Expiry.Time().UTC()
		if at.Before(now.Add(margin)) {
			if at.Before(now) {
				return fmt.Errorf("%w: the token of %s expired at %s (%s ago)", ErrIDToken, claims.Issuer, at.Format(time.RFC3339), now.Sub(at).Round(time.Second))
			}
			return fmt.Errorf("%w: the token of %s expires at %s, in less than %s", ErrIDToken, claims.Issuer, at.Format(time.RFC3339), margin)
		}
	}
	if len(claims.Audience) > 0 && audience != "" && !claims.Audience.Contains(audience) {
		return fmt.Errorf("%w: its audience is %q, and Fulcio takes %q (GitLab: id_tokens: SIGSTORE_ID_TOKEN: {aud: %s})", ErrIDToken, []string(claims.Audience), audience, audience)
	}
	return nil
}

// idTokenAlgorithms are the signature algorithms an OIDC provider signs ID tokens with
// (asymmetric: Fulcio checks them against the issuer's published keys).
var idTokenAlgorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}
