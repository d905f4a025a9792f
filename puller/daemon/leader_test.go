package daemon_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/daemon"
)

// buildPuller builds cmd/gitless-puller, as users run it.
func buildPuller(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gitless-puller")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/gitless-dev/gitless/cmd/gitless-puller").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type replica struct {
	name, addr           string
	cmd                  *exec.Cmd
	pullertest.LogBuffer // its output
}

func (r *replica) output() string { return r.String() }

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const (
	leaseDuration = 4 * time.Second
	retryPeriod   = 500 * time.Millisecond
)

func (f *fixture) startReplica(t *testing.T, bin, name string, extra ...string) *replica {
	t.Helper()
	r := &replica{name: name, addr: freeAddr(t)}
	args := append([]string{"run", "--config", filepath.Join(f.configDir, "puller.yaml"), "--listen", r.addr,
		"--kubeconfig", env.KubeconfigPath(), "-n", f.NS, "--leader-elect",
		"--leader-elect-lease-duration", leaseDuration.String(), "--leader-elect-renew-deadline", "3s",
		"--leader-elect-retry-period", retryPeriod.String()}, extra...)
	r.cmd = exec.Command(bin, args...)
	r.cmd.Env = append(os.Environ(), "POD_NAME="+name, "POD_NAMESPACE="+f.NS)
	r.cmd.Stdout, r.cmd.Stderr = r, r
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		if t.Failed() {
			t.Logf("%s's output:\n%s", name, r.output())
		}
	})
	return r
}

func (f *fixture) leaseHolder() string {
	l, err := f.Kube.CoordinationV1().Leases(f.NS).Get(f.Ctx, "gitless-puller", metav1.GetOptions{})
	if err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

// Two replicas of the built binary: one holds the Lease and syncs, the other stands
// by (ready, and says who leads). The leader is killed with SIGKILL in the middle of a
// sync; the standby takes the Lease within the lease duration and finishes the job:
// every object applied once, in the set, the parent recording the digest.
func TestLeaderElectionFailoverAfterKill9(t *testing.T) {
	f := newFixture(t)
	bin := buildPuller(t)
	const n = 150
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("cm-%03d.yaml", i)] = cm(fmt.Sprintf("cm-%03d", i), "1")
	}
	f.push("big", "v1", files)
	f.writeConfig(f.ConfigYAML("", f.SourceYAML("big", "big", "v1", "")))
	// One request in flight at 25 per second: the sync takes seconds.
	slow := []string{"--concurrency", "1", "--kube-qps", "25"}
	a := f.startReplica(t, bin, "replica-a", slow...)
	waitUntil(t, 60*time.Second, "replica-a to lead", func() bool { return f.leaseHolder() == "replica-a" })
	b := f.startReplica(t, bin, "replica-b", slow...)
	waitUntil(t, 30*time.Second, "replica-b to stand by", func() bool {
		code, body := get("http://" + b.addr + "/readyz")
		return code == 200 && strings.Contains(body, "standby (leader: replica-a)")
	})
	if _, m := get("http://" + b.addr + "/metrics"); !strings.Contains(m, "gitless_puller_leader 0") {
		t.Fatalf("standby metrics:\n%s", m)
	}
	if _, m := get("http://" + a.addr + "/metrics"); !strings.Contains(m, "gitless_puller_leader 1") {
		t.Fatalf("leader metrics:\n%s", m)
	}
	waitUntil(t, 60*time.Second, "the leader's sync to be under way", func() bool { return f.CMData("cm-000", "k") == "1" })
	if f.CMData(fmt.Sprintf("cm-%03d", n-1), "k") != "<absent>" {
		t.Fatal("the sync finished before the kill: make it slower")
	}
	killed := time.Now()
	if err := a.cmd.Process.Kill(); err != nil { // SIGKILL: no lease release, no cleanup
		t.Fatal(err)
	}
	waitUntil(t, 3*leaseDuration, "replica-b to take the Lease", func() bool { return f.leaseHolder() == "replica-b" })
	failover := time.Since(killed)
	t.Logf("failover after %s (lease duration %s)", failover, leaseDuration)
	if failover > leaseDuration+2*retryPeriod+time.Second {
		t.Fatalf("failover took %s, lease duration %s", failover, leaseDuration)
	}
	waitUntil(t, 90*time.Second, "the standby to finish the job", func() bool {
		s, err := f.Kube.CoreV1().ConfigMaps(f.NS).Get(f.Ctx, "gitless-big", metav1.GetOptions{})
		return err == nil && s.Annotations[puller.AnnotationResult] == "Applied"
	})
	l, err := f.Kube.CoreV1().ConfigMaps(f.Target).List(f.Ctx, metav1.ListOptions{LabelSelector: "applyset.kubernetes.io/part-of"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range l.Items {
		if seen[c.Name] {
			t.Fatalf("%s twice", c.Name)
		}
		seen[c.Name] = true
	}
	if len(l.Items) != n {
		t.Fatalf("%d objects in the set, want %d", len(l.Items), n)
	}
	// The parent records the result inside the apply; /readyz counts it a moment later.
	waitUntil(t, 10*time.Second, "the new leader's /readyz to say synced", func() bool {
		code, body := get("http://" + b.addr + "/readyz")
		return code == 200 && strings.Contains(body, "ok: leader, 1 sources synced")
	})
	// The result is printed after /readyz counts it (and after the heap is given back,
	// debug.FreeOSMemory, which takes a while under load).
	waitUntil(t, 10*time.Second, "replica-b to print that it applied", func() bool { return strings.Contains(b.output(), "big: applied") })

	// SIGTERM: the leader releases the Lease on its way out, so a standby takes over
	// at once rather than after the lease duration; the process exits 0.
	c := f.startReplica(t, bin, "replica-c")
	waitUntil(t, 30*time.Second, "replica-c to stand by", func() bool {
		code, body := get("http://" + c.addr + "/readyz")
		return code == 200 && strings.Contains(body, "standby (leader: replica-b)")
	})
	termed := time.Now()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Wait(); err != nil {
		t.Fatalf("replica-b after SIGTERM: %v", err)
	}
	waitUntil(t, leaseDuration, "replica-c to take the released Lease", func() bool { return f.leaseHolder() == "replica-c" })
	if d := time.Since(termed); d >= leaseDuration {
		t.Fatalf("took %s: the Lease was not released", d)
	} else {
		t.Logf("handover after SIGTERM in %s", d)
	}
}

// A leader whose Lease is taken (here by a write of another holder; in life an
// apiserver it could not reach for RenewDeadline) cancels the apply in flight at once,
// without the shutdown grace, as its successor may already be writing, and returns
// ErrLeadershipLost once nothing of it writes.
func TestLeaderThatLosesItsLeaseStopsWritingAtOnce(t *testing.T) {
	f := newFixture(t)
	f.Config.QPS, f.Config.Burst = 40, 1 // a slow apply: about 120 requests take seconds
	files := map[string]string{}
	for i := range 60 {
		files[fmt.Sprintf("o%02d.yaml", i)] = cm(fmt.Sprintf("obj-%02d", i), "1")
	}
	f.push("big", "v1", files)
	f.writeConfig(f.ConfigYAML("", f.SourceYAML("big", "big", "v1", "")))
	// The sync the lost Lease cancels takes a second more to end (its callback
	// sleeps): Run must not return before it has, or a caller that goes on (or a
	// process that exits later) would have this replica's work still running.
	var ended atomic.Bool
	r := f.start(daemon.Options{
		Puller:         puller.Options{Concurrency: 1},
		ShutdownGrace:  time.Minute,
		LeaderElection: &daemon.LeaderElection{LeaseName: "lost", Identity: "me", LeaseDuration: 4 * time.Second, RenewDeadline: time.Second, RetryPeriod: 200 * time.Millisecond},
		OnResult: func(_ *puller.Result, err error) {
			if err != nil {
				time.Sleep(time.Second)
				ended.Store(true)
			}
		},
	})
	waitUntil(t, 20*time.Second, "the apply to start", func() bool { return f.CMData("obj-00", "k") == "1" })

	// The leader renews every 200 ms: read and write again when a renewal comes between.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		lease, err := f.Kube.CoordinationV1().Leases(f.NS).Get(f.Ctx, "lost", metav1.GetOptions{})
		if err != nil {
			return err
		}
		thief, now := "thief", metav1.NewMicroTime(time.Now())
		lease.Spec.HolderIdentity, lease.Spec.RenewTime, lease.Spec.AcquireTime = &thief, &now, &now
		sixty := int32(60)
		lease.Spec.LeaseDurationSeconds = &sixty
		_, err = f.Kube.CoordinationV1().Leases(f.NS).Update(f.Ctx, lease, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var runErr error
	select {
	case runErr = <-r.done:
		r.done <- runErr // for the cleanup
	case <-time.After(15 * time.Second):
		t.Fatal("the daemon still runs 15 s after its Lease was taken")
	}
	if !errors.Is(runErr, daemon.ErrLeadershipLost) {
		t.Fatalf("Run: %v, want ErrLeadershipLost", runErr)
	}
	if !ended.Load() {
		t.Fatal("Run returned before the sync the lost Lease cancelled had ended")
	}
	n := f.CountCMs("obj-")
	if n == 60 {
		t.Fatal("the apply went on to the end after the Lease was lost")
	}
	time.Sleep(time.Second)
	if m := f.CountCMs("obj-"); m != n {
		t.Fatalf("%d objects when Run returned, %d a second later", n, m)
	}
}
