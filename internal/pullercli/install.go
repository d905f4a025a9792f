package pullercli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/config"
	"github.com/gitless-dev/gitless/puller/install"
)

func newInstallCmd(env Env, g *globalFlags, k *kubeFlags) *cobra.Command {
	var (
		source, configPath, image, dir string
		defaultSA                      string
		replicas                       int
		leaderElect, webhook, doApply  bool
		sf                             sourceFlags
	)
	cmd := &cobra.Command{
		Use:   "install [--source oci://... [source and policy flags]] [--apply]",
		Short: "Print or apply the puller's install manifests, optionally with a first source",
		Long: `Install prints the manifests that run gitless-puller in a cluster: its namespace, RBAC,
configuration ConfigMap, Deployment (two replicas with leader election by default)
and, with --webhook, the webhook Service. --apply applies them with server-side apply
instead; --dir writes them as files with a kustomization.yaml (examples/cluster is
made this way).

Without --default-service-account (or defaultServiceAccount in --config), the puller
applies with its own rights and is bound to cluster-admin, as Flux's
kustomize-controller. With it, every source acts as a tenant's service account: the
puller's own rights stay in its namespace, and the manifests add, per tenant
namespace, that account, a Role for workloads and the right to impersonate it by name
(docs/security.md, tenancy).

--source and the source and policy flags of 'sync' add a first source. Public key
files named by --key are put into the configuration as PEM, a --trusted-root file into
the keys ConfigMap, so that the cluster needs nothing from this machine. That source's
artifact may hold the puller's own ConfigMap and Deployment (print them with this
command into the repository the artifact is built from): the puller then keeps its
own configuration and version as a signed artifact, as flux bootstrap does. Every
object carries gitless.dev/prune: disabled, so that a source upgrades but never
deletes the puller.`,
		Example: `  gitless-puller install --source oci://ghcr.io/acme/fleet --ref production --key cosign.pub --pull-secret ghcr --prune --apply
  gitless-puller install --config puller.yaml --webhook > install.yaml
  gitless-puller install --dir examples/cluster`,
		Args: clikit.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns := k.namespace
			if ns == "" {
				ns = config.DefaultNamespace
			}
			c := &config.PullerConfig{APIVersion: config.APIVersion, Kind: config.Kind, Namespace: ns}
			keys := map[string]string{}
			switch {
			case configPath != "" && (source != "" || sf.given(cmd.Flags())):
				return clikit.Usagef("--config and --source (with the source flags) are exclusive")
			case configPath != "":
				var err error
				if c, err = config.Load(configPath, config.Namespaces{Override: k.namespace}); err != nil {
					return clikit.Usage(err)
				}
				ns = c.Namespace // the file's, unless -n
				// Key files of this machine go into the cluster as the flags' do;
				// paths below the keys directory are the cluster's already.
				for i := range c.Sources {
					src := &c.Sources[i]
					left, err := portablePolicy(src, keys, "trusted_root-"+src.Name+".json", fmt.Sprintf("%s: sources[%d].verify", configPath, i))
					if err != nil {
						return err
					}
					for _, l := range left {
						fmt.Fprintf(env.Err, "Warning: %s is not on this machine: left as a path of the cluster (mount it into the puller, or put it below %s, the keys ConfigMap)\n", l, install.KeysDir)
					}
				}
			case source != "":
				sf.url = source
				src, err := sf.source()
				if err != nil {
					return err
				}
				if _, err := portablePolicy(&src, keys, "trusted_root.json", ""); err != nil {
					return err
				}
				c.Sources = []puller.Source{src}
			case sf.given(cmd.Flags()):
				return clikit.Usagef("the source flags need --source oci://REGISTRY/REPOSITORY")
			}
			if defaultSA != "" {
				c.DefaultServiceAccount = defaultSA
			}
			if cmd.Flags().Changed("replicas") && replicas < 1 {
				return clikit.Usagef("--replicas %d: at least 1 (to stop the puller, suspend its sources or scale its Deployment down)", replicas)
			}
			if replicas > 1 && !leaderElect {
				return clikit.Usagef("--replicas %d needs --leader-elect (two pullers must never apply at once)", replicas)
			}
			o := install.Options{Namespace: ns, Image: image, Replicas: replicas, LeaderElect: leaderElect, Webhook: webhook, Config: c, Keys: keys}
			if dir != "" {
				files, err := install.Files(o)
				if err != nil {
					return err
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				// What an earlier install wrote here, by its kustomization.
				prev, _ := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
				earlier := install.Generated(prev)
				written := map[string]bool{}
				for _, f := range files {
					if err := os.WriteFile(filepath.Join(dir, f.Name), f.Content, 0o644); err != nil {
						return err
					}
					written[f.Name] = true
					fmt.Fprintf(env.Err, "wrote %s\n", filepath.Join(dir, f.Name))
				}
				// A file an earlier install wrote there (webhook.yaml before --webhook
				// was dropped) would be left beside a kustomization that no longer
				// lists it. Only what that install's kustomization listed goes.
				for _, name := range earlier {
					p := filepath.Join(dir, name)
					if written[name] {
						continue
					}
					if err := os.Remove(p); err == nil {
						fmt.Fprintf(env.Err, "removed %s (an earlier install's; not part of this one)\n", p)
					} else if !errors.Is(err, fs.ErrNotExist) {
						return err
					}
				}
				return nil
			}
			manifests, err := install.Manifests(o)
			if err != nil {
				return err
			}
			if !doApply {
				_, err := env.Out.Write(manifests)
				return err
			}
			objs, err := install.Objects(manifests)
			if err != nil {
				return err
			}
			restCfg, err := k.restConfig(env)
			if err != nil {
				return err
			}
			done, skipped, err := install.Apply(cmd.Context(), restCfg, objs)
			for _, d := range done {
				fmt.Fprintf(env.Out, "applied %s\n", d)
			}
			for _, s := range skipped {
				fmt.Fprintf(env.Err, "Warning: skipped %s\n", s)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Out, "gitless-puller installed in %s: kubectl -n %s rollout status deploy/%s; gitless-puller status -n %s\n", ns, ns, install.Name, ns)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&source, "source", "", "a first source: oci://REGISTRY/REPOSITORY[:TAG] (with --ref, --key, --pull-secret, ... as for sync)")
	f.StringVarP(&configPath, "config", "c", "", "a whole PullerConfig file to install, instead of --source")
	f.StringVar(&image, "image", "ghcr.io/gitless-dev/gitless-puller:"+imageTag(), "the puller's image (pin it by digest)")
	f.IntVar(&replicas, "replicas", 0, "replicas (default 2 with --leader-elect, else 1)")
	f.BoolVar(&leaderElect, "leader-elect", true, "run the replicas with leader election")
	f.BoolVar(&webhook, "webhook", false, "serve webhooks on :9292, with a Service")
	f.BoolVar(&doApply, "apply", false, "apply the manifests to the cluster (server-side apply) instead of printing them")
	f.StringVar(&defaultSA, "default-service-account", "", "lock tenants down: every source without serviceAccountName acts as this account of its targetNamespace; the install then has no cluster-wide rights, and a tenants.yaml per namespace")
	f.StringVar(&dir, "dir", "", "write the manifests into this directory, one file per concern, with a kustomization.yaml")
	sf.AddFlags(f)
	_ = f.MarkHidden("url")
	return cmd
}

// imageTag is the image tag of this build: its version when it is a release, a
// prerelease included (vX.Y.Z, vX.Y.Z-rc.1: the release workflow pushes both), else
// latest (a build from a checkout; build metadata, "+...", is no tag).
func imageTag() string {
	v := version()
	if sv, err := semver.StrictNewVersion(strings.TrimPrefix(v, "v")); err == nil && sv.Metadata() == "" && strings.HasPrefix(v, "v") {
		return v
	}
	return "latest"
}

// portablePolicy makes a source's policy independent of this machine's files: key
// files become PEM in the configuration, a trusted root file goes into the keys
// ConfigMap as rootName. Paths below install.KeysDir are left alone: they are the
// cluster's, mounted from the keys ConfigMap. where names the policy of a configuration
// file in errors ("" for the flags); there an absolute path that is not on this machine
// is taken for the cluster's, left alone and returned.
func portablePolicy(src *puller.Source, keys map[string]string, rootName, where string) (left []string, err error) {
	p := src.Verify
	if p == nil {
		return nil, nil
	}
	inCluster := func(path string) bool { return strings.HasPrefix(path, install.KeysDir+"/") }
	// named is what errors call a value: "FLAG VALUE" for the flags, "WHERE.FIELD VALUE"
	// for a configuration file.
	named := func(field, flag, value string) string {
		if where == "" {
			return flag + " " + value
		}
		return where + "." + field + " " + value
	}
	// read reads the file of a field (flag, for the flags); ok is false for a path left
	// as the cluster's.
	read := func(path, field, flag string) (b []byte, ok bool, err error) {
		b, err = os.ReadFile(path)
		switch {
		case err == nil:
			return b, true, nil
		case where == "":
			return nil, false, clikit.Usagef("%s: %v", named(field, flag, path), err)
		case filepath.IsAbs(path) && errors.Is(err, fs.ErrNotExist):
			left = append(left, named(field, flag, path))
			return nil, false, nil
		}
		return nil, false, clikit.Usagef("%s: %v (a file of this machine, or a path below %s for the keys ConfigMap)", named(field, flag, path), err, install.KeysDir)
	}
	// A private key (cosign.key for cosign.pub) would be written into the ConfigMap, or
	// a file meant to be committed: refused, never quoted.
	private := func(pemText, field, flag, name string) error {
		if !privateKeyPEM.MatchString(pemText) {
			return nil
		}
		return clikit.Usagef("%s: a private key; the puller verifies with the public key (cosign.pub)", named(field, flag, name))
	}
	for i, key := range p.Keys {
		field := fmt.Sprintf("keys[%d]", i)
		if strings.Contains(key, "-----BEGIN") {
			if err := private(key, field, "--key", "(PEM)"); err != nil {
				return nil, err
			}
			continue // PEM already
		}
		if strings.Contains(key, "://") || inCluster(key) {
			continue // env:// or a KMS URI, or the cluster's file
		}
		b, ok, err := read(key, field, "--key")
		if err != nil {
			return nil, err
		}
		if ok {
			if err := private(string(b), field, "--key", key); err != nil {
				return nil, err
			}
			p.Keys[i] = string(b)
		}
	}
	if p.TrustedRoot != "" && !inCluster(p.TrustedRoot) {
		b, ok, err := read(p.TrustedRoot, "trustedRoot", "--trusted-root")
		if err != nil {
			return nil, err
		}
		if ok {
			keys[rootName] = string(b)
			p.TrustedRoot = install.KeysDir + "/" + rootName
		}
	}
	return left, nil
}

// privateKeyPEM matches the armour of a private key of any kind (PKCS#8, EC, RSA,
// cosign's ENCRYPTED SIGSTORE PRIVATE KEY), whether its body decodes or not.
var privateKeyPEM = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----`)
