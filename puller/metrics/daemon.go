package metrics

import "github.com/prometheus/client_golang/prometheus"

// Daemon records what the running daemon does besides syncs:
//
//	gitless_puller_leader                                      1 while this replica leads (always 1 without leader election)
//	gitless_puller_config_reloads_total{result}                reloads of the configuration file: success, failure
//	gitless_puller_config_last_reload_successful               0 while the file on disk is refused (the previous configuration runs)
//	gitless_puller_config_last_reload_success_timestamp_seconds
type Daemon struct {
	leader, lastOK, lastTime prometheus.Gauge
	reloads                  *prometheus.CounterVec
}

// NewDaemon registers the daemon's metrics with reg.
func NewDaemon(reg prometheus.Registerer) *Daemon {
	g := func(name, help string) prometheus.Gauge {
		x := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "gitless", Subsystem: "puller", Name: name, Help: help})
		reg.MustRegister(x)
		return x
	}
	d := &Daemon{
		leader:   g("leader", "1 while this replica is the leader (always, without leader election)."),
		lastOK:   g("config_last_reload_successful", "Whether the last reload of the configuration file succeeded (0: the file is refused, the previous configuration runs)."),
		lastTime: g("config_last_reload_success_timestamp_seconds", "Unix time of the last successful configuration load."),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "gitless", Subsystem: "puller", Name: "config_reloads_total",
			Help: "Reloads of the configuration file, by result (success, failure)."}, []string{"result"}),
	}
	reg.MustRegister(d.reloads)
	d.lastOK.Set(1)
	d.lastTime.SetToCurrentTime()
	return d
}

// SetLeader records the replica's role.
func (d *Daemon) SetLeader(leading bool) {
	if leading {
		d.leader.Set(1)
	} else {
		d.leader.Set(0)
	}
}

// ConfigReloaded records a reload of the configuration file.
func (d *Daemon) ConfigReloaded(ok bool) {
	if ok {
		d.reloads.WithLabelValues("success").Inc()
		d.lastOK.Set(1)
		d.lastTime.SetToCurrentTime()
		return
	}
	d.reloads.WithLabelValues("failure").Inc()
	d.lastOK.Set(0)
}
