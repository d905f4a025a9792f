package auth

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	ctx := context.Background()
	dockerDir := isolateDockerEnv(t)
	writeFile(t, filepath.Join(dockerDir, "config.json"), `{"auths":{
		"ghcr.io":{"auth":"`+b64("docker:d")+`"},
		"registry.gitlab.com":{"auth":"`+b64("docker:d")+`"},
		"quay.io":{"auth":"`+b64("docker:d")+`"},
		"example.com":{"auth":"`+b64("docker:d")+`"}}}`, 0o600)
	file := filepath.Join(t.TempDir(), "pull.json")
	writeFile(t, file, `{"auths":{"ghcr.io":{"auth":"`+b64("file:f")+`"},"quay.io":{"auth":"`+b64("file:f")+`"}}}`, 0o600)
	env := mapEnv(map[string]string{
		"GITHUB_TOKEN": "e", "GITHUB_ACTOR": "env",
		"CI_REGISTRY": "registry.gitlab.com", "CI_JOB_TOKEN": "e",
	})

	chain, err := Default(ctx, DefaultOptions{Creds: "flag:c", Host: "https://ghcr.io", DockerConfigFile: file, Getenv: env})
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{NameCreds, "dockerconfigjson file " + file, NameGitHubToken, NameGitLabJobToken, NameDockerConfig}
	if got := chain.Names(); !slices.Equal(got, wantNames) {
		t.Errorf("Names() = %q, want %q", got, wantNames)
	}
	for host, want := range map[string]string{
		"ghcr.io":             "flag",            // --creds first, for its host
		"quay.io":             "file",            // then the --docker-config file
		"registry.gitlab.com": "gitlab-ci-token", // then the environment
		"example.com":         "docker",          // then the docker config
		"other.io":            "",
	} {
		cred, _, err := chain.Resolve(ctx, host)
		if err != nil || cred.Username != want {
			t.Errorf("Resolve(%q) = %v, %v; want user %q", host, cred, err, want)
		}
	}

	// Without options: environment, then docker config.
	chain, err = Default(ctx, DefaultOptions{Getenv: mapEnv(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if got := chain.Names(); !slices.Equal(got, []string{NameDockerConfig}) {
		t.Errorf("Names() = %q", got)
	}
	if cred, from, err := chain.Resolve(ctx, "ghcr.io"); err != nil || cred.Username != "docker" || from != "docker config "+filepath.Join(dockerDir, "config.json") {
		t.Errorf("Resolve(ghcr.io) = %v, %q, %v", cred, from, err)
	}
}

func TestDefaultErrors(t *testing.T) {
	ctx := context.Background()
	isolateDockerEnv(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	writeFile(t, bad, `{"auths":{"ghcr.io":{"auth":"!!notbase64secret"}}}`, 0o600)
	for _, tt := range []struct {
		name    string
		opts    DefaultOptions
		is      error
		mention string
	}{
		{"creds without host", DefaultOptions{Creds: "u:topsecret"}, nil, "without the registry host"},
		{"creds without user", DefaultOptions{Creds: "topsecret", Host: "ghcr.io", CredsName: "--creds"}, ErrInvalidCredential, "--creds"},
		{"creds without user, unnamed", DefaultOptions{Creds: "topsecret", Host: "ghcr.io"}, ErrInvalidCredential, NameCreds},
		{"invalid host", DefaultOptions{Creds: "u:topsecret", Host: "u:topsecret@ghcr.io"}, ErrInvalidHost, "ghcr.io"},
		{"bad file", DefaultOptions{DockerConfigFile: bad}, ErrInvalidCredential, bad},
		{"missing file", DefaultOptions{DockerConfigFile: bad + ".missing"}, nil, bad + ".missing"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Default(ctx, tt.opts)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("error = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q does not mention %q", err, tt.mention)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows a secret", err)
			}
		})
	}
}
