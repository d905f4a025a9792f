package artifact

import (
	"fmt"
	"net"
	"strings"

	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/registry"
)

// Scheme is the prefix of artifact URLs, as in Flux's OCIRepository.
const Scheme = "oci://"

// Reference names an artifact: oci://REGISTRY/REPOSITORY[:TAG][@DIGEST]. When both a
// tag and a digest are given, the digest is what is fetched and the tag is informative.
type Reference struct {
	Registry   string // host[:port]
	Repository string
	Tag        string
	Digest     digest.Digest
}

// ParseReference parses an artifact reference. The oci:// prefix is optional.
func ParseReference(s string) (Reference, error) {
	raw := s
	s = strings.TrimPrefix(s, Scheme)
	if s == "" {
		return Reference{}, fmt.Errorf("%w %q: empty", ErrInvalidReference, raw)
	}
	if i := strings.Index(s, "://"); i >= 0 {
		return Reference{}, fmt.Errorf("%w %q: scheme %q, want %q", ErrInvalidReference, raw, s[:i+3], Scheme)
	}
	if host, _, _ := strings.Cut(s, "/"); strings.Contains(host, "@") {
		// user:password@host: not quoted, since it is a secret.
		return Reference{}, fmt.Errorf("%w %q: credentials in the reference; give them with --creds or a docker config", ErrInvalidReference, Scheme+"…@"+s[strings.LastIndex(host, "@")+1:])
	}
	var r Reference
	if at := strings.LastIndex(s, "@"); at >= 0 {
		d := digest.Digest(s[at+1:])
		if err := d.Validate(); err != nil {
			return Reference{}, fmt.Errorf("%w %q: digest %q: %v", ErrInvalidReference, raw, d, err)
		}
		r.Digest = d
		s = s[:at]
	}
	or, err := registry.ParseReference(s)
	if err != nil {
		return Reference{}, fmt.Errorf("%w %q: %v", ErrInvalidReference, raw, err)
	}
	if !strings.Contains(or.Registry, ".") && !strings.Contains(or.Registry, ":") && or.Registry != "localhost" {
		return Reference{}, fmt.Errorf("%w %q: %q is not a registry host (write the registry explicitly, e.g. oci://ghcr.io/%s)", ErrInvalidReference, raw, or.Registry, strings.TrimPrefix(s, Scheme))
	}
	r.Registry, r.Repository = or.Registry, or.Repository
	if or.Reference != "" {
		if err := or.ValidateReferenceAsTag(); err != nil {
			return Reference{}, fmt.Errorf("%w %q: tag %q: %v", ErrInvalidReference, raw, or.Reference, err)
		}
		r.Tag = or.Reference
	}
	return r, nil
}

// Repo returns REGISTRY/REPOSITORY.
func (r Reference) Repo() string { return r.Registry + "/" + r.Repository }

// Identifier is what a registry resolves: the digest if there is one, else the tag.
func (r Reference) Identifier() string {
	if r.Digest != "" {
		return r.Digest.String()
	}
	return r.Tag
}

// String gives the reference in oci:// form.
func (r Reference) String() string {
	s := Scheme + r.Repo()
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest.String()
	}
	return s
}

// WithTag returns r naming tag and no digest.
func (r Reference) WithTag(tag string) Reference {
	r.Tag, r.Digest = tag, ""
	return r
}

// WithDigest returns r pinned to d, keeping the tag for display.
func (r Reference) WithDigest(d digest.Digest) Reference {
	r.Digest = d
	return r
}

// ValidateTag reports whether tag is a valid OCI tag.
func ValidateTag(tag string) error {
	ref := registry.Reference{Registry: "x.io", Repository: "x", Reference: tag}
	if err := ref.ValidateReferenceAsTag(); err != nil {
		return fmt.Errorf("%w: tag %q: %v", ErrInvalidReference, tag, err)
	}
	return nil
}

// IsLoopback reports whether a registry host (host[:port]) is on this machine:
// localhost, 127.0.0.0/8 or ::1. Such registries are spoken to in plain HTTP.
func IsLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
