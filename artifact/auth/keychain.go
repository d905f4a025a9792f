package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/gitless-dev/gitless/internal/errtext"
)

// NameDockerConfig is the Name of the Source DockerConfig returns.
const NameDockerConfig = "docker config and credential helpers"

// DockerConfig returns the credentials docker itself would use, through
// go-containerregistry's authn.DefaultKeychain: the "auths" of
// $DOCKER_CONFIG/config.json (~/.docker/config.json when DOCKER_CONFIG is
// unset), its "credHelpers" and "credsStore" (docker-credential-* programs
// on PATH), DOCKER_AUTH_CONFIG, and Podman's auth.json when there is no
// docker config. The process environment is read at each lookup.
//
// A host the keychain resolves to the anonymous authenticator is "not
// found". Chain.Resolve reports the origin more precisely than the Name:
// "credential helper docker-credential-gcloud", "credential store
// docker-credential-pass", "DOCKER_AUTH_CONFIG (env)" or "docker config
// /root/.docker/config.json" (found by reading the config's helper settings
// again after a hit; when that fails, the Name).
func DockerConfig() Source {
	return &dockerSource{keychain: authn.DefaultKeychain}
}

type dockerSource struct {
	keychain authn.Keychain
}

func (s *dockerSource) Name() string { return NameDockerConfig }

func (s *dockerSource) Lookup(ctx context.Context, host string) (Credential, bool, error) {
	h, err := NormalizeHost(host)
	if err != nil {
		return Credential{}, false, err
	}
	reg, err := name.NewRegistry(h)
	if err != nil {
		return Credential{}, false, fmt.Errorf("%w %s: %w", ErrInvalidHost, quoteHost(h), err)
	}
	authr, err := authn.Resolve(ctx, s.keychain, reg)
	if err != nil {
		return Credential{}, false, fmt.Errorf("reading docker config for %s: %w", h, helperError(err))
	}
	if authr == nil || authr == authn.Anonymous {
		return Credential{}, false, nil
	}
	cfg, err := authn.Authorization(ctx, authr)
	if err != nil {
		return Credential{}, false, fmt.Errorf("reading docker config for %s: %w", h, helperError(err))
	}
	if cfg == nil {
		return Credential{}, false, nil
	}
	c := Credential{
		Username:      cfg.Username,
		Password:      cfg.Password,
		IdentityToken: cfg.IdentityToken,
		RegistryToken: cfg.RegistryToken,
	}
	if cfg.Auth != "" && c.Username == "" && c.Password == "" {
		if c.Username, c.Password, err = decodeAuthField(cfg.Auth); err != nil {
			return Credential{}, false, fmt.Errorf("reading docker config for %s: %w", h, err)
		}
	}
	// A credential helper answers "<token>" as the user name for an identity
	// token; the keychain already moved the secret to IdentityToken.
	if c.Username == "<token>" && c.IdentityToken != "" {
		c.Username = ""
	}
	return c, !c.IsEmpty(), nil
}

func (s *dockerSource) LookupOrigin(ctx context.Context, host string) (Credential, string, bool, error) {
	c, ok, err := s.Lookup(ctx, host)
	if err != nil || !ok {
		return c, "", ok, err
	}
	h, _ := NormalizeHost(host) // Lookup succeeded, so host is valid
	return c, describeDockerOrigin(ctx, h), true, nil
}

func (s *dockerSource) Format(f fmt.State, _ rune) { formatSource(f, "DockerConfig", NameDockerConfig) }

// describeDockerOrigin names where docker's configuration takes host's
// credential from. It mirrors docker/cli's order: DOCKER_AUTH_CONFIG, then a
// credHelpers entry, then credsStore, then the file's own "auths". Any
// failure falls back to NameDockerConfig: this is only a description.
func describeDockerOrigin(ctx context.Context, host string) string {
	key := host
	if host == DockerHubHost {
		key = dockerHubKey
	}
	if env := os.Getenv("DOCKER_AUTH_CONFIG"); env != "" {
		if src, err := ParseDockerConfigJSON([]byte(env), "DOCKER_AUTH_CONFIG (env)"); err == nil {
			if _, ok, _ := src.Lookup(ctx, host); ok {
				return src.Name()
			}
		}
	}
	dir := os.Getenv("DOCKER_CONFIG")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return NameDockerConfig
		}
		dir = filepath.Join(home, ".docker")
	}
	path := filepath.Join(dir, "config.json")
	f, err := os.Open(path)
	if err != nil {
		return NameDockerConfig
	}
	defer f.Close()
	var cfg struct {
		CredsStore  string            `json:"credsStore"`
		CredHelpers map[string]string `json:"credHelpers"`
	}
	if err := json.NewDecoder(io.LimitReader(f, MaxDockerConfigSize)).Decode(&cfg); err != nil {
		return NameDockerConfig
	}
	if helper := cfg.CredHelpers[key]; helper != "" {
		return "credential helper docker-credential-" + helper
	}
	if cfg.CredsStore != "" {
		return "credential store docker-credential-" + cfg.CredsStore
	}
	return "docker config " + path
}

// helperOutput is where a credential helper's error (docker-credential-helpers' client)
// quotes what the helper printed, which may be a token.
var helperOutput = regexp.MustCompile("(?s), out: `.*")

// helperError is err without a credential helper's output: its text is cut where the
// output starts (the exit status stays), and errors.Is and As still see err.
func helperError(err error) error {
	return errtext.With(err, helperOutput.ReplaceAllString(err.Error(), " (its output is not shown: it may hold a secret)"))
}
