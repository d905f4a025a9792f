// Package daemon runs gitless-puller as a cluster service: the puller's Run, plus what
// operating it for months needs.
//
//   - live configuration: the configuration file (a mounted ConfigMap, which the kubelet
//     swaps through a symlink) is checked every ConfigCheckInterval; a valid new file
//     starts new sources, stops removed ones and restarts changed ones without a
//     restart of the process; an invalid one is refused with the offending field named
//     (log, Event ConfigRejected, gitless_puller_config_last_reload_successful 0) and
//     the previous configuration keeps running;
//   - leader election with a coordination.k8s.io Lease in the puller's namespace
//     (client-go tools/leaderelection): only the leader polls and writes, a standby
//     takes over within the lease duration, /readyz and gitless_puller_leader say
//     which is which;
//   - operator requests: `gitless-puller reconcile`, `suspend` and `resume` annotate a
//     source's ApplySet parent (puller.Control); an informer on the parents wakes the
//     source's loop at once;
//   - the webhook receiver (package puller/webhook) on its own listener: a valid
//     request triggers the source's sync at once, coalesced with one in flight (on a
//     standby, it becomes a reconcile request the leader picks up);
//   - /healthz, /readyz (a summary: the role and how many sources are synced, never
//     error messages) and /metrics;
//   - graceful shutdown: when ctx is done, no new sync starts, a sync in flight gets
//     ShutdownGrace to finish (a prune that started always finishes), then the lease
//     is released so that a standby takes over at once.
//
// Nothing here prints: logs go to Options.Logger.
package daemon
