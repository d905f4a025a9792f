package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// NameCreds names the source of DefaultOptions.Creds when CredsName is empty.
const NameCreds = "the given credentials"

// DefaultOptions configures Default.
type DefaultOptions struct {
	// Creds is "user:token" (see ParseUserToken) for Host only, typically
	// the --creds flag. Empty: none.
	Creds string
	// CredsName names the Creds source in errors and logs ("--creds" in the CLI);
	// NameCreds when empty.
	CredsName string
	// Host is the registry host being pushed to or pulled from; required
	// when Creds is set.
	Host string
	// DockerConfigFile is a dockerconfigjson file to read, typically the
	// --docker-config flag. Empty: none.
	DockerConfigFile string
	// Getenv reads the CI variables of FromEnv; os.Getenv if nil. The docker
	// config source reads the process environment regardless (DOCKER_CONFIG,
	// HOME), as go-containerregistry does.
	Getenv func(string) string
}

// Default builds the chain the gitless CLI uses, in this order:
//
//  1. opts.Creds, for opts.Host only (named opts.CredsName);
//  2. opts.DockerConfigFile ("dockerconfigjson file PATH"), read now;
//  3. the CI environment, FromEnv;
//  4. the docker config and its credential helpers, DockerConfig.
//
// Errors (a malformed Creds, an unreadable or invalid file) name the option
// and never contain a secret.
func Default(ctx context.Context, opts DefaultOptions) (Chain, error) {
	var c Chain
	if opts.Creds != "" {
		if opts.Host == "" {
			return nil, errors.New("building credential chain: credentials given without the registry host they are for")
		}
		host, err := NormalizeHost(opts.Host)
		if err != nil {
			return nil, fmt.Errorf("building credential chain: %w", err)
		}
		name := opts.CredsName
		if name == "" {
			name = NameCreds
		}
		cred, err := ParseUserToken(opts.Creds)
		if err != nil {
			return nil, fmt.Errorf("building credential chain: parsing %s: %w", name, err)
		}
		c = append(c, Static(host, cred, name))
	}
	if opts.DockerConfigFile != "" {
		src, err := ReadDockerConfigFile(ctx, opts.DockerConfigFile)
		if err != nil {
			return nil, fmt.Errorf("building credential chain: %w", err)
		}
		c = append(c, src)
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	c = append(c, FromEnv(getenv)...)
	c = append(c, DockerConfig())
	return c, nil
}
