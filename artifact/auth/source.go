package auth

import (
	"context"
	"fmt"
	"strings"
)

// Source yields credentials for registry hosts.
//
// Lookup's host is anything NormalizeHost accepts ("ghcr.io",
// "127.0.0.1:5000", "https://index.docker.io/v1/"); a Source answers only
// for the host its credentials name, compared after normalisation. ok is
// false when the Source has nothing for host; an error means the Source
// could not tell (an unreadable file, a failing credential helper) and never
// contains a secret.
type Source interface {
	// Name says where the credentials come from, never what they are:
	// "--creds", "GITHUB_TOKEN (env)", "dockerconfigjson file /x/y",
	// "Secret ns/name". It is meant for error messages.
	Name() string
	Lookup(ctx context.Context, host string) (cred Credential, ok bool, err error)
}

// OriginSource is implemented by a Source whose credentials for different
// hosts come from different places, for example the docker config, which
// may hand a host to a credential helper. Chain.Resolve uses LookupOrigin,
// when present, to name the origin of a credential more precisely than Name
// does.
type OriginSource interface {
	Source
	// LookupOrigin is Lookup that also returns where the credential came
	// from, in the style of Name. origin is meaningful only when ok.
	LookupOrigin(ctx context.Context, host string) (cred Credential, origin string, ok bool, err error)
}

// LookupFunc is the signature of Source.Lookup.
type LookupFunc func(ctx context.Context, host string) (Credential, bool, error)

// FuncSource adapts a function to a Source with the given name. The
// function is handed the host normalised; an invalid host is an error
// before fn is called.
func FuncSource(name string, fn LookupFunc) Source {
	return &funcSource{name: name, fn: fn}
}

type funcSource struct {
	name string
	fn   LookupFunc
}

func (s *funcSource) Name() string { return s.name }

func (s *funcSource) Lookup(ctx context.Context, host string) (Credential, bool, error) {
	h, err := NormalizeHost(host)
	if err != nil {
		return Credential{}, false, err
	}
	return s.fn(ctx, h)
}

func (s *funcSource) Format(f fmt.State, _ rune) { formatSource(f, "FuncSource", s.name) }

// Static returns a Source that has cred for host only, and nothing for any
// other host. name says where cred came from, e.g. "--creds". If host is not
// a valid registry host every Lookup fails with ErrInvalidHost, so a mistake
// is not silently turned into "no credentials".
func Static(host string, cred Credential, name string) Source {
	h, err := NormalizeHost(host)
	return &staticSource{host: h, hostErr: err, cred: cred, name: name}
}

type staticSource struct {
	host    string
	hostErr error
	cred    Credential
	name    string
}

func (s *staticSource) Name() string { return s.name }

func (s *staticSource) Lookup(_ context.Context, host string) (Credential, bool, error) {
	if s.hostErr != nil {
		return Credential{}, false, fmt.Errorf("credentials from %s: %w", s.name, s.hostErr)
	}
	h, err := NormalizeHost(host)
	if err != nil {
		return Credential{}, false, err
	}
	if h != s.host || s.cred.IsEmpty() {
		return Credential{}, false, nil
	}
	return s.cred, true, nil
}

func (s *staticSource) Format(f fmt.State, _ rune) {
	formatSource(f, "Static", s.name+" for "+s.host)
}

// formatSource prints a Source as its kind and name, never its credentials.
func formatSource(f fmt.State, kind, name string) {
	_, _ = fmt.Fprintf(f, "auth.%s(%q)", kind, name)
}

// Chain tries sources in order; the first that has a credential for a host
// wins. A Chain is itself an OriginSource, so chains nest; Names and the
// origin Resolve reports name the innermost source.
type Chain []Source

// Resolve returns the credential for host from the first source that has
// one, and that source's name (for an OriginSource, the origin it reports).
// No source having a credential is not an error: the result is the empty
// (anonymous) Credential and an empty name. A source that fails stops the
// search, and the error names that source: a broken credential store is
// reported rather than silently skipped to a less specific credential.
func (c Chain) Resolve(ctx context.Context, host string) (Credential, string, error) {
	h, err := NormalizeHost(host)
	if err != nil {
		return Credential{}, "", fmt.Errorf("resolving credentials: %w", err)
	}
	for _, s := range c {
		if s == nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return Credential{}, "", fmt.Errorf("resolving credentials for %s: %w", h, err)
		}
		var (
			cred   Credential
			origin string
			ok     bool
		)
		if o, isOrigin := s.(OriginSource); isOrigin {
			cred, origin, ok, err = o.LookupOrigin(ctx, h)
		} else {
			cred, ok, err = s.Lookup(ctx, h)
			origin = s.Name()
		}
		if err != nil {
			if _, nested := s.(Chain); nested {
				return Credential{}, "", err
			}
			return Credential{}, "", fmt.Errorf("resolving credentials for %s from %s: %w", h, s.Name(), err)
		}
		if ok && !cred.IsEmpty() {
			return cred, origin, nil
		}
	}
	return Credential{}, "", nil
}

// Names lists the sources in the order they are consulted, nested chains
// flattened: for messages such as "no credentials for ghcr.io (tried: ...)".
func (c Chain) Names() []string {
	var names []string
	for _, s := range c {
		if s == nil {
			continue
		}
		if inner, ok := s.(Chain); ok {
			names = append(names, inner.Names()...)
			continue
		}
		names = append(names, s.Name())
	}
	return names
}

// Name implements Source: the names of the sources, comma-separated.
func (c Chain) Name() string { return strings.Join(c.Names(), ", ") }

// Lookup implements Source with Resolve.
func (c Chain) Lookup(ctx context.Context, host string) (Credential, bool, error) {
	cred, _, err := c.Resolve(ctx, host)
	return cred, err == nil && !cred.IsEmpty(), err
}

// LookupOrigin implements OriginSource with Resolve.
func (c Chain) LookupOrigin(ctx context.Context, host string) (Credential, string, bool, error) {
	cred, origin, err := c.Resolve(ctx, host)
	return cred, origin, err == nil && !cred.IsEmpty(), err
}

// Format prints the chain as the names of its sources, never credentials.
func (c Chain) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "auth.Chain%q", c.Names())
}
