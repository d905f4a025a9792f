// Command fleetsim simulates a fleet of gitless-pullers polling one registry: N
// pollers in one process, each the puller's own polling code (puller.PollLoop with a
// puller.Schedule, resolving the ref with the puller's registry client,
// puller.RegistryHTTPClient), against one registry on loopback that counts what it
// receives per second. bench/fleet.sh runs it and reports.
//
// Phases: idle (steady polling), a restart of every poller at once, a rate limit (the
// registry answers 429 with Retry-After beyond -limit-rps requests a second), and the
// recovery once the limit is lifted. One line per second goes to -out:
//
//	second  phase  head  get  429
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
	"golang.org/x/time/rate"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/puller"
)

func main() {
	var (
		n          = flag.Int("pullers", 10000, "simulated pullers")
		interval   = flag.Duration("interval", time.Minute, "their poll interval")
		idle       = flag.Duration("idle", 150*time.Second, "idle phase (the first interval spreads the start)")
		restart    = flag.Duration("restart", 90*time.Second, "phase after every poller restarts at once")
		limitFor   = flag.Duration("limit-for", 3*time.Minute, "rate-limited phase")
		limitRPS   = flag.Float64("limit-rps", 50, "requests a second the registry serves while limited")
		retryAfter = flag.Int("retry-after", 30, "Retry-After of its 429s, seconds")
		recovery   = flag.Duration("recover", 6*time.Minute, "phase after the limit is lifted")
		out        = flag.String("out", "fleet.tsv", "per-second counts")
	)
	flag.Parse()
	if err := run(*n, *interval, *idle, *restart, *limitFor, *recovery, *limitRPS, *retryAfter, *out); err != nil {
		fmt.Fprintln(os.Stderr, "fleetsim:", err)
		os.Exit(1)
	}
}

// meter counts requests per second and sheds load when limited.
type meter struct {
	next       http.Handler
	start      time.Time
	mu         sync.Mutex
	secs       map[int]*[3]int // HEAD, GET, 429
	phase      atomic.Pointer[string]
	phases     map[int]string
	limiter    atomic.Pointer[rate.Limiter]
	retryAfter string
}

func (m *meter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sec := int(time.Since(m.start) / time.Second)
	col := -1
	switch r.Method {
	case http.MethodHead:
		col = 0
	case http.MethodGet:
		col = 1
	}
	if l := m.limiter.Load(); l != nil && !l.Allow() {
		col = 2
	}
	m.mu.Lock()
	c := m.secs[sec]
	if c == nil {
		c = &[3]int{}
		m.secs[sec] = c
		m.phases[sec] = *m.phase.Load()
	}
	if col >= 0 {
		c[col]++
	}
	m.mu.Unlock()
	if col == 2 {
		w.Header().Set("Retry-After", m.retryAfter)
		http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"rate limited"}]}`, http.StatusTooManyRequests)
		return
	}
	m.next.ServeHTTP(w, r)
}

func run(n int, interval, idle, restart, limitFor, recovery time.Duration, limitRPS float64, retryAfter int, out string) error {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	m := &meter{next: ggcr.New(ggcr.Logger(log.New(io.Discard, "", 0))), secs: map[int]*[3]int{}, phases: map[int]string{}, retryAfter: strconv.Itoa(retryAfter)}
	setup := "setup"
	m.phase.Store(&setup)
	srv := &http.Server{Handler: m}
	go srv.Serve(ln)
	defer srv.Close()

	ref, err := artifact.ParseReference("oci://" + ln.Addr().String() + "/fleet/app:production")
	if err != nil {
		return err
	}
	layer, err := artifact.BuildFromFiles(map[string][]byte{"cm.yaml": []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: default}\n")})
	if err != nil {
		return err
	}
	if _, err := remote.New(remote.Options{}).Push(ctx, ref, layer, artifact.Metadata{Created: time.Unix(0, 0)}, remote.DefaultPushOptions()); err != nil {
		return err
	}

	// One transport for the process, as many connections as a fleet keeps open.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	var polls, failures atomic.Int64
	startFleet := func() (context.CancelFunc, *sync.WaitGroup) {
		fctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := remote.New(remote.Options{HTTPClient: puller.RegistryHTTPClient(tr), UserAgent: "gitless-puller/fleetsim"})
				sched := puller.NewSchedule(interval, puller.RunOptions{})
				// The pullers have synced before (a restart): their first poll is spread.
				puller.PollLoop(fctx, sched, true, nil, func() error {
					_, err := client.Resolve(fctx, ref)
					polls.Add(1)
					if err != nil && !errors.Is(err, context.Canceled) {
						failures.Add(1)
					}
					return err
				})
			}()
		}
		return cancel, &wg
	}
	phase := func(name string) time.Time {
		m.phase.Store(&name)
		fmt.Fprintf(os.Stderr, "[fleetsim %s] phase %s at %ds\n", time.Now().Format("15:04:05"), name, int(time.Since(m.start).Seconds()))
		return time.Now()
	}
	m.mu.Lock()
	m.start = time.Now()
	m.secs = map[int]*[3]int{}
	m.mu.Unlock()

	t0 := phase("idle")
	cancel, wg := startFleet()
	time.Sleep(idle)
	t1 := phase("restart")
	cancel()
	wg.Wait()
	cancel, wg = startFleet()
	time.Sleep(restart)
	t2 := phase("limited")
	m.limiter.Store(rate.NewLimiter(rate.Limit(limitRPS), int(limitRPS)))
	time.Sleep(limitFor)
	t3 := phase("recovery")
	m.limiter.Store(nil)
	time.Sleep(recovery)
	cancel()
	wg.Wait()

	m.mu.Lock()
	defer m.mu.Unlock()
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintln(f, "second\tphase\thead\tget\t429")
	last := int(time.Since(m.start) / time.Second)
	for s := 0; s < last; s++ {
		c := m.secs[s]
		if c == nil {
			c = &[3]int{}
		}
		fmt.Fprintf(f, "%d\t%s\t%d\t%d\t%d\n", s, m.phases[s], c[0], c[1], c[2])
	}
	sec := func(t time.Time) int { return int(t.Sub(m.start) / time.Second) }
	total := func(c *[3]int) int { // every request, 429s included
		if c == nil {
			return 0
		}
		return c[0] + c[1] + c[2]
	}
	series := func(from, to int, f func(*[3]int) int) []float64 {
		var v []float64
		for s := from; s < to; s++ {
			v = append(v, float64(f(m.secs[s])))
		}
		return v
	}
	head := func(c *[3]int) int {
		if c == nil {
			return 0
		}
		return c[0]
	}
	get := func(c *[3]int) int {
		if c == nil {
			return 0
		}
		return c[1]
	}
	served := func(c *[3]int) int { return total(c) - rej(c) }
	expected := float64(n) / interval.Seconds()
	steady := series(sec(t0)+int(interval.Seconds())+5, sec(t1), head)
	gets := series(sec(t0), sec(t2), get)
	after := series(sec(t1), sec(t1)+int(interval.Seconds()), head)
	fmt.Printf("pullers\t%d\ninterval\t%s\nexpected_head_per_s\t%.1f\n", n, interval, expected)
	fmt.Printf("idle_head_per_s_mean\t%.1f\nidle_head_per_s_sd\t%.1f\nidle_head_per_s_max\t%.0f\nidle_gets\t%.0f\n", mean(steady), sd(steady), maxOf(steady), sum(gets))
	fmt.Printf("restart_head_per_s_mean\t%.1f\nrestart_head_per_s_max\t%.0f\nrestart_max_over_mean\t%.2f\n", mean(after), maxOf(after), maxOf(after)/mean(after))
	// Rate-limited: 10 s windows of all requests (429s included) and of served ones.
	window := func(from int, f func(*[3]int) int) float64 { return mean(series(from, from+10, f)) }
	fall := -1
	for s := sec(t2); s+10 <= sec(t3); s++ {
		if window(s, total) <= 1.25*limitRPS {
			fall = s - sec(t2)
			break
		}
	}
	limitedTail := series(sec(t3)-int(interval.Seconds()), sec(t3), total)
	fmt.Printf("limit_rps\t%.0f\nretry_after_s\t%d\nlimited_first_10s_per_s\t%.1f\nlimited_falls_to_1.25x_limit_after_s\t%d\nlimited_last_interval_per_s\t%.1f\nlimited_last_interval_served_per_s\t%.1f\n",
		limitRPS, retryAfter, window(sec(t2), total), fall, mean(limitedTail), mean(series(sec(t3)-int(interval.Seconds()), sec(t3), served)))
	rec := -1
	for s := sec(t3); s+10 <= last; s++ {
		if window(s, served) >= 0.9*expected {
			rec = s - sec(t3)
			break
		}
	}
	fmt.Printf("recovered_to_0.9x_after_s\t%d\nrecovery_last_interval_per_s\t%.1f\npolls\t%d\nfailed_polls\t%d\n", rec, mean(series(last-int(interval.Seconds()), last, total)), polls.Load(), failures.Load())
	return nil
}

func rej(c *[3]int) int {
	if c == nil {
		return 0
	}
	return c[2]
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return sum(v) / float64(len(v))
}

func sd(v []float64) float64 {
	m := mean(v)
	s := 0.0
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(v)))
}

func maxOf(v []float64) float64 {
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	if len(c) == 0 {
		return math.NaN()
	}
	return c[len(c)-1]
}
