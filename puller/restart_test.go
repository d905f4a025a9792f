package puller_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The apiserver restarted mid-run: syncs fail while it is down, and the running
// puller applies the next artifact once it is back, without a restart of its own.
func TestAPIServerRestartedMidRun(t *testing.T) {
	own := kube.NewT(t)
	w := newWorld(t, registry.Options{})
	w.Config = own.Config()
	w.Config.QPS, w.Config.Burst = -1, 0
	w.Dyn = dynamic.NewForConfigOrDie(w.Config)
	w.NS, w.Target = own.Namespace(t, "gitless"), own.Namespace(t, "apps")
	p := w.newPuller(puller.Options{Now: time.Now})
	w.pushSigned("app", "v1", t1, map[string]string{"a.yaml": cm("a", "1")})
	src := w.source("app", "app", "v1")
	src.Interval = metav1.Duration{Duration: time.Second}
	ctx, cancel := context.WithCancel(w.Ctx)
	defer cancel()
	var failed atomic.Int32
	done := make(chan error)
	go func() {
		done <- p.Run(ctx, []puller.Source{src}, puller.RunOptions{MinRetry: 200 * time.Millisecond, OnResult: func(_ *puller.Result, err error) {
			if err != nil {
				failed.Add(1)
			}
		}})
	}()
	waitUntil(t, "the first sync", func() bool { return w.CMData("a", "k") == "1" })
	restarted := make(chan error)
	go func() { restarted <- own.RestartAPIServer(w.Ctx, 4*time.Second) }()
	time.Sleep(time.Second) // the apiserver is down
	w.pushSigned("app", "v1", t2, map[string]string{"a.yaml": cm("a", "2")})
	if err := <-restarted; err != nil {
		t.Fatal(err)
	}
	if failed.Load() == 0 {
		t.Fatal("no sync failed while the apiserver was down")
	}
	waitUntil(t, "the artifact pushed while the apiserver was down", func() bool { return w.CMData("a", "k") == "2" })
	cancel()
	<-done
}
