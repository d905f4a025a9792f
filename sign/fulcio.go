package sign

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/oauthflow"
)

// fulcioCertificate asks Fulcio (its v2 REST API, POST /api/v2/signingCert) for a
// code-signing certificate for priv's public key and the identity in idToken. The proof
// of possession is a signature over the token's subject, as Fulcio requires.
func (c *Client) fulcioCertificate(ctx context.Context, fulcioURL, idToken string, priv *ecdsa.PrivateKey) (*x509.Certificate, error) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: the OIDC token is not a JWT", ErrSigning)
	}
	claims, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, fmt.Errorf("%w: the OIDC token's claims are not base64url", ErrSigning)
	}
	subject, err := oauthflow.SubjectFromUnverifiedToken(claims)
	if err != nil {
		return nil, fmt.Errorf("%w: the OIDC token: %w", ErrSigning, err)
	}
	sum := sha256.Sum256([]byte(subject))
	pop, err := ecdsa.SignASN1(rand.Reader, priv, sum[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	pubPEM, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSigning, err)
	}
	reqBody, err := json.Marshal(map[string]any{
		"credentials": map[string]string{"oidcIdentityToken": idToken},
		"publicKeyRequest": map[string]any{
			"publicKey":         map[string]string{"algorithm": "ECDSA", "content": string(pubPEM)},
			"proofOfPossession": base64.StdEncoding.EncodeToString(pop),
		},
	})
	if err != nil {
		return nil, err
	}
	url := strings.TrimSuffix(fulcioURL, "/") + "/api/v2/signingCert"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(reqBody))
	if err != nil {
		return nil, fmt.Errorf("%w: Fulcio URL %q: %v", ErrSigning, fulcioURL, err)
	}
	req.Header.Set("Authorization", "Bearer "+idToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	resp, err := c.opts.ServiceClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: asking Fulcio at %s for a certificate: %w", ErrSigning, fulcioURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: reading Fulcio's answer: %w", ErrSigning, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%w: Fulcio at %s refused the certificate request: %s: %s", ErrSigning, fulcioURL, resp.Status, serviceMessage(body))
	}
	var ans struct {
		Embedded struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateEmbeddedSct"`
		Detached struct {
			Chain struct {
				Certificates []string `json:"certificates"`
			} `json:"chain"`
		} `json:"signedCertificateDetachedSct"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("%w: Fulcio's answer does not parse: %v", ErrSigning, err)
	}
	chain := ans.Embedded.Chain.Certificates
	if len(chain) == 0 {
		chain = ans.Detached.Chain.Certificates
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%w: Fulcio answered no certificate", ErrSigning)
	}
	certs, err := cryptoutils.UnmarshalCertificatesFromPEM([]byte(chain[0]))
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("%w: Fulcio's certificate does not parse: %v", ErrSigning, err)
	}
	leaf := certs[0]
	if err := cryptoutils.EqualKeys(leaf.PublicKey, priv.Public()); err != nil {
		return nil, fmt.Errorf("%w: Fulcio certified another key", ErrSigning)
	}
	return leaf, nil
}

// serviceMessage is the message of a Sigstore service's JSON error, or the start of the
// body.
func serviceMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return e.Message
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
