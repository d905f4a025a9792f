package daemon

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/apply"
	"github.com/gitless-dev/gitless/puller/config"
	"github.com/gitless-dev/gitless/puller/metrics"
)

// Options configures [Run].
type Options struct {
	// Config is the configuration loaded at start (config.Load), and ConfigPath the
	// file it came from, watched for changes ("" watches nothing).
	Config     *config.PullerConfig
	ConfigPath string
	// DefaultNamespace is the namespace used when a reloaded file names none
	// ($POD_NAMESPACE); NamespaceOverride wins over the file's (--namespace).
	DefaultNamespace, NamespaceOverride string
	// ConfigCheckInterval is how often the file is read for changes; default 2s.
	ConfigCheckInterval time.Duration

	// RestConfig reaches the apiserver. Its proxy settings are its own: the
	// environment's HTTPS_PROXY is for registries only (Puller.Proxy).
	RestConfig *rest.Config
	// Puller is the template of the puller's options: Version, Instance (the pod
	// name, which also receives the daemon's Events), Logger, Proxy, ... What the file
	// decides (config.PullerConfig.PullerOptions: namespace, lockdown, limits, and
	// unless set here concurrency) comes from Config.
	Puller puller.Options

	// Listener serves /healthz, /readyz and /metrics; WebhookListener, if not nil,
	// serves the webhook receiver. Run closes both.
	Listener, WebhookListener net.Listener
	// Registry receives the metrics; nil makes one.
	Registry *prometheus.Registry

	// LeaderElection, if not nil, runs the puller only while this replica holds the
	// Lease.
	LeaderElection *LeaderElection
	// Name names this installation among the pullers of its namespace (default the
	// Lease's name, else "gitless-puller"). It is recorded on the parents it writes
	// (puller.RunOptions.Owner): with pruneRemovedSources, a start removes the sources
	// this installation applied that its file no longer has, and never another's.
	Name string
	// ShutdownGrace is how long a sync in flight may go on after ctx is done.
	ShutdownGrace time.Duration
	// MaxConcurrentSyncs bounds the sources syncing at once (puller.RunOptions).
	MaxConcurrentSyncs int
	// OnResult is called after every sync (and source removal).
	OnResult func(*puller.Result, error)
	// Logger receives the daemon's logs; nil discards them.
	Logger *slog.Logger
}

// ErrLeadershipLost: this replica held the Lease and lost it (the apiserver was
// unreachable for longer than the renew deadline). The process should exit; a
// restarted one joins as a standby.
var ErrLeadershipLost = errors.New("leader election lost")

type daemon struct {
	o    Options
	log  *slog.Logger
	p    *puller.Puller
	kube kubernetes.Interface
	// removalKey signs the removal records (puller.RunOptions.RemovalKey).
	removalKey []byte
	control    *puller.Control
	m          *metrics.Recorder
	dm         *metrics.Daemon

	mu       sync.Mutex
	cfg      *config.PullerConfig
	updates  chan puller.Update
	leading  atomic.Bool
	leader   atomic.Pointer[string]
	election bool
	tokens   tokenCache
	// refused is the last refusal recorded (the file's sum and the error), so that a
	// file read again and refused for the same reason is not recorded again.
	refused string
}

// Run runs the daemon until ctx is done (then it returns nil, after the graceful
// shutdown) or it fails: a listener that stops, ErrLeadershipLost.
func Run(ctx context.Context, o Options) error {
	if o.Config == nil || o.RestConfig == nil || o.Listener == nil {
		return errors.New("daemon: Options.Config, RestConfig and Listener are required")
	}
	if o.ConfigCheckInterval <= 0 {
		o.ConfigCheckInterval = 2 * time.Second
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// What the configuration decides for every source, as the one-shot sync takes it
	// (restartOnly keeps a reload from changing it under the running puller).
	po := o.Config.PullerOptions(o.Puller)
	if po.Logger == nil {
		po.Logger = log
	}
	p, err := puller.New(o.RestConfig, po)
	if err != nil {
		return err
	}
	// What a puller killed mid-build left in the (pod-lifetime) temp dir.
	removed, err := p.RemoveStaleTemp()
	for _, r := range removed {
		log.Info("removed a stale extraction directory", "path", r)
	}
	if err != nil {
		log.Warn("stale extraction directories", "error", err)
	}
	kube, err := kubernetes.NewForConfig(o.RestConfig)
	if err != nil {
		return err
	}
	control, err := puller.NewControl(o.RestConfig, o.Config.Namespace)
	if err != nil {
		return err
	}
	d := &daemon{
		o: o, log: log, p: p, kube: kube, control: control, cfg: o.Config,
		m: metrics.New(o.Registry), dm: metrics.NewDaemon(o.Registry),
		updates: make(chan puller.Update, 1), election: o.LeaderElection != nil,
	}
	d.tokens.ttl, d.tokens.retryTTL = 10*time.Second, time.Second
	d.removalKey = d.loadRemovalKey(ctx)
	d.m.Keep(sourceNames(o.Config))

	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 2)
	serve := func(ln net.Listener, h http.Handler) {
		// Headers within 64 KiB (a webhook's are a few KiB; Go's default is 1 MiB per
		// connection).
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10}
		wg.Add(2)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				served <- fmt.Errorf("serving on %s: %w", ln.Addr(), err)
			}
		}()
		go func() {
			defer wg.Done()
			<-ctx.Done()
			sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
			defer c()
			_ = srv.Shutdown(sctx)
		}()
	}
	serve(o.Listener, d.mux())
	if o.WebhookListener != nil {
		// The webhook listener faces the internet: connections beyond the limit wait in
		// the kernel's backlog instead of each holding a goroutine and its buffers.
		serve(netutil.LimitListener(o.WebhookListener, webhookConnections), d.webhookHandler())
	}
	if o.ConfigPath != "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.watchConfig(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.watchParents(ctx)
	}()

	runErr := make(chan error, 1)
	go func() { runErr <- d.lead(ctx) }()
	select {
	case err := <-runErr:
		cancel()
		return err
	case err := <-served:
		cancel()
		<-runErr
		return err
	}
}

// config returns the configuration in force.
func (d *daemon) config() *config.PullerConfig {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cfg
}

// runPuller runs the puller's loops with the configuration in force until ctx is done.
func (d *daemon) runPuller(ctx context.Context, abort <-chan struct{}) error {
	// An update queued before this run is older than the configuration read here.
	select {
	case <-d.updates:
	default:
	}
	c := d.config()
	err := d.p.Run(ctx, c.Sources, puller.RunOptions{
		Owner:        d.name(),
		RemovalKey:   d.removalKey,
		ConfigTime:   c.ModTime,
		ConfigDigest: c.Digest(),
		PruneRemoved: c.PruneRemovedSources,
		OnResult: func(r *puller.Result, err error) {
			d.m.Observe(r, err)
			if r != nil && r.Outcome != puller.UpToDate && r.Outcome != puller.Suspended {
				// A sync that built and applied a set leaves its working set behind as
				// free heap; give it back to the system now rather than over minutes,
				// so that the puller's memory between syncs is what it keeps.
				debug.FreeOSMemory()
			}
			if d.o.OnResult != nil {
				d.o.OnResult(r, err)
			}
		},
		Updates:            d.updates,
		ShutdownGrace:      d.o.ShutdownGrace,
		Abort:              abort,
		MaxConcurrentSyncs: d.o.MaxConcurrentSyncs,
		SpreadStart:        true,
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// name is Options.Name with its default.
func (d *daemon) name() string {
	switch {
	case d.o.Name != "":
		return d.o.Name
	case d.o.LeaderElection != nil && d.o.LeaderElection.LeaseName != "":
		return d.o.LeaderElection.LeaseName
	}
	return "gitless-puller"
}

// watchConfig reads the configuration file every ConfigCheckInterval and applies a
// valid change.
func (d *daemon) watchConfig(ctx context.Context) {
	// What runs is what Config was parsed from: a file changed since (while the puller
	// started) differs from it and is reloaded at the first tick.
	lastSum := d.o.Config.Sum
	if lastSum == ([sha256.Size]byte{}) {
		last, _ := os.ReadFile(d.o.ConfigPath)
		lastSum = sha256.Sum256(last)
	}
	t := time.NewTicker(d.o.ConfigCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		data, mtime, err := config.ReadFile(d.o.ConfigPath)
		if err != nil {
			continue // between the kubelet's renames, or gone: keep what runs
		}
		sum := sha256.Sum256(data)
		if sum == lastSum {
			d.refused = "" // back to what runs: a refused file written again is told again
			continue
		}
		if d.reload(ctx, data, sum, mtime) {
			lastSum = sum
		}
	}
}

// reload checks a new configuration file and applies it, or refuses it. It returns
// whether the file is done with: applied, or refused for what it says. A file refused
// for what it names outside itself (a key file not there yet: the kubelet updates each
// mounted Secret on its own) is checked again at the next tick, and recorded again
// only when the reason changes.
func (d *daemon) reload(ctx context.Context, data []byte, sum [sha256.Size]byte, mtime time.Time) bool {
	old := d.config()
	c, err := config.Parse(data, config.Namespaces{Default: d.o.DefaultNamespace, Override: d.o.NamespaceOverride})
	if err == nil {
		c.ModTime = mtime
	}
	if err == nil {
		err = restartOnly(old, c)
	}
	outside := false
	if err == nil {
		err = puller.CheckPolicies(ctx, c.Sources)
		outside = err != nil
	}
	if err != nil {
		msg := fmt.Sprintf("puller config %s refused, the previous configuration keeps running: %v", d.o.ConfigPath, err)
		if seen := fmt.Sprintf("%x %s", sum, msg); seen != d.refused {
			d.refused = seen
			d.dm.ConfigReloaded(false)
			d.log.ErrorContext(ctx, "configuration refused", "file", d.o.ConfigPath, "error", err)
			d.event(ctx, "Warning", "ConfigRejected", msg)
		}
		return !outside
	}
	d.refused = ""
	d.mu.Lock()
	d.cfg = c
	d.mu.Unlock()
	d.tokens.clear()
	// A source taken out leaves no series behind (its last success would age into an
	// alert for a source that is gone).
	d.m.Keep(sourceNames(c))
	// The newest list replaces one not yet taken.
	select {
	case <-d.updates:
	default:
	}
	d.updates <- puller.Update{Sources: c.Sources, PruneRemoved: c.PruneRemovedSources, ConfigTime: c.ModTime, ConfigDigest: c.Digest()}
	d.dm.ConfigReloaded(true)
	msg := "puller config reloaded: " + diffSources(old.Sources, c.Sources)
	if old.Concurrency != c.Concurrency {
		msg += "; concurrency takes effect at the next restart"
	}
	d.log.InfoContext(ctx, "configuration reloaded", "file", d.o.ConfigPath, "change", msg)
	d.event(ctx, "Normal", "ConfigReloaded", msg)
	return true
}

// restartOnly refuses a new file that changes a setting the running puller was built
// with and keeps until it restarts: its namespace, the tenancy lockdown, the
// link-local guard and the limits. Taking the file's sources while such a change waits
// would apply them under other rules than the file says: a defaultServiceAccount added
// by the same edit as a source would not be impersonated for it, a lowered limit or a
// guard switched back on would not hold. concurrency alone may wait for the restart.
func restartOnly(old, c *config.PullerConfig) error {
	changed := func(field string, from, to any) error {
		return &puller.FieldError{Field: field, Err: fmt.Errorf("changed from %v to %v, which takes effect only when the puller restarts", from, to)}
	}
	switch {
	case c.Namespace != old.Namespace:
		return changed("namespace", old.Namespace, c.Namespace)
	case c.DefaultServiceAccount != old.DefaultServiceAccount:
		return changed("defaultServiceAccount", fmt.Sprintf("%q", old.DefaultServiceAccount), fmt.Sprintf("%q", c.DefaultServiceAccount))
	case c.AllowCrossNamespaceRefs != old.AllowCrossNamespaceRefs:
		return changed("allowCrossNamespaceRefs", old.AllowCrossNamespaceRefs, c.AllowCrossNamespaceRefs)
	case c.AllowLinkLocalRegistries != old.AllowLinkLocalRegistries:
		return changed("allowLinkLocalRegistries", old.AllowLinkLocalRegistries, c.AllowLinkLocalRegistries)
	case c.Limits != old.Limits:
		from, _ := json.Marshal(old.Limits)
		to, _ := json.Marshal(c.Limits)
		return changed("limits", string(from), string(to))
	}
	return nil
}

// diffSources says which sources an update adds, removes and changes.
func diffSources(old, cur []puller.Source) string {
	byName := func(l []puller.Source) map[string]string {
		m := map[string]string{}
		for _, s := range l {
			b, _ := jsonOf(s.WithDefaults())
			m[s.Name] = string(b)
		}
		return m
	}
	o, n := byName(old), byName(cur)
	var added, removed, changed []string
	for k, v := range n {
		switch ov, ok := o[k]; {
		case !ok:
			added = append(added, k)
		case ov != v:
			changed = append(changed, k)
		}
	}
	for k := range o {
		if _, ok := n[k]; !ok {
			removed = append(removed, k)
		}
	}
	var parts []string
	for _, x := range []struct {
		what  string
		names []string
	}{{"added", added}, {"removed", removed}, {"changed", changed}} {
		if len(x.names) > 0 {
			slices.Sort(x.names)
			parts = append(parts, x.what+" "+strings.Join(x.names, ", "))
		}
	}
	if len(parts) == 0 {
		return "no source changed"
	}
	return strings.Join(parts, "; ")
}

// mux serves /healthz, /readyz and /metrics.
func (d *daemon) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		code, body := d.readiness()
		w.WriteHeader(code)
		fmt.Fprintln(w, body)
	})
	mux.Handle("/metrics", promhttp.HandlerFor(d.o.Registry, promhttp.HandlerOpts{}))
	return mux
}

// readiness is /readyz: a summary. A standby is ready (ready to take over; a
// Deployment's rollout must not wait for it to lead); the leader is ready once every
// source's last sync succeeded. Error messages are never shown here: `gitless-puller
// status` has them.
func (d *daemon) readiness() (int, string) {
	if d.election && !d.leading.Load() {
		leader := "not known yet"
		if l := d.leader.Load(); l != nil && *l != "" {
			leader = *l
		}
		return http.StatusOK, "ok: standby (leader: " + leader + ")"
	}
	role := ""
	if d.election {
		role = "leader, "
	}
	ok, bad := d.p.Health().Ready()
	n := len(d.config().Sources)
	if ok {
		return http.StatusOK, fmt.Sprintf("ok: %s%d sources synced", role, n)
	}
	names := make([]string, 0, len(bad))
	for name := range bad {
		names = append(names, name)
	}
	slices.Sort(names)
	return http.StatusServiceUnavailable, fmt.Sprintf("not ready: %s%d of %d sources synced; not synced yet or failing: %s (gitless-puller status says why)",
		role, n-len(bad), n, strings.Join(names, ", "))
}

// eventObject is what the daemon's own Events are about: its pod.
func (d *daemon) event(ctx context.Context, typ, reason, msg string) {
	if d.o.Puller.Instance == "" {
		return
	}
	if err := recordPodEvent(ctx, d.kube, d.config().Namespace, d.o.Puller.Instance, typ, reason, msg); err != nil {
		d.log.WarnContext(ctx, "recording event", "reason", reason, "error", err)
	}
}

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }

// webhookConnections bounds the connections the webhook listener serves at once.
const webhookConnections = 64

// RemovalKeySecret is the Secret, in the puller's namespace, holding the key that signs
// its removal records (puller.RunOptions.RemovalKey) under the key "key": the install
// ships it empty and the puller fills it; only the puller may read it.
func RemovalKeySecret(owner string) string { return owner + "-removal-key" }

// loadRemovalKey reads the removal key, filling the install's empty Secret (or making
// it) the first time. A key that cannot be read or kept is replaced by one of this
// process alone: records are then signed with a key that the next start will not have,
// so nothing is removed at start by a record (safe, and logged), never by an unsigned
// one.
func (d *daemon) loadRemovalKey(ctx context.Context) []byte {
	name := RemovalKeySecret(d.name())
	secrets := d.kube.CoreV1().Secrets(d.o.Config.Namespace)
	fresh := func() []byte {
		k := make([]byte, 32)
		_, _ = rand.Read(k)
		return k
	}
	var err error
	for range 3 {
		var s *corev1.Secret
		s, err = secrets.Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil && len(s.Data["key"]) >= 32:
			return s.Data["key"]
		case err == nil:
			key := fresh()
			s.Data = map[string][]byte{"key": key}
			if _, err = secrets.Update(ctx, s, metav1.UpdateOptions{FieldManager: "gitless-puller"}); err == nil {
				return key
			}
		case apierrors.IsNotFound(err):
			key := fresh()
			_, err = secrets.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.o.Config.Namespace,
				Annotations: map[string]string{apply.AnnotationPrune: "disabled"}}, Data: map[string][]byte{"key": key}},
				metav1.CreateOptions{FieldManager: "gitless-puller"})
			if err == nil {
				return key
			}
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			break // another replica filling it at the same time: read it again
		}
	}
	d.log.Warn("the Secret that keeps the key signing removal records cannot be read or kept: records are signed with a key of this process alone, so a source taken out while no puller runs is not removed at the next start",
		"secret", name, "error", err)
	return fresh()
}

// sourceNames are the names of c's sources.
func sourceNames(c *config.PullerConfig) []string {
	names := make([]string, len(c.Sources))
	for i, s := range c.Sources {
		names[i] = s.Name
	}
	return names
}
