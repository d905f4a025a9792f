// Command images builds and pushes the gitless and gitless-puller container images
// (internal/image) from the binaries hack/release.sh builds, and signs them with gitless's
// own signer (the verify package). make images runs it:
//
//	make images IMAGE_REPO=ghcr.io/gitless-dev VERSION=v0.1.0 [SIGN_KEY=cosign.key] [TLOG_UPLOAD=true]
//
// which is
//
//	BINARIES_ONLY=1 PLATFORMS="linux/amd64 linux/arm64" hack/release.sh v0.1.0
//	go run ./internal/cmd/images -repo ghcr.io/gitless-dev -version v0.1.0 [-sign-key cosign.key]
//
// Each command becomes REPO/NAME:VERSION, an OCI index of one image per platform. Registry
// credentials come from the docker config (DOCKER_CONFIG, ~/.docker/config.json) and its
// credential helpers; nothing but the target registry is contacted (and, to sign
// keylessly, Fulcio and Rekor). Reproducible: the same commit and CA bundle give the same
// digests. It prints what it pushed as JSON on stdout, progress on stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/auth"
	"github.com/gitless-dev/gitless/internal/image"
	"github.com/gitless-dev/gitless/sign"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// pushed is what the command prints for each image.
type pushed struct {
	Name      string   `json:"name"`
	Reference string   `json:"reference"`
	Digest    string   `json:"digest"`
	Tags      []string `json:"tags"`
	Platforms []string `json:"platforms"`
	Signature string   `json:"signature,omitempty"`
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("images", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		repo       = fs.String("repo", "", "where to push: REGISTRY/PATH; the images are PATH/gitless and PATH/gitless-puller (required)")
		version    = fs.String("version", "", "the release version, vX.Y.Z: the tag and the version label (required)")
		dist       = fs.String("dist", "dist", "directory whose bin/OS_ARCH/ holds the binaries (hack/release.sh)")
		platforms  = fs.String("platforms", "linux/amd64,linux/arm64", "comma-separated platforms")
		commands   = fs.String("commands", "gitless,gitless-puller", "comma-separated commands, one image each")
		caBundle   = fs.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM CA bundle to install in the images")
		source     = fs.String("source", "https://github.com/gitless-dev/gitless", "source repository URL (org.opencontainers.image.source)")
		revision   = fs.String("revision", "", "source commit (default: git rev-parse HEAD)")
		created    = fs.String("created", "", "creation time, RFC 3339 or Unix seconds (default: SOURCE_DATE_EPOCH, then the commit time)")
		signKey    = fs.String("sign-key", "", "sign each image's digest with this cosign private key (password in COSIGN_PASSWORD)")
		keyless    = fs.Bool("keyless", false, "sign keylessly with the CI's OIDC token (GitHub Actions id-token: write)")
		tlogUpload = fs.Bool("tlog-upload", false, "record the signatures in the Rekor transparency log (always with -keyless)")
		insecure   = fs.Bool("insecure", false, "allow plain HTTP to a registry that is not on loopback")
		tags       multi
		bases      multi
	)
	fs.Var(&tags, "tag", "further tag for every image (repeatable), e.g. latest")
	fs.Var(&bases, "base", "NAME=IMAGE: build the NAME image on IMAGE, a multi-platform index (repeatable), e.g. gitless=docker.io/library/busybox:1.37-musl")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	case *repo == "" || *version == "":
		return fmt.Errorf("%w: -repo and -version are required", errUsage)
	case *signKey != "" && *keyless:
		return fmt.Errorf("%w: -sign-key and -keyless are exclusive", errUsage)
	}
	ca, err := os.ReadFile(*caBundle)
	if err != nil {
		return fmt.Errorf("%w: -ca-bundle: %v", errUsage, err)
	}
	if *revision == "" {
		*revision = git(ctx, "rev-parse", "HEAD")
	}
	when, err := creationTime(ctx, *created, getenv)
	if err != nil {
		return err
	}
	baseFor := map[string]string{}
	for _, b := range bases {
		n, ref, ok := strings.Cut(b, "=")
		if !ok || n == "" || ref == "" {
			return fmt.Errorf("%w: -base %q: want NAME=IMAGE", errUsage, b)
		}
		baseFor[n] = ref
	}
	signer, err := newSigner(ctx, *signKey, *keyless, *tlogUpload, *insecure, getenv)
	if err != nil {
		return err
	}

	var out []pushed
	for _, name := range strings.Split(*commands, ",") {
		opts := image.Options{
			Name:     name,
			CABundle: ca,
			Created:  when,
			Labels:   image.Labels(*source, *revision, *version, when),
		}
		opts.Labels[image.LabelDescription] = description[name]
		var plats []string
		for _, p := range strings.Split(*platforms, ",") {
			os_, arch, ok := strings.Cut(p, "/")
			if !ok {
				return fmt.Errorf("%w: -platforms: %q is not OS/ARCH", errUsage, p)
			}
			opts.Platforms = append(opts.Platforms, image.Platform{OS: os_, Arch: arch, Binary: filepath.Join(*dist, "bin", os_+"_"+arch, name)})
			plats = append(plats, p)
		}
		if ref := baseFor[name]; ref != "" {
			if opts.Base, err = image.PullIndex(ctx, ref, *insecure); err != nil {
				return err
			}
			opts.BaseName = ref
		}
		idx, err := image.Build(opts)
		if err != nil {
			return err
		}
		ref := strings.TrimSuffix(*repo, "/") + "/" + name + ":" + *version
		fmt.Fprintf(stderr, "pushing %s (%s)\n", ref, strings.Join(plats, ", "))
		d, err := image.Push(ctx, ref, idx, image.PushOptions{Tags: tags, Insecure: *insecure})
		if err != nil {
			return err
		}
		p := pushed{Name: name, Reference: ref + "@" + d.String(), Digest: d.String(), Tags: append([]string{*version}, tags...), Platforms: plats}
		if signer != nil {
			sig, err := signer.sign(ctx, ref, d.String())
			if err != nil {
				return err
			}
			p.Signature = sig
			fmt.Fprintf(stderr, "signed %s: %s\n", p.Reference, sig)
		}
		out = append(out, p)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

var description = map[string]string{
	"gitless":        "gitless: package, push and sign Kubernetes manifests as OCI artifacts",
	"gitless-puller": "gitless-puller: pull, verify and apply signed OCI artifacts of Kubernetes manifests",
}

// creationTime is the flag, else SOURCE_DATE_EPOCH, else the commit time: never the clock.
func creationTime(ctx context.Context, flagValue string, getenv func(string) string) (time.Time, error) {
	v := flagValue
	if v == "" {
		v = getenv("SOURCE_DATE_EPOCH")
	}
	if v == "" {
		v = git(ctx, "log", "-1", "--format=%ct")
	}
	if v == "" {
		return time.Time{}, fmt.Errorf("%w: no creation time: give -created or SOURCE_DATE_EPOCH outside a git checkout", errUsage)
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Unix(secs, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: creation time %q: want RFC 3339 or Unix seconds", errUsage, v)
	}
	return t.UTC(), nil
}

func git(ctx context.Context, args ...string) string {
	out, err := exec.CommandContext(ctx, "git", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// signer signs image digests with gitless's signer, as gitless sign does.
type signer struct {
	client *sign.Client
	opts   sign.Options
}

func newSigner(ctx context.Context, key string, keyless, tlog, insecure bool, getenv func(string) string) (*signer, error) {
	if key == "" && !keyless {
		return nil, nil
	}
	opts := sign.DefaultOptions()
	opts.TlogUpload = tlog || keyless
	if key != "" {
		k, err := sign.LoadSigningKey(ctx, key, sign.KeyOptions{Getenv: getenv})
		if err != nil {
			return nil, fmt.Errorf("-sign-key: %w", err)
		}
		opts.Key = k
	} else {
		tok, _, err := sign.DetectIDToken(ctx, sign.IDTokenOptions{Getenv: getenv})
		if err != nil {
			return nil, err
		}
		if tok == "" {
			return nil, fmt.Errorf("%w: -keyless: no OIDC token (GitHub Actions: permissions: id-token: write)", errUsage)
		}
		opts.Keyless.IDToken = tok
	}
	chain, err := auth.Default(ctx, auth.DefaultOptions{Getenv: getenv})
	if err != nil {
		return nil, err
	}
	c := sign.New(sign.ClientOptions{Credentials: chain, Insecure: insecure, UserAgent: "gitless-images"})
	return &signer{client: c, opts: opts}, nil
}

func (s *signer) sign(ctx context.Context, ref, digest string) (string, error) {
	r, err := artifact.ParseReference(artifact.Scheme + ref)
	if err != nil {
		return "", err
	}
	r, err = artifact.ParseReference(artifact.Scheme + r.Repo() + "@" + digest)
	if err != nil {
		return "", err
	}
	res, err := s.client.Sign(ctx, r, s.opts)
	if err != nil {
		return "", fmt.Errorf("signing %s: %w", r, err)
	}
	return res.Signature, nil
}
