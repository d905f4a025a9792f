package daemon_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/puller/daemon"
)

// A source taken out of the configuration leaves no series in /metrics: its last
// success would otherwise age into the documented alert for a source that is gone.
func TestRemovedSourceLeavesNoStaleSeries(t *testing.T) {
	f, r := startAB(t, "")
	waitUntil(t, 10*time.Second, "b's series", func() bool {
		_, body := get("http://" + r.addr + "/metrics")
		return strings.Contains(body, `gitless_puller_last_success_timestamp_seconds{source="b"}`)
	})
	f.writeConfig(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", "")))
	waitUntil(t, 10*time.Second, "reload", func() bool { return len(f.events("ConfigReloaded")) > 0 })
	_, body := get("http://" + r.addr + "/metrics")
	if strings.Contains(body, `source="b"`) {
		t.Fatal("removed source b still exported")
	}
	if !strings.Contains(body, `gitless_puller_last_success_timestamp_seconds{source="a"}`) {
		t.Fatal("source a's series gone too")
	}
}

// The same with pruneRemovedSources: the removal's own result does not bring the removed
// source's series back.
func TestRemovedAndPrunedSourceLeavesNoSeries(t *testing.T) {
	f, r := startAB(t, "pruneRemovedSources: true\n")
	f.writeConfig(f.ConfigYAML("pruneRemovedSources: true\n", f.SourceYAML("a", "a", "v1", "")))
	waitUntil(t, 30*time.Second, "b removed", func() bool { return f.CMData("b", "k") == "<absent>" })
	time.Sleep(time.Second)
	if _, body := get("http://" + r.addr + "/metrics"); strings.Contains(body, `source="b"`) {
		t.Fatal("removed source b exported again")
	}
}

// startAB runs the daemon on two sources a and b (top: the configuration's top-level
// lines) until both are applied.
func startAB(t *testing.T, top string) (*fixture, *running) {
	t.Helper()
	f := newFixture(t)
	f.push("a", "v1", map[string]string{"a.yaml": cm("a", "1")})
	f.push("b", "v1", map[string]string{"b.yaml": cm("b", "1")})
	f.writeConfig(f.ConfigYAML(top, f.SourceYAML("a", "a", "v1", ""), f.SourceYAML("b", "b", "v1", "")))
	r := f.start(daemon.Options{})
	waitUntil(t, 30*time.Second, "a and b applied", func() bool { return f.CMData("a", "k") == "1" && f.CMData("b", "k") == "1" })
	return f, r
}
