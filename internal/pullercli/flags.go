package pullercli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/config"
	"github.com/gitless-dev/gitless/verify"
)

// kubeFlags locate the cluster and the puller's namespace.
type kubeFlags struct {
	kubeconfig  string
	context     string
	namespace   string
	concurrency int
	qps         float32
}

func (k *kubeFlags) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else the in-cluster service account)")
	fs.StringVar(&k.context, "context", "", "kubeconfig context")
	fs.StringVarP(&k.namespace, "namespace", "n", "", "the puller's namespace, where ApplySet parents and pull secrets live (default: the config file's, $POD_NAMESPACE, else "+config.DefaultNamespace+")")
	fs.IntVar(&k.concurrency, "concurrency", 0, "apiserver requests in flight per sync (default: the config file's, else 4)")
	fs.Float32Var(&k.qps, "kube-qps", 200, "client-side rate limit of apiserver requests (burst: twice that)")
}

// restConfig loads the client configuration: --kubeconfig, $KUBECONFIG, ~/.kube/config,
// then the in-cluster service account.
func (k *kubeFlags) restConfig(env Env) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: k.kubeconfig}
	if k.kubeconfig == "" {
		if v := env.Getenv("KUBECONFIG"); v != "" {
			rules.Precedence = filepath.SplitList(v)
		} else if home := env.Getenv("HOME"); home != "" {
			rules.Precedence = []string{filepath.Join(home, ".kube", "config")}
		}
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.context}).ClientConfig()
	if err != nil && k.kubeconfig == "" && env.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("loading the cluster configuration: %w", err)
	}
	cfg.QPS, cfg.Burst = k.qps, int(2*k.qps)
	cfg.UserAgent = "gitless-puller/" + version()
	return cfg, nil
}

// namespaceDefault is the namespace used when the config file names none.
func (k *kubeFlags) namespaceDefault(env Env) string {
	if k.namespace != "" {
		return k.namespace
	}
	return env.Getenv("POD_NAMESPACE")
}

// sourceFlags describe one source on the command line.
type sourceFlags struct {
	name, url, ref, path       string
	verify                     policyFlags
	insecureSkipVerify         bool
	pullSecret, pullSecretFile string
	insecure                   bool
	targetNamespace            string
	prune, pruneDefinitions    bool
	allowEmpty, allowRollback  bool
	wait                       bool
	serviceAccount             string
	timeout                    string
	names                      []string // of the flags above
}

func (s *sourceFlags) AddFlags(fs *pflag.FlagSet) {
	f := pflag.NewFlagSet("source", pflag.ContinueOnError)
	defer func() {
		f.VisitAll(func(fl *pflag.Flag) { s.names = append(s.names, fl.Name) })
		fs.AddFlagSet(f)
	}()
	f.StringVar(&s.url, "url", "", "the repository, oci://REGISTRY/REPOSITORY[:TAG|@DIGEST]")
	f.StringVar(&s.ref, "ref", "", "tag, semver range (with any of <>=~^*|, e.g. '>=1.0.0' or '^1.2') or digest (sha256:...); default: the url's, else latest")
	f.StringVar(&s.name, "name", "", "the source's name, which names its ApplySet parent gitless-NAME (default: the repository's last path element)")
	f.StringVar(&s.path, "path", "", "directory inside the artifact to apply")
	s.verify.AddFlags(f)
	f.BoolVar(&s.insecureSkipVerify, "insecure-skip-verify", false, "apply without checking any signature (development only)")
	f.StringVar(&s.pullSecret, "pull-secret", "", "kubernetes.io/dockerconfigjson Secret with registry credentials, NAMESPACE/NAME or NAME (in the puller's namespace)")
	f.StringVar(&s.pullSecretFile, "pull-secret-file", "", "dockerconfigjson file with registry credentials")
	f.BoolVar(&s.insecure, "insecure", false, "allow plain HTTP to a registry that is not on loopback")
	f.StringVar(&s.targetNamespace, "target-namespace", "", "namespace of every namespaced object")
	f.BoolVar(&s.prune, "prune", false, "delete objects that left the set")
	f.BoolVar(&s.pruneDefinitions, "prune-namespaces-and-crds", false, "let pruning delete Namespaces and CRDs")
	f.BoolVar(&s.allowEmpty, "allow-empty", false, "accept an artifact with no objects (prunes everything)")
	f.BoolVar(&s.allowRollback, "allow-rollback", false, "accept an artifact older than the one applied last")
	f.BoolVar(&s.wait, "wait", false, "wait for the objects to become ready")
	f.StringVar(&s.serviceAccount, "service-account", "", "service account to impersonate, in the target namespace (else the puller's)")
	f.StringVar(&s.timeout, "timeout", "", "bound on the sync (default 5m)")
}

// given reports whether any source flag was set.
func (s *sourceFlags) given(f *pflag.FlagSet) bool {
	for _, n := range s.names {
		if f.Changed(n) {
			return true
		}
	}
	return false
}

// source maps the flags onto a Source.
func (s *sourceFlags) source() (puller.Source, error) {
	if s.url == "" {
		return puller.Source{}, usagef("--url is required without --config")
	}
	src := puller.Source{
		Name: s.name, URL: s.url, Path: s.path,
		InsecureSkipVerify: s.insecureSkipVerify,
		PullSecret:         s.pullSecret, PullSecretFile: s.pullSecretFile, Insecure: s.insecure,
		TargetNamespace: s.targetNamespace, Prune: s.prune, PruneNamespacesAndCRDs: s.pruneDefinitions,
		AllowEmpty: s.allowEmpty, AllowRollback: s.allowRollback, Wait: s.wait, ServiceAccountName: s.serviceAccount,
	}
	if s.ref != "" {
		src.Ref = puller.ParseRef(s.ref)
	}
	if src.Name == "" {
		ref, err := artifact.ParseReference(s.url)
		if err != nil {
			return src, usageError{err}
		}
		src.Name = dnsLabel(ref.Repository[strings.LastIndex(ref.Repository, "/")+1:])
	}
	if s.timeout != "" {
		if err := src.Timeout.UnmarshalJSON([]byte(`"` + s.timeout + `"`)); err != nil {
			return src, usagef("--timeout %q: %v", s.timeout, err)
		}
	}
	if !s.insecureSkipVerify {
		p, err := s.verify.policy()
		if err != nil {
			return src, err
		}
		src.Verify = p
	}
	if err := src.WithDefaults().Validate(); err != nil {
		return src, usageError{err}
	}
	return src, nil
}

// dnsLabel makes a repository name usable as a source name.
func dnsLabel(s string) string {
	s = strings.ToLower(s)
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			b[i] = '-'
		}
	}
	s = strings.Trim(string(b), "-")
	if max := validation.DNS1123LabelMaxLength - len("gitless-"); len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	if s == "" {
		s = "default"
	}
	return s
}

// loadSources returns the sources of --config, or the one source of the flags.
func loadSources(env Env, k *kubeFlags, configPath string, sf *sourceFlags, flagsGiven bool) (*config.PullerConfig, error) {
	if configPath != "" {
		if flagsGiven {
			return nil, usagef("--config and the source flags (--url, --key, ...) are exclusive")
		}
		c, err := config.Load(configPath, k.namespaceDefault(env))
		if err != nil {
			if errors.Is(err, puller.ErrInvalidSource) {
				return nil, usageError{err}
			}
			return nil, err
		}
		if k.namespace != "" {
			c.Namespace = k.namespace
		}
		return c, nil
	}
	src, err := sf.source()
	if err != nil {
		return nil, err
	}
	ns := k.namespaceDefault(env)
	if ns == "" {
		ns = config.DefaultNamespace
	}
	return &config.PullerConfig{APIVersion: config.APIVersion, Kind: config.Kind, Namespace: ns, Sources: []puller.Source{src}}, nil
}

func newPuller(env Env, g *globalFlags, k *kubeFlags, c *config.PullerConfig) (*puller.Puller, error) {
	cfg, err := k.restConfig(env)
	if err != nil {
		return nil, err
	}
	concurrency := c.Concurrency
	if k.concurrency > 0 {
		concurrency = k.concurrency
	}
	return puller.New(cfg, puller.Options{
		Namespace:                c.Namespace,
		Version:                  version(),
		Instance:                 env.Getenv("POD_NAME"),
		Concurrency:              concurrency,
		AllowLinkLocalRegistries: c.AllowLinkLocalRegistries,
		Logger:                   g.logger(env),
	})
}

// policyFlags are `gitless verify`'s policy flags (TestPolicyFlagsMatchGitlessVerify
// holds the two to each other), mapped onto a verify.Policy.
type policyFlags struct {
	policyFile     string
	keys           []string
	identity       string
	identityRegexp string
	issuer         string
	issuerRegexp   string
	github         verify.GitHubClaims
	matchRevision  bool
	trustedRoot    string
	ignoreTlog     bool
}

func (v *policyFlags) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&v.policyFile, "policy", "", "verification policy file (YAML or JSON, the config file's verify section), instead of the key and certificate flags")
	f.StringArrayVar(&v.keys, "key", nil, "public key that may have signed: a PEM file, env://VAR or a KMS URI (repeatable)")
	f.StringVar(&v.identity, "certificate-identity", "", "keyless: the certificate's subject (workflow URI, e-mail), exactly")
	f.StringVar(&v.identityRegexp, "certificate-identity-regexp", "", "keyless: a regular expression the whole subject must match")
	f.StringVar(&v.issuer, "certificate-oidc-issuer", "", "keyless: the OIDC issuer, exactly (GitHub Actions: https://token.actions.githubusercontent.com)")
	f.StringVar(&v.issuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: a regular expression the whole issuer must match")
	f.StringVar(&v.github.Repository, "certificate-github-workflow-repository", "", "keyless: the GitHub repository (ORG/REPO) the workflow ran in")
	f.StringVar(&v.github.Ref, "certificate-github-workflow-ref", "", "keyless: the git ref the workflow ran for (refs/heads/main)")
	f.StringVar(&v.github.Workflow, "certificate-github-workflow-name", "", "keyless: the workflow's name")
	f.StringVar(&v.github.SHA, "certificate-github-workflow-sha", "", "keyless: the commit the workflow ran at")
	f.StringVar(&v.github.Trigger, "certificate-github-workflow-trigger", "", "keyless: the event that started the workflow (push)")
	f.BoolVar(&v.matchRevision, "match-revision", false, "keyless: the certificate's commit must be the commit of the artifact's revision annotation")
	f.StringVar(&v.trustedRoot, "trusted-root", "", "Sigstore trusted root (trusted_root.json) for offline verification")
	f.BoolVar(&v.ignoreTlog, "insecure-ignore-tlog", false, "accept signatures without a transparency-log proof (signed with --tlog-upload=false)")
}

func (v *policyFlags) policy() (*verify.Policy, error) {
	fromFlags := len(v.keys) > 0 || v.identity != "" || v.identityRegexp != "" || v.issuer != "" || v.issuerRegexp != "" ||
		v.github != (verify.GitHubClaims{}) || v.matchRevision
	if v.policyFile != "" {
		if fromFlags {
			return nil, usagef("--policy and the key or certificate flags are exclusive")
		}
		b, err := readSmallFile(v.policyFile)
		if err != nil {
			return nil, usagef("--policy: %v", err)
		}
		var p verify.Policy
		if err := yaml.UnmarshalStrict(b, &p); err != nil {
			return nil, usagef("--policy %s: %v", v.policyFile, err)
		}
		if v.trustedRoot != "" {
			p.TrustedRoot = v.trustedRoot
		}
		p.InsecureIgnoreTlog = p.InsecureIgnoreTlog || v.ignoreTlog
		if err := p.Validate(); err != nil {
			return nil, usageError{err}
		}
		return &p, nil
	}
	p := &verify.Policy{Keys: v.keys, TrustedRoot: v.trustedRoot, InsecureIgnoreTlog: v.ignoreTlog, MatchRevision: v.matchRevision}
	if v.identity != "" || v.identityRegexp != "" || v.issuer != "" || v.issuerRegexp != "" {
		p.Identities = []verify.Identity{{
			Issuer: v.issuer, IssuerRegexp: v.issuerRegexp,
			Subject: v.identity, SubjectRegexp: v.identityRegexp,
			GitHub: v.github,
		}}
	} else if v.github != (verify.GitHubClaims{}) {
		return nil, usagef("the --certificate-github-workflow-* flags need --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]")
	}
	if len(p.Keys) == 0 && len(p.Identities) == 0 {
		return nil, usagef("say whom to trust: --key, or --certificate-identity[-regexp] with --certificate-oidc-issuer[-regexp], or --policy (--insecure-skip-verify for none)")
	}
	if err := p.Validate(); err != nil {
		return nil, usageError{err}
	}
	return p, nil
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("%s is over 1 MiB", path)
	}
	return b, nil
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
