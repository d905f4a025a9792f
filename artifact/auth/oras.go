package auth

import (
	"context"
	"fmt"
	"sync"

	orasauth "oras.land/oras-go/v2/registry/remote/auth"
)

// ToORAS converts a Credential to oras-go's form: IdentityToken is its
// RefreshToken, RegistryToken its AccessToken.
func ToORAS(c Credential) orasauth.Credential {
	return orasauth.Credential{
		Username:     c.Username,
		Password:     c.Password,
		RefreshToken: c.IdentityToken,
		AccessToken:  c.RegistryToken,
	}
}

// ORASCredential adapts the chain to oras-go's auth.Client.Credential. No
// credential is oras-go's EmptyCredential (anonymous access), not an error.
func (c Chain) ORASCredential() orasauth.CredentialFunc {
	return func(ctx context.Context, hostport string) (orasauth.Credential, error) {
		cred, _, err := c.Resolve(ctx, hostport)
		if err != nil {
			return orasauth.EmptyCredential, err
		}
		return ToORAS(cred), nil
	}
}

// Tracker resolves through a Chain and remembers which source answered for
// each host, so that a later 401 or 403 can say whose credentials the
// registry refused ("credentials from GITHUB_TOKEN (env) were rejected by
// ghcr.io") or which sources had none. It is safe for concurrent use.
type Tracker struct {
	chain Chain

	mu   sync.Mutex
	used map[string]string // normalised host → origin of the credential sent
}

// NewTracker returns a Tracker over chain.
func NewTracker(chain Chain) *Tracker {
	return &Tracker{chain: chain, used: make(map[string]string)}
}

// Chain returns the chain the tracker resolves through.
func (t *Tracker) Chain() Chain { return t.chain }

// Resolve is Chain.Resolve that records the answer for SourceFor.
func (t *Tracker) Resolve(ctx context.Context, host string) (Credential, string, error) {
	cred, origin, err := t.chain.Resolve(ctx, host)
	if err != nil {
		return cred, origin, err
	}
	h, _ := NormalizeHost(host) // Resolve succeeded, so host is valid
	t.mu.Lock()
	defer t.mu.Unlock()
	if cred.IsEmpty() {
		delete(t.used, h)
	} else {
		t.used[h] = origin
	}
	return cred, origin, nil
}

// SourceFor returns the origin of the credential last resolved for host,
// and false when none was (never asked, or no source had one: anonymous).
func (t *Tracker) SourceFor(host string) (string, bool) {
	h, err := NormalizeHost(host)
	if err != nil {
		return "", false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	origin, ok := t.used[h]
	return origin, ok
}

// ORASCredential is Chain.ORASCredential that records each answer.
func (t *Tracker) ORASCredential() orasauth.CredentialFunc {
	return func(ctx context.Context, hostport string) (orasauth.Credential, error) {
		cred, _, err := t.Resolve(ctx, hostport)
		if err != nil {
			return orasauth.EmptyCredential, err
		}
		return ToORAS(cred), nil
	}
}

// Format prints the tracker's sources and what answered for which host,
// never a credential.
func (t *Tracker) Format(f fmt.State, _ rune) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = fmt.Fprintf(f, "auth.Tracker{sources: %q, used: %v}", t.chain.Names(), t.used)
}
