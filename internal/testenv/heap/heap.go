// Package heap measures the Go heap while a test runs, for tests that assert a memory
// bound ("the puller's peak heap stays under 256 MiB while a registry pages forever").
//
//	w := heap.Watch()
//	err := doTheWork()
//	peak := w.Stop() // the highest heap seen above the heap at Watch
//	if peak > 256<<20 { t.Fatalf("peak heap %d MiB", peak>>20) }
//
// It samples runtime/metrics' heap object bytes (live objects and garbage not yet
// swept: what the process holds) every 200 µs, so the peak it reports is what the
// garbage collector let the heap reach, not only what was reachable.
package heap

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

const sample = "/memory/classes/heap/objects:bytes"

// Watcher samples the heap until Stop.
type Watcher struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

// Watch collects garbage, takes the heap as the baseline, and starts sampling.
func Watch() *Watcher {
	runtime.GC()
	w := &Watcher{base: read(), stop: make(chan struct{}), done: make(chan struct{})}
	w.peak.Store(w.base)
	go func() {
		defer close(w.done)
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.observe()
			}
		}
	}()
	return w
}

func (w *Watcher) observe() {
	v := read()
	for {
		p := w.peak.Load()
		if v <= p || w.peak.CompareAndSwap(p, v) {
			return
		}
	}
}

// Stop ends the sampling and returns the peak heap above the baseline, in bytes.
func (w *Watcher) Stop() uint64 {
	w.observe()
	close(w.stop)
	<-w.done
	return w.peak.Load() - w.base
}

func read() uint64 {
	s := []metrics.Sample{{Name: sample}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
