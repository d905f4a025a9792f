package clikit

import (
	"context"

	"github.com/spf13/pflag"

	"github.com/gitless-dev/gitless/artifact/auth"
	"github.com/gitless-dev/gitless/artifact/remote"
)

// RegistryFlags are the flags of every gitless command that talks to a registry:
// where credentials come from, and whether plain HTTP is allowed.
type RegistryFlags struct {
	Creds        string
	DockerConfig string
	Insecure     bool
}

// AddFlags adds --creds, --docker-config and --insecure.
func (r *RegistryFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&r.Creds, "creds", "", "registry credentials as USER:TOKEN, for the registry of the reference only (default: CI variables, then docker config and credential helpers)")
	fs.StringVar(&r.DockerConfig, "docker-config", "", "a dockerconfigjson file (the format of kubernetes.io/dockerconfigjson Secrets) to take credentials from")
	fs.BoolVar(&r.Insecure, "insecure", false, "allow plain HTTP to a registry that is not on loopback (loopback registries always use plain HTTP)")
}

// Chain is where credentials for host come from, per the flags and the environment
// (docs/cli.md lists the order). A bad --creds is a usage error.
func (r *RegistryFlags) Chain(ctx context.Context, getenv func(string) string, host string) (auth.Chain, error) {
	chain, err := auth.Default(ctx, auth.DefaultOptions{
		Creds:            r.Creds,
		CredsName:        "--creds",
		Host:             host,
		DockerConfigFile: r.DockerConfig,
		Getenv:           getenv,
	})
	if err != nil {
		return nil, Usage(err)
	}
	return chain, nil
}

// Client is a registry client with the flags' credentials and transport rules.
func (r *RegistryFlags) Client(ctx context.Context, getenv func(string) string, host, userAgent string, opts remote.Options) (*remote.Client, error) {
	chain, err := r.Chain(ctx, getenv, host)
	if err != nil {
		return nil, err
	}
	opts.Credentials, opts.Insecure, opts.UserAgent = chain, r.Insecure, userAgent
	return remote.New(opts), nil
}
