package pullercli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/net/http/httpproxy"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/config"
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
	if cfg.Proxy == nil {
		// HTTPS_PROXY and NO_PROXY are for registries (registryProxy): the apiserver is
		// reached directly, unless the kubeconfig names a proxy-url.
		cfg.Proxy = func(*http.Request) (*url.URL, error) { return nil, nil }
	}
	return cfg, nil
}

// registryProxy is the proxy of registry requests: HTTPS_PROXY, HTTP_PROXY and
// NO_PROXY (or their lower-case forms) from env, as Go's http.ProxyFromEnvironment
// reads them; nil when none is set.
func registryProxy(env Env) func(*url.URL) (*url.URL, error) {
	get := func(k string) string {
		if v := env.Getenv(k); v != "" {
			return v
		}
		return env.Getenv(strings.ToLower(k))
	}
	c := httpproxy.Config{HTTPProxy: get("HTTP_PROXY"), HTTPSProxy: get("HTTPS_PROXY"), NoProxy: get("NO_PROXY")}
	if c.HTTPProxy == "" && c.HTTPSProxy == "" {
		return nil
	}
	return c.ProxyFunc()
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
	name, url, ref, path             string
	verify                           clikit.PolicyFlags
	insecureSkipVerify               bool
	pullSecret, pullSecretFile       string
	insecure                         bool
	targetNamespace                  string
	prune, pruneDefinitions          bool
	allowEmpty, allowRollback, force bool
	wait                             bool
	serviceAccount                   string
	timeout                          string
	names                            []string // of the flags above
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
	s.verify.Alternative = "--insecure-skip-verify for none"
	s.verify.AddFlags(f)
	f.BoolVar(&s.insecureSkipVerify, "insecure-skip-verify", false, "apply without checking any signature (development only)")
	f.StringVar(&s.pullSecret, "pull-secret", "", "kubernetes.io/dockerconfigjson Secret with registry credentials: NAME, in the namespace of the source's service account (else the puller's), or NAMESPACE/NAME")
	f.StringVar(&s.pullSecretFile, "pull-secret-file", "", "dockerconfigjson file with registry credentials")
	f.BoolVar(&s.insecure, "insecure", false, "allow plain HTTP to a registry that is not on loopback")
	f.StringVar(&s.targetNamespace, "target-namespace", "", "namespace of every namespaced object")
	f.BoolVar(&s.prune, "prune", false, "delete objects that left the set")
	f.BoolVar(&s.pruneDefinitions, "prune-namespaces-and-crds", false, "let pruning delete Namespaces and CRDs")
	f.BoolVar(&s.allowEmpty, "allow-empty", false, "accept an artifact with no objects (prunes everything)")
	f.BoolVar(&s.allowRollback, "allow-rollback", false, "accept an artifact older than the one applied last")
	f.BoolVar(&s.force, "force", false, "recreate an object whose change the cluster refuses because an immutable field changed")
	f.BoolVar(&s.wait, "wait", false, "wait for the objects to become ready")
	f.StringVar(&s.serviceAccount, "service-account", "", "service account to impersonate for the whole sync: NAME, in --target-namespace (then required), or NAMESPACE/NAME")
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
		return puller.Source{}, clikit.Usagef("--url is required without --config")
	}
	src := puller.Source{
		Name: s.name, URL: s.url, Path: s.path,
		InsecureSkipVerify: s.insecureSkipVerify,
		PullSecret:         s.pullSecret, PullSecretFile: s.pullSecretFile, Insecure: s.insecure,
		TargetNamespace: s.targetNamespace, Prune: s.prune, PruneNamespacesAndCRDs: s.pruneDefinitions,
		AllowEmpty: s.allowEmpty, AllowRollback: s.allowRollback, Force: s.force, Wait: s.wait, ServiceAccountName: s.serviceAccount,
	}
	if s.ref != "" {
		src.Ref = puller.ParseRef(s.ref)
	}
	if src.Name == "" {
		ref, err := artifact.ParseReference(s.url)
		if err != nil {
			return src, clikit.Usage(err)
		}
		src.Name = dnsLabel(ref.Repository[strings.LastIndex(ref.Repository, "/")+1:])
	}
	if s.timeout != "" {
		if err := src.Timeout.UnmarshalJSON([]byte(`"` + s.timeout + `"`)); err != nil {
			return src, clikit.Usagef("--timeout %q: %v", s.timeout, err)
		}
	}
	if !s.insecureSkipVerify {
		p, err := s.verify.Policy()
		if err != nil {
			return src, err
		}
		src.Verify = p
	}
	if err := src.WithDefaults().Validate(); err != nil {
		return src, clikit.Usage(err)
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

// loadSources returns the sources of --config, or the one source of the flags, with
// the files their policies name loaded (puller.CheckPolicies): a key file that is not
// there is a usage error at start, named after the file that names it.
func loadSources(ctx context.Context, env Env, k *kubeFlags, configPath string, sf *sourceFlags, flagsGiven bool) (*config.PullerConfig, error) {
	if configPath != "" {
		if flagsGiven {
			return nil, clikit.Usagef("--config and the source flags (--url, --key, ...) are exclusive")
		}
		c, err := config.Load(configPath, config.Namespaces{Default: env.Getenv("POD_NAMESPACE"), Override: k.namespace})
		if err != nil {
			if errors.Is(err, puller.ErrInvalidSource) {
				return nil, clikit.Usage(err)
			}
			return nil, err
		}
		if err := puller.CheckPolicies(ctx, c.Sources); err != nil {
			return nil, clikit.Usage(fmt.Errorf("puller config %s: %w", configPath, err))
		}
		return c, nil
	}
	src, err := sf.source()
	if err != nil {
		return nil, err
	}
	if err := puller.CheckPolicies(ctx, []puller.Source{src}); err != nil {
		return nil, clikit.Usage(err)
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
	return puller.New(cfg, c.PullerOptions(puller.Options{
		Version:     version(),
		Instance:    env.Getenv("POD_NAME"),
		Concurrency: k.concurrency, // else the file's
		Logger:      g.logger(env),
		Proxy:       registryProxy(env),
	}))
}
