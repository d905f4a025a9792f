package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// ServiceCIDR is the apiserver's --service-cluster-ip-range unless WithAPIServerFlag sets
// another. envtest's own default, a /24, runs out after 254 Services; tests apply 1,000.
const ServiceCIDR = "10.0.0.0/16"

// Default timeouts. A cold kube-apiserver on two busy cores can take well over envtest's 20 s.
const (
	DefaultStartTimeout = 90 * time.Second
	DefaultStopTimeout  = 30 * time.Second
)

// Option configures Start, NewT and Main.
type Option func(*options) error

type options struct {
	crdPaths     []string
	flags        map[string][]string
	startTimeout time.Duration
	stopTimeout  time.Duration
}

// WithCRDPaths installs the CustomResourceDefinitions found in these files or directories
// (.yaml, .yml and .json; directories are not walked recursively) and waits until they are
// served. A path that does not exist is an error at start.
func WithCRDPaths(paths ...string) Option {
	return func(o *options) error {
		for _, p := range paths {
			if p == "" {
				return errors.New("WithCRDPaths: empty path")
			}
		}
		o.crdPaths = append(o.crdPaths, paths...)
		return nil
	}
}

// WithAPIServerFlag sets a kube-apiserver flag, replacing envtest's default for it (name
// without the leading dashes, e.g. WithAPIServerFlag("feature-gates", "Foo=true")). Several
// values give the flag several times.
func WithAPIServerFlag(name string, values ...string) Option {
	return func(o *options) error {
		if name == "" || strings.HasPrefix(name, "-") || strings.Contains(name, "=") {
			return fmt.Errorf("WithAPIServerFlag: want a bare flag name like %q, got %q", "feature-gates", name)
		}
		o.flags[name] = values
		return nil
	}
}

// WithTimeouts bounds how long the control plane may take to start and to stop (zero
// keeps the default). Start also honours its context's deadline.
func WithTimeouts(start, stop time.Duration) Option {
	return func(o *options) error {
		if start < 0 || stop < 0 {
			return errors.New("WithTimeouts: negative duration")
		}
		if start > 0 {
			o.startTimeout = start
		}
		if stop > 0 {
			o.stopTimeout = stop
		}
		return nil
	}
}

func buildOptions(opts []Option) (*options, error) {
	o := &options{
		flags:        map[string][]string{"service-cluster-ip-range": {ServiceCIDR}},
		startTimeout: DefaultStartTimeout,
		stopTimeout:  DefaultStopTimeout,
	}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, fmt.Errorf("kube: %w", err)
		}
	}
	return o, nil
}

// Env is a running etcd + kube-apiserver pair. Make one with Start, NewT or Main.
type Env struct {
	te             *envtest.Environment
	cfg            *rest.Config
	dir            string // ours: etcd data, apiserver certs, kubeconfig
	kubeconfigPath string
	startup        time.Duration
	guard          *watchdog

	shared *shared // set by Main: started on the first Use, stopped after m.Run
}

// quietOnce silences controller-runtime's logger. Unset, it prints a warning with a stack
// trace to stderr the first time envtest logs more than 30 s into the test binary's life,
// which reads like a failure. gitless itself does not log through controller-runtime.
var quietOnce sync.Once

// Start starts etcd and kube-apiserver from Assets(), with the apiserver's service range
// set to ServiceCIDR, installs the CRDs of WithCRDPaths, and returns when the apiserver
// allocates Service IPs. The caller must Stop it. If the binaries are missing the error
// wraps ErrNoAssets.
//
// If the test binary dies without calling Stop (a -timeout panic, Ctrl-C), a watchdog
// kills the processes (on Linux) and removes their files (on Unix).
func Start(ctx context.Context, opts ...Option) (*Env, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	assets, err := Assets()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("kube: starting control plane: %w", err)
	}
	startTimeout := o.startTimeout
	if dl, ok := ctx.Deadline(); ok {
		startTimeout = min(startTimeout, time.Until(dl))
	}
	quietOnce.Do(func() { ctrllog.SetLogger(logr.Discard()) })

	dir, err := os.MkdirTemp("", "gitless-kube-")
	if err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	began := time.Now()
	noExisting := false
	te := &envtest.Environment{
		BinaryAssetsDirectory:    assets,
		CRDDirectoryPaths:        o.crdPaths,
		ErrorIfCRDPathMissing:    true,
		UseExistingCluster:       &noExisting, // ignore USE_EXISTING_CLUSTER: never apply to a real cluster
		ControlPlaneStartTimeout: startTimeout,
		ControlPlaneStopTimeout:  o.stopTimeout,
	}
	// Keep the end of each process's log for the error if it fails: envtest discards it,
	// unless KUBEBUILDER_ATTACH_CONTROL_PLANE_OUTPUT=true sends it to this process's output.
	etcdLog, apiLog := &tailBuffer{max: 2 << 10}, &tailBuffer{max: 8 << 10}
	// Everything the processes write goes under dir, which the watchdog knows them by.
	te.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(assets, "etcd"), DataDir: filepath.Join(dir, "etcd")}
	api := te.ControlPlane.GetAPIServer()
	api.Path = filepath.Join(assets, "kube-apiserver")
	api.CertDir = filepath.Join(dir, "apiserver")
	if err := os.Mkdir(api.CertDir, 0o700); err != nil {
		return nil, errors.Join(fmt.Errorf("kube: %w", err), os.RemoveAll(dir))
	}
	if os.Getenv("KUBEBUILDER_ATTACH_CONTROL_PLANE_OUTPUT") != "true" {
		te.ControlPlane.Etcd.Err, api.Err = etcdLog, apiLog
	}
	args := api.Configure()
	for name, values := range o.flags {
		args.Set(name, values...)
	}

	e := &Env{te: te, dir: dir, guard: startWatchdog(dir)}
	fail := func(err error) (*Env, error) {
		err = fmt.Errorf("kube: starting control plane from %s: %w", assets, err)
		for _, l := range []struct {
			name string
			log  *tailBuffer
		}{{"etcd", etcdLog}, {"kube-apiserver", apiLog}} {
			if s := l.log.String(); s != "" {
				err = fmt.Errorf("%w\n--- end of %s's stderr ---\n%s", err, l.name, s)
			}
		}
		return nil, errors.Join(err, e.Stop())
	}
	cfg, err := te.Start()
	if err != nil {
		return fail(err)
	}
	e.cfg = cfg
	if err := e.finishStart(ctx, began.Add(startTimeout)); err != nil {
		return fail(err)
	}
	e.startup = time.Since(began)
	// The processes' output is only wanted for a failed start: stop keeping it.
	etcdLog.drop()
	apiLog.drop()
	return e, nil
}

// finishStart writes the kubeconfig and waits for the apiserver's bootstrap controller to
// have made the "kubernetes" Service, i.e. until Service IPs can be allocated.
func (e *Env) finishStart(ctx context.Context, deadline time.Time) error {
	e.kubeconfigPath = filepath.Join(e.dir, "kubeconfig")
	if err := os.WriteFile(e.kubeconfigPath, e.te.KubeConfig, 0o600); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	cs, err := kubernetes.NewForConfig(e.cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var last error
	err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		svc, err := cs.CoreV1().Services(metav1.NamespaceDefault).Get(ctx, "kubernetes", metav1.GetOptions{})
		if err != nil {
			last = err
			return false, nil
		}
		return svc.Spec.ClusterIP != "", nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the default/kubernetes Service: %w (last error: %v)", err, last)
	}
	return nil
}

// Stop stops kube-apiserver and etcd and removes their files and the kubeconfig. It is safe
// to call more than once, and on a shared Env that never started.
func (e *Env) Stop() error {
	if e == nil || e.te == nil {
		return nil
	}
	te := e.te
	e.te, e.cfg = nil, nil
	err := te.Stop()
	if e.dir != "" {
		err = errors.Join(err, os.RemoveAll(e.dir))
	}
	e.guard.release()
	if err != nil {
		return fmt.Errorf("kube: stopping control plane: %w", err)
	}
	return nil
}

func (e *Env) mustStarted(what string) {
	if e == nil || e.cfg == nil {
		panic("kube: " + what + " on an Env that is not running (with kube.Main, call env.Use(t) first)")
	}
}

// Config returns a fresh copy of the admin (system:masters) client configuration; callers
// may change it.
func (e *Env) Config() *rest.Config {
	e.mustStarted("Config")
	return rest.CopyConfig(e.cfg)
}

// KubeconfigPath is a kubeconfig file for the admin (system:masters) user, for kubectl and
// other programs run by tests: kubectl --kubeconfig "$(env.KubeconfigPath())". Stop removes it.
func (e *Env) KubeconfigPath() string {
	e.mustStarted("KubeconfigPath")
	return e.kubeconfigPath
}

// StartupTime is how long Start took, from launching etcd to the apiserver allocating
// Service IPs (CRD installation included).
func (e *Env) StartupTime() time.Duration {
	e.mustStarted("StartupTime")
	return e.startup
}

// AddUser provisions a client-certificate user with these groups and returns its client
// configuration. It is not in system:masters unless groups say so: give it rights with RBAC.
func (e *Env) AddUser(name string, groups ...string) (*rest.Config, error) {
	e.mustStarted("AddUser")
	u, err := e.te.AddUser(envtest.User{Name: name, Groups: groups}, rest.CopyConfig(e.cfg))
	if err != nil {
		return nil, fmt.Errorf("kube: adding user %s: %w", name, err)
	}
	return u.Config(), nil
}

// CreateNamespace creates a Namespace named prefix plus "-" and a random suffix (the
// apiserver's generateName) and returns its name. The control plane runs no namespace
// controller, so deleting a Namespace leaves it Terminating: use a fresh one per test.
func (e *Env) CreateNamespace(ctx context.Context, prefix string) (string, error) {
	e.mustStarted("CreateNamespace")
	cs, err := kubernetes.NewForConfig(e.cfg)
	if err != nil {
		return "", err
	}
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: strings.TrimSuffix(prefix, "-") + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("kube: creating namespace %s-*: %w", prefix, err)
	}
	return ns.Name, nil
}

// tailBuffer keeps the last max bytes written to it: a process's stderr, for the error
// when it fails to start.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// drop empties the buffer and keeps nothing from now on.
func (b *tailBuffer) drop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.max, b.buf = 0, nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// RestartAPIServer stops kube-apiserver and starts it again on the same address,
// certificates and etcd, as a control-plane upgrade or crash would: clients see
// connections refused, then the same cluster. It returns once the apiserver serves
// again. Use it on an Env of your own (NewT), not a shared one.
func (e *Env) RestartAPIServer(ctx context.Context, down time.Duration) error {
	e.mustStarted("RestartAPIServer")
	api := e.te.ControlPlane.GetAPIServer()
	if err := api.Stop(); err != nil {
		return fmt.Errorf("kube: stopping kube-apiserver: %w", err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	if err := api.Start(); err != nil {
		return fmt.Errorf("kube: starting kube-apiserver again: %w", err)
	}
	return e.finishStart(ctx, time.Now().Add(DefaultStartTimeout))
}
