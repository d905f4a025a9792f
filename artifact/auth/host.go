package auth

import (
	"fmt"
	"strings"
)

// DockerHubHost is the canonical name NormalizeHost gives Docker Hub. It is
// go-containerregistry's name.DefaultRegistry.
const DockerHubHost = "index.docker.io"

// maxHostLen bounds a normalised host: a DNS name is at most 253 bytes, plus
// ":65535".
const maxHostLen = 260

// NormalizeHost turns a registry host as it appears in a dockerconfigjson key,
// a credential helper's configuration, an image reference or a URL into the
// form credentials are matched by. The rules:
//
//   - surrounding white space and a leading URL scheme ("https://", "http://",
//     "oci://", ...) are removed; the scheme is only recognised at the start;
//   - everything from the first '/', '?' or '#' on (a path such as "/v1/" or
//     "/some/repo") is removed, so a key scoped to a repository applies to
//     the whole host;
//   - the host is lower-cased;
//   - "docker.io", "index.docker.io" and "registry-1.docker.io" (without a
//     port) all become DockerHubHost;
//   - ports are kept exactly: "ghcr.io:443" and "ghcr.io" are different
//     hosts, and so are "localhost:5000" and "localhost". Nothing is inferred
//     about default ports, so credentials never reach a port they were not
//     written for.
//
// What is left must be a host name (letters, digits, '-', '_', non-empty
// dot-separated labels), an IPv4 address or a bracketed IPv6 address, with an
// optional port 1-65535 written without leading zeros. Anything else (user
// info "user@host", an unbracketed IPv6 address, percent escapes, non-ASCII,
// an empty host) is rejected with an error wrapping ErrInvalidHost.
//
// NormalizeHost is idempotent, and two inputs name the same registry for
// credential purposes exactly when their normalised forms are equal.
func NormalizeHost(s string) (string, error) {
	h := strings.TrimSpace(s)
	if i := schemeEnd(h); i > 0 {
		h = h[i:]
	}
	if i := strings.IndexAny(h, "/?#"); i >= 0 {
		h = h[:i]
	}
	if h == "" {
		return "", fmt.Errorf("%w %s: no host", ErrInvalidHost, quoteHost(s))
	}
	if len(h) > maxHostLen {
		return "", fmt.Errorf("%w %s: longer than %d bytes", ErrInvalidHost, quoteHost(s), maxHostLen)
	}
	h = lowerASCII(h)

	name, port, err := splitHostPort(h)
	if err != nil {
		return "", fmt.Errorf("%w %s: %s", ErrInvalidHost, quoteHost(s), err)
	}
	if port == "" {
		switch name {
		case "docker.io", "index.docker.io", "registry-1.docker.io":
			return DockerHubHost, nil
		}
		return name, nil
	}
	return name + ":" + port, nil
}

// schemeEnd returns the index just past "scheme://" if s starts with a URL
// scheme (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )), else 0.
func schemeEnd(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':' && strings.HasPrefix(s[i:], "://"):
			return i + 3
		default:
			return 0
		}
	}
	return 0
}

// splitHostPort splits a lower-cased "host[:port]" and validates both parts.
// The error text never repeats the input (the caller quotes it).
func splitHostPort(h string) (name, port string, err error) {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", "", fmt.Errorf("unterminated '['")
		}
		name, rest := h[:end+1], h[end+1:]
		if err := checkIPv6(name[1:end]); err != nil {
			return "", "", err
		}
		switch {
		case rest == "":
			return name, "", nil
		case rest[0] == ':':
			port = rest[1:]
		default:
			return "", "", fmt.Errorf("unexpected text after ']'")
		}
		if err := checkPort(port); err != nil {
			return "", "", err
		}
		return name, port, nil
	}

	name = h
	if i := strings.IndexByte(h, ':'); i >= 0 {
		name, port = h[:i], h[i+1:]
		if strings.IndexByte(port, ':') >= 0 {
			return "", "", fmt.Errorf("more than one ':' (IPv6 addresses must be in brackets)")
		}
		if err := checkPort(port); err != nil {
			return "", "", err
		}
	}
	if err := checkHostname(name); err != nil {
		return "", "", err
	}
	return name, port, nil
}

func checkHostname(name string) error {
	if name == "" {
		return fmt.Errorf("empty host name")
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return fmt.Errorf("empty label in host name")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("character %q not allowed in a host name", c)
			}
		}
	}
	return nil
}

func checkIPv6(addr string) error {
	if addr == "" || strings.IndexByte(addr, ':') < 0 {
		return fmt.Errorf("not an IPv6 address in brackets")
	}
	for i := 0; i < len(addr); i++ {
		c := addr[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || c == ':' || c == '.') {
			return fmt.Errorf("character %q not allowed in an IPv6 address", c)
		}
	}
	return nil
}

func checkPort(port string) error {
	if port == "" {
		return fmt.Errorf("empty port")
	}
	if len(port) > 5 || port[0] == '0' {
		return fmt.Errorf("port out of range")
	}
	n := 0
	for i := 0; i < len(port); i++ {
		c := port[i]
		if c < '0' || c > '9' {
			return fmt.Errorf("port is not a number")
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return fmt.Errorf("port out of range")
	}
	return nil
}

// lowerASCII lower-cases ASCII letters only; other bytes are left for the
// validation to reject (strings.ToLower would turn e.g. the Kelvin sign into
// an ASCII 'k' and so make a host out of something that is not one).
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

// quoteHost quotes a host for an error message, shortened so that a huge
// input does not make a huge message. User info ("user:token@host") is
// replaced, since it may hold a secret.
func quoteHost(s string) string {
	const limit = 80
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = "<redacted>@" + s[i+1:]
	}
	if len(s) > limit {
		return fmt.Sprintf("%q...", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
