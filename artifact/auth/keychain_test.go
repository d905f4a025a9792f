package auth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// isolateDockerEnv points every place go-containerregistry's keychain looks
// for credentials into fresh temporary directories, and returns the docker
// config directory.
func isolateDockerEnv(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	dockerDir := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", dockerDir)
	t.Setenv("DOCKER_AUTH_CONFIG", "")
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	return dockerDir
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func TestDockerConfigAuths(t *testing.T) {
	dir := isolateDockerEnv(t)
	path := filepath.Join(dir, "config.json")
	writeFile(t, path, `{"auths":{
		"ghcr.io":{"auth":"`+b64("gh:token1")+`"},
		"https://index.docker.io/v1/":{"auth":"`+b64("hub:token2")+`"},
		"localhost:5000":{"identitytoken":"refresh3"}}}`, 0o600)
	ctx := context.Background()
	src := DockerConfig()
	if src.Name() != NameDockerConfig {
		t.Errorf("Name() = %q", src.Name())
	}
	for _, tt := range []struct {
		host string
		want Credential
	}{
		{"ghcr.io", Credential{Username: "gh", Password: "token1"}},
		{"https://GHCR.io/v2/", Credential{Username: "gh", Password: "token1"}},
		{"docker.io", Credential{Username: "hub", Password: "token2"}},
		{"registry-1.docker.io", Credential{Username: "hub", Password: "token2"}},
		{"localhost:5000", Credential{IdentityToken: "refresh3"}},
		{"localhost", Credential{}},
		{"ghcr.io.evil.com", Credential{}},
		{"quay.io", Credential{}},
	} {
		got, ok, err := src.Lookup(ctx, tt.host)
		if err != nil || ok == tt.want.IsEmpty() || got != tt.want {
			t.Errorf("Lookup(%q) = %v, %v, %v; want %v", tt.host, got, ok, err, tt.want)
		}
	}
	_, from, err := Chain{src}.Resolve(ctx, "ghcr.io")
	if want := "docker config " + path; err != nil || from != want {
		t.Errorf("Resolve origin = %q, %v; want %q", from, err, want)
	}
}

func TestDockerConfigCredentialHelper(t *testing.T) {
	dir := isolateDockerEnv(t)
	bin := t.TempDir()
	// A docker credential helper: "get" reads the server from stdin and
	// answers JSON, or the not-found message the protocol defines.
	writeFile(t, filepath.Join(bin, "docker-credential-gltest"), `#!/bin/bash
[ "$1" = get ] || exit 1
read -r server
case "$server" in
helper.example.com)
	printf '{"ServerURL":"%s","Username":"helperuser","Secret":"helpersecret"}\n' "$server" ;;
token.example.com)
	printf '{"ServerURL":"%s","Username":"<token>","Secret":"refreshtoken"}\n' "$server" ;;
broken.example.com)
	echo "refresh failed for token=ghp_HELPERSECRET123"; exit 1 ;;
*)
	echo "credentials not found in native keychain"; exit 1 ;;
esac
`, 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	writeFile(t, filepath.Join(dir, "config.json"), `{
		"auths":{"plain.example.com":{"auth":"`+b64("fileuser:filepw")+`"}},
		"credHelpers":{
			"helper.example.com":"gltest",
			"token.example.com":"gltest",
			"missing.example.com":"gltest",
			"broken.example.com":"gltest"}}`, 0o600)

	ctx := context.Background()
	chain := Chain{DockerConfig()}
	for _, tt := range []struct {
		host, from string
		want       Credential
	}{
		{"helper.example.com", "credential helper docker-credential-gltest", Credential{Username: "helperuser", Password: "helpersecret"}},
		{"token.example.com", "credential helper docker-credential-gltest", Credential{IdentityToken: "refreshtoken"}},
		{"plain.example.com", "docker config " + filepath.Join(dir, "config.json"), Credential{Username: "fileuser", Password: "filepw"}},
		{"missing.example.com", "", Credential{}},
		{"other.example.com", "", Credential{}},
	} {
		got, from, err := chain.Resolve(ctx, tt.host)
		if err != nil || got != tt.want || from != tt.from {
			t.Errorf("Resolve(%q) = %v, %q, %v; want %v from %q", tt.host, got, from, err, tt.want, tt.from)
		}
	}
	_, _, err := chain.Resolve(ctx, "broken.example.com")
	if err == nil || !strings.Contains(err.Error(), NameDockerConfig) || !strings.Contains(err.Error(), "broken.example.com") {
		t.Errorf("failing helper: error = %v, want one naming the source and host", err)
	}
	// What a failing helper printed may be a secret: not in the error, its exit status is.
	if strings.Contains(err.Error(), "HELPERSECRET") || !strings.Contains(err.Error(), "exit status 1") || !strings.Contains(err.Error(), "not shown") {
		t.Errorf("failing helper: error = %v", err)
	}
}

func TestDockerConfigNone(t *testing.T) {
	isolateDockerEnv(t)
	if cred, ok, err := DockerConfig().Lookup(context.Background(), "ghcr.io"); ok || err != nil || !cred.IsEmpty() {
		t.Errorf("no docker config: Lookup = %v, %v, %v", cred, ok, err)
	}
}

func TestDockerConfigEnv(t *testing.T) {
	dir := isolateDockerEnv(t)
	writeFile(t, filepath.Join(dir, "config.json"), `{}`, 0o600)
	t.Setenv("DOCKER_AUTH_CONFIG", `{"auths":{"ghcr.io":{"auth":"`+b64("envuser:envpw")+`"}}}`)
	cred, from, err := Chain{DockerConfig()}.Resolve(context.Background(), "ghcr.io")
	if err != nil || cred.Username != "envuser" || from != "DOCKER_AUTH_CONFIG (env)" {
		t.Errorf("Resolve = %v, %q, %v", cred, from, err)
	}
}
