package pullertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/auth"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/sign"
	"github.com/gitless-dev/gitless/verify"
)

// KeyPassword encrypts the private keys of NewKey (COSIGN_PASSWORD for the CLIs).
const KeyPassword = "pw"

// Key is a cosign key pair, on disk as cosign.key and cosign.pub, and the policy that
// trusts it.
type Key struct {
	Signing *sign.SigningKey
	// Policy trusts the key alone, with no transparency log: tests cannot reach the
	// public Rekor.
	Policy  *verify.Policy
	PubPEM  string
	Path    string // cosign.key, encrypted with KeyPassword
	PubPath string // cosign.pub, beside it
}

// NewKey makes a key pair in a temporary directory of t.
func NewKey(t testing.TB) *Key {
	t.Helper()
	kp, err := sign.GenerateKeyPair([]byte(KeyPassword))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k := &Key{PubPEM: string(kp.PublicPEM), Path: filepath.Join(dir, "cosign.key"), PubPath: filepath.Join(dir, "cosign.pub")}
	if err := os.WriteFile(k.Path, kp.PrivatePEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.PubPath, kp.PublicPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	k.Signing, err = sign.LoadSigningKey(t.Context(), k.Path, sign.KeyOptions{Password: func() ([]byte, error) { return []byte(KeyPassword), nil }})
	if err != nil {
		t.Fatal(err)
	}
	k.Policy = &verify.Policy{Keys: []string{k.PubPEM}, InsecureIgnoreTlog: true}
	return k
}

// Fixture is a Cluster, a registry and a key that signs what is pushed to it: what the
// puller pulls from, and where to.
type Fixture struct {
	*Cluster
	Reg    *registry.Registry
	Client *remote.Client // pushes, as the registry's user if it has one
	Signer *sign.Client   // signs, likewise
	Key    *Key
}

// New makes t's Cluster (see NewCluster), starts a registry with regOpts for t and
// makes a key.
func New(t testing.TB, env *kube.Env, regOpts registry.Options) *Fixture {
	t.Helper()
	f := &Fixture{Cluster: NewCluster(t, env), Reg: registry.NewT(t, regOpts)}
	f.Client = remote.New(remote.Options{Credentials: f.Credentials()})
	f.Signer = sign.New(sign.ClientOptions{Credentials: f.Credentials()})
	f.Key = NewKey(t)
	return f
}

// Credentials gives the test's own clients (pushing, signing) the registry's user; nil
// for a registry without one.
func (f *Fixture) Credentials() remote.CredentialResolver {
	if f.Reg.Username == "" {
		return nil
	}
	return auth.Chain{auth.Static(f.Reg.Host(), auth.Credential{Username: f.Reg.Username, Password: f.Reg.Password}, "test")}
}

// URL is repo's oci:// URL in the registry.
func (f *Fixture) URL(repo string) string { return "oci://" + f.Reg.Host() + "/" + repo }

// Push packages files as they are as an artifact at repo:tag, moving the tag if it
// exists, and returns it pinned to its digest.
func (f *Fixture) Push(repo, tag string, files map[string]string, meta artifact.Metadata) artifact.Reference {
	f.t.Helper()
	data := make(map[string][]byte, len(files))
	for p, c := range files {
		data[p] = []byte(c)
	}
	layer, err := artifact.BuildFromFiles(data)
	if err != nil {
		f.t.Fatal(err)
	}
	ref, err := artifact.ParseReference(f.URL(repo) + ":" + tag)
	if err != nil {
		f.t.Fatal(err)
	}
	opts := remote.DefaultPushOptions()
	opts.Policy.AllowOverwrite = true
	res, err := f.Client.Push(f.Ctx, ref, layer, meta, opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Reference
}

// Sign signs ref with the fixture's key, in cosign's format.
func (f *Fixture) Sign(ref artifact.Reference) {
	f.t.Helper()
	if _, err := f.Signer.Sign(f.Ctx, ref, sign.Options{Key: f.Key.Signing, Format: verify.FormatCosign}); err != nil {
		f.t.Fatal(err)
	}
}

// SourceYAML is an entry of a PullerConfig's sources: repo:tag of the registry, pruned,
// polled hourly, verified with the fixture's key inlined (as install writes it) and no
// transparency log. extra, YAML of the same indentation ending in a newline, is appended;
// an interval in extra replaces the hourly one.
func (f *Fixture) SourceYAML(name, repo, tag, extra string) string {
	key := strings.ReplaceAll(strings.TrimSpace(f.Key.PubPEM), "\n", "\n      ")
	interval := "  interval: 1h\n"
	if strings.Contains("\n"+extra, "\n  interval:") {
		interval = "" // the config is strict: a key set twice is refused
	}
	return fmt.Sprintf("- name: %s\n  url: %s\n  ref: {tag: %s}\n  prune: true\n%s  verify:\n    insecureIgnoreTlog: true\n    keys:\n    - |\n      %s\n%s",
		name, f.URL(repo), tag, interval, key, extra)
}

// ConfigYAML is a PullerConfig for the puller's namespace: top (top-level fields, each
// line ending in a newline) and the sources of SourceYAML.
func (f *Fixture) ConfigYAML(top string, sources ...string) string {
	return "apiVersion: gitless.dev/v1alpha1\nkind: PullerConfig\nnamespace: " + f.NS + "\n" + top + "sources:\n" + strings.Join(sources, "")
}
