package artifact_test

import (
	"testing"

	"github.com/gitless-dev/gitless/artifact"
)

func TestSourceURLDropsCredentials(t *testing.T) {
	for in, want := range map[string]string{
		"https://oauth2:glpat-SECRET@gitlab.com/acme/app.git":                 "https://gitlab.com/acme/app.git",
		"https://gitlab-ci-token:SECRET@gitlab.example.com:8443/acme/app.git": "https://gitlab.example.com:8443/acme/app.git",
		"https://x-access-token:ghs_SECRET@github.com/acme/app":               "https://github.com/acme/app",
		"https://SECRET@github.com/acme/app?token=SECRET#frag":                "https://github.com/acme/app",
		"ssh://git:SECRET@host/acme/app.git":                                  "ssh://host/acme/app.git",
		"user:SECRET@host:acme/app.git":                                       "host:acme/app.git",
		"git@github.com:acme/app.git":                                         "git@github.com:acme/app.git",
		"https://github.com/acme/app":                                         "https://github.com/acme/app",
		"https://user:SEC%zzRET@host/acme":                                    "https://host/acme",
		"":                                                                    "",
	} {
		if got := artifact.SourceURL(in); got != want {
			t.Errorf("SourceURL(%q) = %q, want %q", in, got, want)
		}
	}
}
