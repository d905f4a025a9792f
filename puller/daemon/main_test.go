package daemon_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller/config"
	"github.com/gitless-dev/gitless/puller/daemon"
)

var env *kube.Env

func TestMain(m *testing.M) { os.Exit(kube.Main(m, &env)) }

// fixture is the shared one (a registry, a cluster namespace pair, a signing key) and a
// kubelet-style mounted config directory.
type fixture struct {
	*pullertest.Fixture
	t         *testing.T
	configDir string // holds ..data → ..N/ and puller.yaml → ..data/puller.yaml
	swaps     int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return &fixture{Fixture: pullertest.New(t, env, registry.Options{}), t: t, configDir: t.TempDir()}
}

// push packages files (NS → the target namespace) as repo:tag and signs it.
func (f *fixture) push(repo, tag string, files map[string]string) {
	f.t.Helper()
	f.pushFiles(repo, tag, f.InTarget(files))
}

// pushFiles packages files as they are as repo:tag and signs it.
func (f *fixture) pushFiles(repo, tag string, files map[string]string) {
	f.t.Helper()
	f.Sign(f.Push(repo, tag, files, artifact.Metadata{Source: "https://github.com/acme/app", Revision: "main@sha1:" + strings.Repeat("a", 40), Created: time.Now()}))
}

var cm = pullertest.ConfigMap

// writeConfig swaps the mounted configuration as the kubelet does: a new timestamped
// directory, a ..data_tmp symlink to it, renamed over ..data.
func (f *fixture) writeConfig(text string) string {
	f.t.Helper()
	f.swaps++
	dir := fmt.Sprintf("..2026_12_03_%02d", f.swaps)
	if err := os.Mkdir(filepath.Join(f.configDir, dir), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.configDir, dir, "puller.yaml"), []byte(text), 0o644); err != nil {
		f.t.Fatal(err)
	}
	tmp := filepath.Join(f.configDir, "..data_tmp")
	if err := os.Symlink(dir, tmp); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(f.configDir, "..data")); err != nil {
		f.t.Fatal(err)
	}
	path := filepath.Join(f.configDir, "puller.yaml")
	if _, err := os.Lstat(path); os.IsNotExist(err) {
		if err := os.Symlink(filepath.Join("..data", "puller.yaml"), path); err != nil {
			f.t.Fatal(err)
		}
	}
	return path
}

type running struct {
	addr, webhook string
	done          chan error
	cancel        context.CancelFunc
}

// start runs the daemon on the mounted configuration, or on opts.Config when set.
func (f *fixture) start(opts daemon.Options) *running {
	f.t.Helper()
	path := filepath.Join(f.configDir, "puller.yaml")
	c := opts.Config // read before this call, as a slow start would
	if c == nil {
		var err error
		if c, err = config.Load(path, config.Namespaces{Default: f.NS}); err != nil {
			f.t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	wln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.t.Fatal(err)
	}
	opts.Config, opts.ConfigPath, opts.RestConfig = c, path, f.Config
	opts.Listener, opts.WebhookListener = ln, wln
	opts.ConfigCheckInterval = 100 * time.Millisecond
	if opts.Puller.Instance == "" {
		opts.Puller.Instance = "gitless-puller-test"
	}
	ctx, cancel := context.WithCancel(f.Ctx)
	r := &running{addr: ln.Addr().String(), webhook: wln.Addr().String(), done: make(chan error, 1), cancel: cancel}
	go func() { r.done <- daemon.Run(ctx, opts) }()
	f.t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

var (
	get       = pullertest.HTTPGet
	waitUntil = pullertest.WaitUntil
)

// events returns the messages of the events of this reason in the puller's namespace.
func (f *fixture) events(reason string) []string {
	var out []string
	for _, e := range f.Events("reason=" + reason) {
		out = append(out, e.Message)
	}
	return out
}
