package pullercli

import (
	"fmt"
	"net"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/daemon"
	"github.com/gitless-dev/gitless/puller/install"
)

// leaderFlags are the leader election flags of run.
type leaderFlags struct {
	enabled                                   bool
	lease                                     string
	leaseDuration, renewDeadline, retryPeriod time.Duration
}

func (l *leaderFlags) AddFlags(f *pflag.FlagSet) {
	f.BoolVar(&l.enabled, "leader-elect", false, "run the puller only while this replica holds a coordination.k8s.io Lease in the puller's namespace (the install turns it on)")
	f.StringVar(&l.lease, "leader-elect-lease", "gitless-puller", "the Lease's name; also the installation's name on the parents it writes, even without --leader-elect (two pullers in one namespace need two names)")
	f.DurationVar(&l.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "how long a standby waits after the leader's last renewal before taking over")
	f.DurationVar(&l.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "how long the leader tries to renew before giving up the lead (and exiting)")
	f.DurationVar(&l.retryPeriod, "leader-elect-retry-period", 2*time.Second, "how often the replicas try to acquire or renew the Lease")
}

func (l *leaderFlags) options(env Env) *daemon.LeaderElection {
	if !l.enabled {
		return nil
	}
	return &daemon.LeaderElection{LeaseName: l.lease, Identity: daemon.Identity(env.Getenv("POD_NAME")),
		LeaseDuration: l.leaseDuration, RenewDeadline: l.renewDeadline, RetryPeriod: l.retryPeriod}
}

func newRunCmd(env Env, g *globalFlags, k *kubeFlags) *cobra.Command {
	var (
		configPath    string
		listen        string
		webhookListen string
		grace         time.Duration
		maxSyncs      int
		configCheck   time.Duration
		leader        leaderFlags
		sf            sourceFlags
	)
	cmd := &cobra.Command{
		Use:   "run (--config FILE | --url oci://... [flags])",
		Short: "Keep every source synced: the in-cluster daemon",
		Long: `Run polls each source on its jittered interval (one HEAD request when nothing changed),
applies what changed, corrects drift every driftInterval, and serves on --listen:

  /healthz   200 while the process runs
  /readyz    a summary: 200 once every source's last sync succeeded (and on a standby), else 503
  /metrics   Prometheus metrics (gitless_puller_*)

It reloads --config when the file changes (a ConfigMap update): new sources start,
removed ones stop, changed ones resync; an invalid file is refused and the previous
configuration keeps running. With --webhook-listen, POST /hook/<source> (GitHub,
GitLab or HMAC-signed) syncs a source at once. With --leader-elect, only the replica
holding the Lease runs. On SIGTERM or SIGINT it starts no new sync, gives a sync in
flight --shutdown-grace to finish, and exits 0.`,
		Example: `  gitless-puller run --config /etc/gitless/puller.yaml --listen :8080 --webhook-listen :9292 --leader-elect`,
		Args:    clikit.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			soft, err := softMemoryLimit(env)
			if err != nil {
				return err
			}
			c, err := loadSources(cmd.Context(), env, k, configPath, &sf, sf.given(cmd.Flags()))
			if err != nil {
				return err
			}
			restCfg, err := k.restConfig(env)
			if err != nil {
				return err
			}
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return clikit.Usagef("--listen: %v", err)
			}
			var wln net.Listener
			if webhookListen != "" {
				if wln, err = net.Listen("tcp", webhookListen); err != nil {
					ln.Close()
					return clikit.Usagef("--webhook-listen: %v", err)
				}
			}
			msg := fmt.Sprintf("gitless-puller %s: %d sources, serving on %s", version(), len(c.Sources), ln.Addr())
			if soft > 0 {
				debug.SetMemoryLimit(soft)
				msg += fmt.Sprintf(", soft memory limit %d MiB (nine tenths of %s: the container's limit, or the node's allocatable memory without one)", soft>>20, install.MemoryLimitEnv)
			}
			if wln != nil {
				msg += ", webhooks on " + wln.Addr().String()
			}
			fmt.Fprintln(env.Err, msg)
			return daemon.Run(cmd.Context(), daemon.Options{
				Config: c, ConfigPath: configPath,
				DefaultNamespace: env.Getenv("POD_NAMESPACE"), NamespaceOverride: k.namespace,
				ConfigCheckInterval: configCheck,
				RestConfig:          restCfg,
				Puller: puller.Options{
					Version: version(), Instance: env.Getenv("POD_NAME"), Concurrency: k.concurrency,
					Logger: g.logger(env), Proxy: registryProxy(env),
				},
				Listener: ln, WebhookListener: wln, Registry: reg,
				LeaderElection:     leader.options(env),
				Name:               leader.lease,
				ShutdownGrace:      grace,
				MaxConcurrentSyncs: maxSyncs,
				Logger:             g.logger(env),
				OnResult: func(r *puller.Result, _ error) {
					if !g.verbose { // with -v the puller logs it already
						printRunResult(env, r)
					}
				},
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "PullerConfig file (docs/puller-config.md), reloaded when it changes")
	f.StringVar(&listen, "listen", ":8080", "address of /healthz, /readyz and /metrics")
	f.StringVar(&webhookListen, "webhook-listen", "", "address of the webhook receiver, POST /hook/<source> (default: none)")
	f.DurationVar(&grace, "shutdown-grace", 25*time.Second, "on SIGTERM, how long a sync in flight may take to finish (keep it below the pod's terminationGracePeriodSeconds)")
	f.DurationVar(&configCheck, "config-check-interval", 2*time.Second, "how often --config is read for changes")
	f.IntVar(&maxSyncs, "max-concurrent-syncs", 2, "sources syncing at once (0: no bound); each sync of a large set holds its objects in memory")
	leader.AddFlags(f)
	sf.AddFlags(f)
	return cmd
}

// printRunResult writes one line per sync that did something or failed.
func printRunResult(env Env, r *puller.Result) {
	if r == nil {
		return
	}
	now := time.Now().UTC().Format(time.RFC3339)
	switch r.Outcome {
	case puller.UpToDate, puller.Suspended:
		return
	case puller.Failed:
		fmt.Fprintf(env.Err, "%s %s: failed: %s\n", now, r.Source, r.Error)
	case puller.Removed:
		fmt.Fprintf(env.Err, "%s %s: removed: %d pruned, %d kept\n", now, r.Source, r.Pruned, r.Skipped)
	default:
		fmt.Fprintf(env.Err, "%s %s: applied %s: %d created, %d configured, %d unchanged, %d pruned\n",
			now, r.Source, r.URL, r.Created, r.Configured, r.Unchanged, r.Pruned)
	}
}

// softMemoryLimit is the Go runtime's soft memory limit for a container limit in
// install.MemoryLimitEnv: nine tenths of it, so that what the runtime does not count (the
// binary's mapped pages, which the container's memory does count) has room before the
// kernel kills the process. 0 when GOMEMLIMIT is set (it wins) or there is no limit.
func softMemoryLimit(env Env) (int64, error) {
	v := env.Getenv(install.MemoryLimitEnv)
	if v == "" || env.Getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, clikit.Usagef("%s=%q: want the container's memory limit in bytes", install.MemoryLimitEnv, v)
	}
	return n - n/10, nil
}
