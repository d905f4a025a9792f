package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/auth"
	"github.com/gitless-dev/gitless/artifact/remote"
)

// registryFlags are the flags of every command that talks to a registry.
type registryFlags struct {
	creds        string
	dockerConfig string
	insecure     bool
}

func (r *registryFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&r.creds, "creds", "", "registry credentials as USER:TOKEN, for the registry of the reference only (default: CI variables, then docker config and credential helpers)")
	fs.StringVar(&r.dockerConfig, "docker-config", "", "a dockerconfigjson file (the format of kubernetes.io/dockerconfigjson Secrets) to take credentials from")
	fs.BoolVar(&r.insecure, "insecure", false, "allow plain HTTP to a registry that is not on loopback (loopback registries always use plain HTTP)")
}

// chain is where credentials for host come from, per the flags and the environment.
func (r *registryFlags) chain(ctx context.Context, env Env, host string) (auth.Chain, error) {
	chain, err := auth.Default(ctx, auth.DefaultOptions{
		Creds:            r.creds,
		Host:             host,
		DockerConfigFile: r.dockerConfig,
		Getenv:           env.Getenv,
	})
	if err != nil {
		return nil, usageError{err}
	}
	return chain, nil
}

func (r *registryFlags) client(ctx context.Context, env Env, g *globalFlags, host string) (*remote.Client, error) {
	chain, err := r.chain(ctx, env, host)
	if err != nil {
		return nil, err
	}
	return remote.New(remote.Options{
		Credentials: chain,
		Insecure:    r.insecure,
		UserAgent:   "gitless/" + version(),
		Logger:      g.logger(env),
	}), nil
}

// outputFlag is -o text|json.
type outputFlag struct{ format string }

func (o *outputFlag) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&o.format, "output", "o", "text", "output format: text or json")
}

func (o *outputFlag) validate() error {
	if o.format != "text" && o.format != "json" {
		return usagef("--output %q: want text or json", o.format)
	}
	return nil
}

func (o *outputFlag) json() bool { return o.format == "json" }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// buildFlags configure how a directory is packaged.
type buildFlags struct {
	ignore          []string
	resolveSymlinks bool
	allowEmpty      bool
	maxSize         string
	skipYAMLCheck   bool
}

func (b *buildFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&b.ignore, "ignore", nil, "gitignore-style pattern of paths to leave out, added to the defaults and .gitlessignore files (repeatable)")
	fs.BoolVar(&b.resolveSymlinks, "resolve-symlinks", false, "follow symbolic links that stay inside the directory (links are an error otherwise)")
	fs.BoolVar(&b.allowEmpty, "allow-empty", false, "package a directory with no files instead of failing")
	fs.StringVar(&b.maxSize, "max-size", "100Mi", "cap on the bytes of files packaged (Ki, Mi, Gi suffixes)")
	fs.BoolVar(&b.skipYAMLCheck, "skip-yaml-check", false, "do not check that .yaml/.yml files parse")
}

func (b *buildFlags) options() (artifact.BuildOptions, error) {
	n, err := parseSize(b.maxSize)
	if err != nil {
		return artifact.BuildOptions{}, usagef("--max-size: %v", err)
	}
	return artifact.BuildOptions{
		Ignore:          b.ignore,
		ResolveSymlinks: b.resolveSymlinks,
		AllowEmpty:      b.allowEmpty,
		Limits:          artifact.Limits{MaxTotalSize: n},
		SkipYAMLCheck:   b.skipYAMLCheck,
	}, nil
}

// parseSize reads a positive byte count with an optional Ki/Mi/Gi suffix.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suffix, m := range map[string]int64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			s, mult = strings.TrimSuffix(s, suffix), m
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a positive size", s)
	}
	return n * mult, nil
}

func parseRef(s string) (artifact.Reference, error) {
	r, err := artifact.ParseReference(s)
	if err != nil {
		return r, usageError{err}
	}
	return r, nil
}

// args wraps a cobra argument check so that its error is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError{err}
		}
		return nil
	}
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
