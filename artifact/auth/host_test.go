package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeHost(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"ghcr.io", "ghcr.io"},
		{"GHCR.IO", "ghcr.io"},
		{"  ghcr.io\n", "ghcr.io"},
		{"https://ghcr.io", "ghcr.io"},
		{"https://ghcr.io/", "ghcr.io"},
		{"oci://ghcr.io/org/repo", "ghcr.io"},
		{"HTTPS://Ghcr.Io/v2/", "ghcr.io"},
		{"ghcr.io/owner/repo:tag", "ghcr.io"},
		{"ghcr.io/owner/repo@sha256:abc", "ghcr.io"},
		{"https://index.docker.io/v1/", DockerHubHost},
		{"https://index.docker.io/v1/access-token", DockerHubHost},
		{"index.docker.io", DockerHubHost},
		{"docker.io", DockerHubHost},
		{"registry-1.docker.io", DockerHubHost},
		{"https://registry-1.docker.io/v2/", DockerHubHost},
		{"docker.io:443", "docker.io:443"},
		{"http://localhost:5000/v2/", "localhost:5000"},
		{"localhost", "localhost"},
		{"127.0.0.1:5000", "127.0.0.1:5000"},
		{"ghcr.io:443", "ghcr.io:443"},
		{"registry.gitlab.com/some/path", "registry.gitlab.com"},
		{"gitlab.example.com:5050", "gitlab.example.com:5050"},
		{"[::1]:5000", "[::1]:5000"},
		{"[FE80::1]", "[fe80::1]"},
		{"my_registry.local:65535", "my_registry.local:65535"},
		{"ghcr.io?x=y", "ghcr.io"},
		{"ghcr.io#frag", "ghcr.io"},
		{"evil.com/ghcr.io", "evil.com"},
		{"evil.com/x://ghcr.io", "evil.com"},
	} {
		got, err := NormalizeHost(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizeHostInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"https://",
		"/ghcr.io",
		"user:token@ghcr.io",
		"https://user:hunter2@ghcr.io/v2/",
		"ghcr.io@evil.com",
		"ghcr.io:",
		"ghcr.io:0",
		"ghcr.io:65536",
		"ghcr.io:05000",
		"ghcr.io:http",
		"ghcr.io:443:1",
		"::1",
		"[::1",
		"[::1]x",
		"[ghcr.io]",
		"[]",
		"ghcr..io",
		".ghcr.io",
		"ghcr.io.",
		"ghcr io",
		"ghcr%2eio",
		"ghcr\\evil.com",
		"ǥhcr.io",
		"\u212aube.io", // Kelvin sign: strings.ToLower would make it "kube.io"
		strings.Repeat("a", 300),
	} {
		got, err := NormalizeHost(in)
		if err == nil {
			t.Errorf("NormalizeHost(%q) = %q, want an error", in, got)
			continue
		}
		if !errors.Is(err, ErrInvalidHost) {
			t.Errorf("NormalizeHost(%q) error %v does not wrap ErrInvalidHost", in, err)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "token@") {
			t.Errorf("NormalizeHost(%q) error %q shows user info", in, err)
		}
	}
}

// Credentials are used only for the host they name.
func TestNormalizeHostScoping(t *testing.T) {
	key, _ := NormalizeHost("ghcr.io")
	for _, other := range []string{
		"ghcr.io.evil.com", "evil.com/ghcr.io", "evilghcr.io", "ghcr.io:8443", "ghcr.io:443",
		"https://evil.com/ghcr.io", "sub.ghcr.io", "ghcr.i",
	} {
		if got, err := NormalizeHost(other); err == nil && got == key {
			t.Errorf("NormalizeHost(%q) = %q, same as ghcr.io", other, got)
		}
	}
}
