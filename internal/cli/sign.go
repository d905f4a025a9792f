package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

// signFlags are the flags that say how to sign, shared by sign and push --sign.
type signFlags struct {
	key             string
	identityToken   string
	fulcioURL       string
	rekorURL        string
	tlogUpload      bool
	newBundleFormat bool
	trustedRoot     string
}

func (s *signFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&s.key, "key", "", "private key: a cosign key file (password in COSIGN_PASSWORD), env://VAR, or a KMS URI; without it, sign keylessly")
	fs.StringVar(&s.identityToken, "identity-token", "", "OIDC token (or a file holding it) for keyless signing (default: SIGSTORE_ID_TOKEN, then GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN)")
	fs.StringVar(&s.fulcioURL, "fulcio-url", sign.DefaultFulcioURL, "Fulcio instance that certifies keyless signing keys")
	fs.StringVar(&s.rekorURL, "rekor-url", sign.DefaultRekorURL, "Rekor transparency log")
	fs.BoolVar(&s.tlogUpload, "tlog-upload", true, "record the signature in the transparency log (--tlog-upload=false for air-gapped signing; verifiers then need --insecure-ignore-tlog)")
	fs.BoolVar(&s.newBundleFormat, "new-bundle-format", false, "store the signature as a sigstore bundle referrer (cosign v3's default) instead of cosign's sha256-<hex>.sig image, which both cosign lines and Flux verify")
	fs.StringVar(&s.trustedRoot, "trusted-root", "", "Sigstore trusted root (trusted_root.json) to check the certificate and log entry against before pushing the signature (private Sigstore deployments)")
}

// changed reports whether any signing flag was set on the command line.
func (s *signFlags) changed(fs *pflag.FlagSet) []string {
	var set []string
	for _, n := range []string{"key", "identity-token", "fulcio-url", "rekor-url", "tlog-upload", "new-bundle-format", "trusted-root"} {
		if f := fs.Lookup(n); f != nil && f.Changed {
			set = append(set, "--"+n)
		}
	}
	return set
}

// options loads the key or finds the OIDC token and returns the library's options.
// Where the token came from is returned for the user's information.
func (s *signFlags) options(ctx context.Context, env Env) (sign.Options, string, error) {
	opts := s.base()
	if s.key != "" {
		if s.identityToken != "" {
			return opts, "", clikit.Usagef("--key and --identity-token are exclusive")
		}
		k, err := sign.LoadSigningKey(ctx, s.key, sign.KeyOptions{Getenv: env.Getenv})
		if err != nil {
			return opts, "", err
		}
		opts.Key = k
		return opts, "key " + s.key, nil
	}
	if s.identityToken != "" {
		tok, err := readToken(s.identityToken)
		if err != nil {
			return opts, "", clikit.Usagef("--identity-token: %v", err)
		}
		if err := sign.CheckIDToken(tok, time.Now(), tokenMargin, s.audience()); err != nil {
			return opts, "", clikit.Usagef("--identity-token: %v", err)
		}
		opts.Keyless.IDToken = tok
		return opts, "--identity-token", nil
	}
	tok, source, err := sign.DetectIDToken(ctx, sign.IDTokenOptions{Getenv: env.Getenv})
	if err != nil {
		return opts, "", err
	}
	if tok == "" {
		return opts, "", clikit.Usagef("no key and no OIDC token: give --key, or --identity-token, or run in CI with an OIDC token (GitHub Actions: permissions: id-token: write; GitLab: id_tokens: SIGSTORE_ID_TOKEN: {aud: sigstore})")
	}
	if err := sign.CheckIDToken(tok, time.Now(), tokenMargin, s.audience()); err != nil {
		return opts, "", clikit.Usagef("the OIDC token from %s: %v", source, err)
	}
	opts.Keyless.IDToken = tok
	return opts, source, nil
}

// audience is the audience an OIDC token must have: the public Fulcio's, or none
// checked for another Fulcio (a private one may take its own).
func (s *signFlags) audience() string {
	if s.fulcioURL == "" || strings.TrimSuffix(s.fulcioURL, "/") == sign.DefaultFulcioURL {
		return sign.Audience
	}
	return ""
}

// tokenMargin is how long an OIDC token must still be valid when it is found: push
// checks it before packaging and uploading anything, which then takes some time.
const tokenMargin = 30 * time.Second

// base is the options without the key or the token.
func (s *signFlags) base() sign.Options {
	opts := sign.DefaultOptions()
	opts.TlogUpload = s.tlogUpload
	opts.RekorURL = s.rekorURL
	opts.Keyless.FulcioURL = s.fulcioURL
	opts.TrustedRoot = s.trustedRoot
	if s.newBundleFormat {
		opts.Format = verify.FormatBundle
	}
	return opts
}

// readToken takes a token, or the path of a file holding one (as cosign does).
func readToken(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:]) // an Authorization header's value, pasted
	}
	if strings.Count(s, ".") == 2 && !strings.ContainsAny(s, "/\\ ") {
		return s, nil
	}
	f, err := os.Open(s)
	if err != nil {
		if !strings.Contains(s, "/") || strings.Count(s, ".") >= 2 || len(s) > 256 {
			// Perhaps a token (an opaque one, or a JWT gone wrong): not quoted, as a path
			// would be. A path with a directory in it is.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", fmt.Errorf("neither a JWT nor a readable file (%d characters, not quoted in case it is a token; give a file as ./NAME): %w", len(s), err)
		}
		return "", fmt.Errorf("neither a JWT nor a readable file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// signClient is a sign.Client on the registry client the other commands use.
func signClient(ctx context.Context, env Env, g *globalFlags, r *clikit.RegistryFlags, host string) (*sign.Client, error) {
	rc, err := registryClient(ctx, env, g, r, host)
	if err != nil {
		return nil, err
	}
	return sign.New(sign.ClientOptions{Registry: rc, UserAgent: "gitless/" + version(), Logger: g.logger(env)}), nil
}

// signOutput is what sign prints with -o json.
type signOutput struct {
	URL        string `json:"url"`
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	*sign.Result
}

func newSignCmd(env Env, g *globalFlags) *cobra.Command {
	var (
		sf  signFlags
		reg clikit.RegistryFlags
		out clikit.Output
	)
	cmd := &cobra.Command{
		Use:   "sign oci://REGISTRY/REPOSITORY[:TAG|@DIGEST]",
		Short: "Sign an artifact's digest with a cosign key or keylessly (Sigstore)",
		Long: `Sign the manifest digest of an artifact, never a tag: a tag is resolved first and the
digest signed is printed. The signature is stored where cosign stores it (the
sha256-<hex>.sig tag, which the cosign CLI of both lines and Flux verify), or as a sigstore
bundle referrer with --new-bundle-format. Signing again with the same key is a no-op.

Key-based: --key names a cosign private key (cosign generate-key-pair or gitless key
generate; password in COSIGN_PASSWORD), env://VAR holding it, or a KMS URI (a
sigstore-kms-<scheme> plugin on PATH).

Keyless: an OIDC token from --identity-token, SIGSTORE_ID_TOKEN (GitLab id_tokens with
aud: sigstore) or GitHub Actions (permissions: id-token: write) gets a short-lived
certificate from Fulcio, and the signature is recorded in Rekor. --fulcio-url, --rekor-url
and --trusted-root point at a private Sigstore.`,
		Example: `  COSIGN_PASSWORD=... gitless sign oci://ghcr.io/acme/app-manifests:1a2b3c4 --key cosign.key
  gitless sign oci://ghcr.io/acme/app-manifests@sha256:... # keyless, in GitHub Actions or GitLab CI
  gitless sign oci://127.0.0.1:5000/demo:v1 --key cosign.key --tlog-upload=false -o json`,
		Args: clikit.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := out.Resolve(nil, env.Err); err != nil {
				return err
			}
			ref, err := parseRef(a[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			opts, how, err := sf.options(ctx, env)
			if err != nil {
				return err
			}
			c, err := signClient(ctx, env, g, &reg, ref.Registry)
			if err != nil {
				return err
			}
			res, err := c.Sign(ctx, ref, opts)
			if err != nil {
				return err
			}
			return printSigned(env, out, ref, res, how)
		},
	}
	sf.AddFlags(cmd.Flags())
	reg.AddFlags(cmd.Flags())
	out.AddFlags(cmd.Flags())
	return cmd
}

// printSigned reports a signature: JSON, or a line on stderr and the pinned reference on
// stdout.
func printSigned(env Env, out clikit.Output, ref artifact.Reference, res *sign.Result, how string) error {
	if out.Structured() {
		return out.Write(env.Out, signOutput{URL: res.Reference.String(), Repository: ref.Repo(), Tag: ref.Tag, Result: res})
	}
	from := ""
	if ref.Digest == "" && ref.Tag != "" {
		from = " (tag " + ref.Tag + ")"
	}
	switch {
	case res.AlreadySigned:
		fmt.Fprintf(env.Err, "already signed: %s%s has a signature by %s; nothing done\n", res.Digest, from, res.Signer)
	default:
		fmt.Fprintf(env.Err, "signed %s%s with %s (%s)\n", res.Digest, from, how, res.Signer)
		fmt.Fprintf(env.Err, "  signature: %s (%s format)\n", res.Signature, res.Format)
		if res.Tlog != nil {
			fmt.Fprintf(env.Err, "  transparency log: entry %d, %s\n", res.Tlog.LogIndex, res.Tlog.IntegratedTime.Format("2006-01-02T15:04:05Z"))
		} else {
			fmt.Fprintln(env.Err, "  transparency log: none (--tlog-upload=false); verify with --insecure-ignore-tlog")
		}
	}
	fmt.Fprintln(env.Out, res.Reference.String())
	return nil
}

// pushSigning is push's --sign with the signing flags.
type pushSigning struct {
	enabled bool
	flags   signFlags
	opts    sign.Options
	how     string
	key     chan keyResult // the key being decrypted while the tree is packaged
}

type keyResult struct {
	key *sign.SigningKey
	err error
}

func (p *pushSigning) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&p.enabled, "sign", false, "sign the pushed digest (as gitless sign does; key or keyless per the flags below)")
	p.flags.AddFlags(fs)
}

// prepare checks the flags and finds the OIDC token, or starts decrypting the key (scrypt
// takes a fifth of a second) while push packages the tree; ready waits for it.
func (p *pushSigning) prepare(ctx context.Context, env Env, fs *pflag.FlagSet) error {
	if !p.enabled {
		if set := p.flags.changed(fs); len(set) > 0 {
			return clikit.Usagef("%s given without --sign", strings.Join(set, ", "))
		}
		return nil
	}
	if p.flags.key == "" {
		var err error
		p.opts, p.how, err = p.flags.options(ctx, env)
		return err
	}
	if p.flags.identityToken != "" {
		return clikit.Usagef("--key and --identity-token are exclusive")
	}
	keyRef := p.flags.key
	p.opts, p.how = p.flags.base(), "key "+keyRef
	p.key = make(chan keyResult, 1)
	go func() {
		k, err := sign.LoadSigningKey(ctx, keyRef, sign.KeyOptions{Getenv: env.Getenv})
		p.key <- keyResult{k, err}
	}()
	return nil
}

// ready waits for the key: push calls it before anything is uploaded, so that a wrong
// password fails the push, not only the signature.
func (p *pushSigning) ready() error {
	if p.key == nil {
		return nil
	}
	r := <-p.key
	p.key = nil
	if r.err != nil {
		return r.err
	}
	p.opts.Key = r.key
	return nil
}

// sign signs the digest just pushed; nil without --sign.
func (p *pushSigning) sign(ctx context.Context, env Env, g *globalFlags, reg *clikit.RegistryFlags, pinned artifact.Reference) (*sign.Result, error) {
	if !p.enabled {
		return nil, nil
	}
	c, err := signClient(ctx, env, g, reg, pinned.Registry)
	if err != nil {
		return nil, err
	}
	if p.opts.Keyless.IDToken != "" && strings.HasPrefix(p.how, "GitHub Actions") {
		// A fresh token: the one found at the start may have expired while a large
		// tree was rendered and pushed (GitHub's last a few minutes).
		if tok, _, err := sign.DetectIDToken(ctx, sign.IDTokenOptions{Getenv: env.Getenv}); err == nil && tok != "" {
			p.opts.Keyless.IDToken = tok
		}
	}
	res, err := c.Sign(ctx, pinned, p.opts)
	if err != nil {
		return nil, fmt.Errorf("pushed %s, but signing failed: %w", pinned, err)
	}
	return res, nil
}

// report says what push --sign did, on stderr.
func (p *pushSigning) report(env Env, res *sign.Result) {
	switch {
	case res == nil:
	case res.AlreadySigned:
		fmt.Fprintf(env.Err, "already signed by %s\n", res.Signer)
	default:
		tlog := "no transparency log"
		if res.Tlog != nil {
			tlog = fmt.Sprintf("transparency log entry %d", res.Tlog.LogIndex)
		}
		fmt.Fprintf(env.Err, "signed %s with %s (%s format, %s)\n", res.Digest, p.how, res.Format, tlog)
	}
}
