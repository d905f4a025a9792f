package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/clikit"
)

// registryClient is a registry client with reg's credentials and the CLI's logger.
func registryClient(ctx context.Context, env Env, g *globalFlags, reg *clikit.RegistryFlags, host string) (*remote.Client, error) {
	return reg.Client(ctx, env.Getenv, host, "gitless/"+version(), remote.Options{Logger: g.logger(env)})
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
	fs.BoolVar(&b.skipYAMLCheck, "skip-yaml-check", false, "do not check the .yaml/.yml files (that they parse, that each document is a Kubernetes object, that no two objects share a name)")
}

func (b *buildFlags) options() (artifact.BuildOptions, error) {
	n, err := parseSize(b.maxSize)
	if err != nil {
		return artifact.BuildOptions{}, clikit.Usagef("--max-size: %v", err)
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
	return r, clikit.Usage(err)
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
