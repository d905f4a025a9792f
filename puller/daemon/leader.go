package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaderElection configures the Lease that decides which replica runs the puller.
type LeaderElection struct {
	// LeaseName is the Lease's name, in the puller's namespace; default
	// "gitless-puller".
	LeaseName string
	// Identity names this replica in the Lease; default Identity("").
	Identity string
	// LeaseDuration is how long a standby waits after the last renewal before it
	// takes over (the failover time); RenewDeadline how long the leader tries to renew
	// before it gives up; RetryPeriod how often both try. Defaults 15s, 10s, 2s
	// (controller-runtime's).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// Identity is a replica's identity: podName ($POD_NAME) when set, else the host name
// with a random suffix (two processes on one host are two replicas).
func Identity(podName string) string {
	if podName != "" {
		return podName
	}
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "_" + hex.EncodeToString(b)
}

// lead runs the puller: at once without leader election, else while this replica
// holds the Lease. It returns nil when ctx is done, ErrLeadershipLost if the Lease
// was lost.
func (d *daemon) lead(ctx context.Context) error {
	le := d.o.LeaderElection
	if le == nil {
		d.leading.Store(true)
		d.dm.SetLeader(true)
		return d.runPuller(ctx, nil)
	}
	d.dm.SetLeader(false)
	cfg := *le
	if cfg.LeaseName == "" {
		cfg.LeaseName = "gitless-puller"
	}
	if cfg.Identity == "" {
		cfg.Identity = Identity(d.o.Puller.Instance)
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = 15 * time.Second
	}
	if cfg.RenewDeadline <= 0 {
		cfg.RenewDeadline = min(10*time.Second, cfg.LeaseDuration*2/3)
	}
	if cfg.RetryPeriod <= 0 {
		cfg.RetryPeriod = min(2*time.Second, cfg.RenewDeadline/2)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: cfg.LeaseName, Namespace: d.config().Namespace},
		Client:     d.kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: cfg.Identity},
	}
	// The election runs under its own context, cancelled only once the puller has
	// stopped (after the shutdown grace), so that the Lease is released when nothing
	// of this replica writes any more and a standby takes over at once.
	electCtx, stopElection := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElection()
	var runErr error
	var led atomic.Bool
	ran := make(chan struct{})
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   cfg.LeaseDuration,
		RenewDeadline:   cfg.RenewDeadline,
		RetryPeriod:     cfg.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            "gitless-puller",
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leadCtx context.Context) {
				defer close(ran)
				led.Store(true)
				d.leading.Store(true)
				d.dm.SetLeader(true)
				d.log.InfoContext(ctx, "leading", "identity", cfg.Identity, "lease", d.config().Namespace+"/"+cfg.LeaseName)
				runCtx, cancel := context.WithCancel(leadCtx)
				stop := context.AfterFunc(ctx, cancel)
				// The Lease lost (leadCtx ends before the puller stopped, whether or
				// not a shutdown began): a standby may lead within RetryPeriod, so the
				// syncs in flight are cancelled at once rather than given the grace.
				lost := make(chan struct{})
				stopLost := context.AfterFunc(leadCtx, func() { close(lost) })
				runErr = d.runPuller(runCtx, lost)
				stopLost()
				stop()
				cancel()
				stopElection()
			},
			OnStoppedLeading: func() {
				d.leading.Store(false)
				d.dm.SetLeader(false)
			},
			OnNewLeader: func(id string) {
				d.leader.Store(&id)
				if id != cfg.Identity {
					d.log.InfoContext(ctx, "standby", "identity", cfg.Identity, "leader", id)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	// Until it leads, a shutdown just leaves the election.
	go func() {
		select {
		case <-ctx.Done():
			if !led.Load() {
				stopElection()
			}
		case <-ran:
		}
	}()
	elector.Run(electCtx)
	switch {
	case !led.Load():
		return nil // shut down as a standby
	case electCtx.Err() != nil:
		<-ran // the puller stopped, then the Lease was released
		return runErr
	}
	<-ran // its syncs cancelled: nothing of this replica writes when the process ends
	return fmt.Errorf("%w: %s could not renew Lease %s/%s within %s", ErrLeadershipLost, cfg.Identity, d.config().Namespace, cfg.LeaseName, cfg.RenewDeadline)
}
