package clikit

import (
	"errors"
	"strings"

	"github.com/gitless-dev/gitless/verify"
)

// CommonHints are the hints both programs give, for flags both have.
func CommonHints(err error) []string {
	var out []string
	if errors.Is(err, verify.ErrNoTlogEntry) {
		out = append(out, "a signature made without a transparency-log entry (--tlog-upload=false) verifies with --insecure-ignore-tlog")
	}
	// Go says either, depending on where the plain HTTP answer is noticed.
	if err != nil && (strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") ||
		strings.Contains(err.Error(), "first record does not look like a TLS handshake")) {
		out = append(out, "the registry speaks plain HTTP: allow it with --insecure (loopback registries get plain HTTP anyway)")
	}
	return out
}
