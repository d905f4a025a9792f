package pullercli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/gitless-dev/gitless/internal/clikit"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/metrics"
)

func newRunCmd(env Env, g *globalFlags, k *kubeFlags) *cobra.Command {
	var (
		configPath string
		listen     string
		sf         sourceFlags
	)
	cmd := &cobra.Command{
		Use:   "run (--config FILE | --url oci://... [flags])",
		Short: "Keep every source synced: the in-cluster daemon",
		Long: `Run polls each source on its jittered interval (one HEAD request when nothing changed),
applies what changed, corrects drift every driftInterval, and serves on --listen:

  /healthz   200 while the process runs
  /readyz    200 once every source's last sync succeeded; 503 naming the others
             (why is on each source's ApplySet parent, not here)
  /metrics   Prometheus metrics (gitless_puller_*)

It stops on SIGTERM or SIGINT.`,
		Example: `  gitless-puller run --config /etc/gitless/puller.yaml --listen :8080`,
		Args:    clikit.Args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := loadSources(env, k, configPath, &sf, sf.given(cmd.Flags()))
			if err != nil {
				return err
			}
			if err := puller.CheckPolicies(cmd.Context(), c.Sources); err != nil {
				return clikit.Usage(err)
			}
			p, err := newPuller(env, g, k, c)
			if err != nil {
				return err
			}
			if _, err := puller.Order(c.Sources); err != nil {
				return clikit.Usage(err)
			}
			ctx := cmd.Context()
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			m := metrics.New(reg)
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			srv := &http.Server{Handler: pullerMux(p, reg), ReadHeaderTimeout: 10 * time.Second}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()
			fmt.Fprintf(env.Err, "gitless-puller %s: %d sources, serving on %s\n", version(), len(c.Sources), ln.Addr())
			runErr := p.Run(ctx, c.Sources, puller.RunOptions{OnResult: func(r *puller.Result, err error) {
				m.Observe(r, err)
				if !g.verbose { // with -v the puller logs it already
					printRunResult(env, r)
				}
			}})
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
			if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			if errors.Is(runErr, context.Canceled) {
				return nil
			}
			return runErr
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config", "c", "", "PullerConfig file (docs/puller-config.md)")
	f.StringVar(&listen, "listen", ":8080", "address of /healthz, /readyz and /metrics")
	sf.AddFlags(f)
	return cmd
}

func pullerMux(p *puller.Puller, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		// A summary only: the probe is unauthenticated, and why a sync failed (which
		// may quote what an artifact holds) is on the source's ApplySet parent.
		r := p.Health().Readiness()
		if r.Ready {
			fmt.Fprintln(w, "ok")
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "%d of %d sources ready; not ready: %s\n", r.Sources-len(r.NotReady), r.Sources, strings.Join(r.NotReady, ", "))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}

// printRunResult writes one line per sync that did something or failed.
func printRunResult(env Env, r *puller.Result) {
	switch r.Outcome {
	case puller.UpToDate:
		return
	case puller.Failed:
		fmt.Fprintf(env.Err, "%s %s: failed: %s\n", time.Now().UTC().Format(time.RFC3339), r.Source, r.Error)
	default:
		fmt.Fprintf(env.Err, "%s %s: applied %s: %d created, %d configured, %d unchanged, %d pruned\n",
			time.Now().UTC().Format(time.RFC3339), r.Source, r.URL, r.Created, r.Configured, r.Unchanged, r.Pruned)
	}
}
