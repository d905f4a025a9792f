package daemon_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/internal/testenv/pullertest"
	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/config"
	"github.com/gitless-dev/gitless/puller/daemon"
)

// The configuration file changes (the kubelet's symlink swap): a new source is
// applied without a restart; an invalid file is refused, named, counted and recorded
// as an Event, and the previous configuration keeps running.
func TestLiveConfigReload(t *testing.T) {
	f := newFixture(t)
	f.push("a", "v1", map[string]string{"a.yaml": cm("a", "1")})
	f.push("b", "v1", map[string]string{"b.yaml": cm("b", "1")})
	f.writeConfig(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", "")))
	r := f.start(daemon.Options{})
	waitUntil(t, 30*time.Second, "a", func() bool { return f.CMData("a", "k") == "1" })

	f.writeConfig(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", ""), f.SourceYAML("b", "b", "v1", "")))
	waitUntil(t, 30*time.Second, "b, added by the new file", func() bool { return f.CMData("b", "k") == "1" })
	if ev := f.events("ConfigReloaded"); len(ev) != 1 || !strings.Contains(ev[0], "added b") {
		t.Fatalf("%v", ev)
	}

	bad := strings.Replace(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", ""), f.SourceYAML("b", "b", "v1", "")), "  prune: true\n", "  prun: true\n", 1)
	f.writeConfig(bad)
	waitUntil(t, 10*time.Second, "the refusal", func() bool { return len(f.events("ConfigRejected")) == 1 })
	if ev := f.events("ConfigRejected")[0]; !strings.Contains(ev, "sources[0].prun: unknown field") || !strings.Contains(ev, "the previous configuration keeps running") {
		t.Fatalf("%s", ev)
	}
	if _, m := get("http://" + r.addr + "/metrics"); !strings.Contains(m, "gitless_puller_config_last_reload_successful 0") ||
		!strings.Contains(m, `gitless_puller_config_reloads_total{result="failure"} 1`) {
		t.Fatalf("metrics:\n%s", m)
	}
	// Still running the previous configuration: a webhook for b still works.
	f.push("b", "v1", map[string]string{"b.yaml": cm("b", "2")})
	f.writeConfig(f.ConfigYAML("webhook: {secretFile: "+writeToken(t, "tok")+"}\n", f.SourceYAML("a", "a", "v1", ""), f.SourceYAML("b", "b", "v1", "")))
	waitUntil(t, 10*time.Second, "the good file", func() bool {
		_, m := get("http://" + r.addr + "/metrics")
		return strings.Contains(m, "gitless_puller_config_last_reload_successful 1")
	})
	if code := post(t, "http://"+r.webhook+"/hook/b", "X-Gitlab-Token", "tok", ""); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	waitUntil(t, 10*time.Second, "b's new artifact, by webhook", func() bool { return f.CMData("b", "k") == "2" })
	if code, body := get("http://" + r.addr + "/readyz"); code != 200 || !strings.HasPrefix(body, "ok: 2 sources synced") {
		t.Fatalf("readyz %d %q", code, body)
	}

	// A setting the running puller keeps until it restarts is not changed by a reload:
	// the whole file is refused, and its new source does not start under a lockdown
	// that is not in effect.
	for i, c := range []struct{ top, field string }{
		{"defaultServiceAccount: deployer\n", "defaultServiceAccount: changed from \"\" to \"deployer\""},
		{"limits: {extract: {maxFileSize: 1024}}\n", "limits: changed from"},
		{"allowLinkLocalRegistries: true\n", "allowLinkLocalRegistries: changed from false to true"},
		{"allowCrossNamespaceRefs: true\n", "allowCrossNamespaceRefs: changed from false to true"},
		{"namespace: elsewhere\n", "namespace: changed from " + f.NS + " to elsewhere"},
	} {
		f.push("c", "v1", map[string]string{"c.yaml": cm("c", "1")})
		// (under a lockdown every source names the namespace it is applied as)
		tn := "  targetNamespace: " + f.Target + "\n"
		text := f.ConfigYAML(c.top, f.SourceYAML("a", "a", "v1", tn), f.SourceYAML("b", "b", "v1", tn), f.SourceYAML("c", "c", "v1", tn))
		if strings.HasPrefix(c.top, "namespace:") { // in place of the fixture's own
			text = strings.Replace(text, "namespace: "+f.NS+"\n", "", 1)
		}
		f.writeConfig(text)
		waitUntil(t, 10*time.Second, "the refusal of "+c.field, func() bool { return len(f.events("ConfigRejected")) == 2+i })
		if evs := f.events("ConfigRejected"); !slices.ContainsFunc(evs, func(ev string) bool {
			return strings.Contains(ev, c.field) && strings.Contains(ev, "takes effect only when the puller restarts")
		}) {
			t.Fatalf("no ConfigRejected event names %q: %q", c.field, evs)
		}
		if got := f.CMData("c", "k"); got != "<absent>" {
			t.Fatalf("source c of a refused file applied: %q", got)
		}
	}

	// concurrency alone is taken, and waits for the restart; the Event says so.
	f.writeConfig(f.ConfigYAML("concurrency: 2\n", f.SourceYAML("a", "a", "v1", ""), f.SourceYAML("b", "b", "v1", "")))
	waitUntil(t, 10*time.Second, "the reload with a new concurrency", func() bool {
		return slices.ContainsFunc(f.events("ConfigReloaded"), func(ev string) bool {
			return strings.Contains(ev, "concurrency takes effect at the next restart")
		})
	})
}

func writeToken(t *testing.T, tok string) string {
	path := t.TempDir() + "/token"
	if err := writeFile(path, tok+"\n"); err != nil {
		t.Fatal(err)
	}
	return path
}

func post(t *testing.T, url, header, value, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if header != "" {
		req.Header.Set(header, value)
	}
	if header == "X-Hub-Signature-256" {
		req.Header.Set("X-GitHub-Event", "registry_package")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func githubSignature(token, body string) string {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// A registry_package webhook with a valid signature applies the new artifact within a
// second although the source polls hourly; a bad signature gets 401 and applies
// nothing. The token comes from a Secret, with a per-source override.
func TestWebhookSyncsWithinASecond(t *testing.T) {
	f := newFixture(t)
	f.push("app", "v1", map[string]string{"a.yaml": cm("a", "1")})
	f.push("other", "v1", map[string]string{"o.yaml": cm("o", "1")})
	createSecret(t, f, "webhook-token", "shared")
	f.writeConfig(f.ConfigYAML("webhook: {secretRef: {name: webhook-token}}\n",
		f.SourceYAML("app", "app", "v1", ""),
		f.SourceYAML("other", "other", "v1", "  webhook: {secretFile: "+writeToken(t, "own")+"}\n")))
	r := f.start(daemon.Options{})
	waitUntil(t, 30*time.Second, "the first syncs", func() bool { return f.CMData("a", "k") == "1" && f.CMData("o", "k") == "1" })
	f.push("app", "v1", map[string]string{"a.yaml": cm("a", "2")})
	body := `{"action":"published","registry_package":{"name":"app"}}`
	if code := post(t, "http://"+r.webhook+"/hook/app", "X-Hub-Signature-256", githubSignature("wrong", body), body); code != 401 {
		t.Fatalf("bad signature: %d", code)
	}
	if code := post(t, "http://"+r.webhook+"/hook/app", "", "", body); code != 401 {
		t.Fatalf("no signature: %d", code)
	}
	if code := post(t, "http://"+r.webhook+"/hook/nope", "X-Hub-Signature-256", githubSignature("shared", body), body); code != 401 {
		t.Fatalf("unknown source: %d", code)
	}
	time.Sleep(time.Second)
	if f.CMData("a", "k") != "1" {
		t.Fatal("applied without a valid webhook")
	}
	start := time.Now()
	if code := post(t, "http://"+r.webhook+"/hook/app", "X-Hub-Signature-256", githubSignature("shared", body), body); code != 202 {
		t.Fatalf("valid: %d", code)
	}
	waitUntil(t, time.Second, "the new artifact within a second", func() bool { return f.CMData("a", "k") == "2" })
	t.Logf("applied %s after the webhook", time.Since(start))
	// The per-source token wins over the shared one.
	f.push("other", "v1", map[string]string{"o.yaml": cm("o", "2")})
	if code := post(t, "http://"+r.webhook+"/hook/other", "X-Gitlab-Token", "shared", ""); code != 401 {
		t.Fatalf("shared token for a source with its own: %d", code)
	}
	if code := post(t, "http://"+r.webhook+"/hook/other", "X-Gitlab-Token", "own", ""); code != 202 {
		t.Fatalf("own token: %d", code)
	}
	waitUntil(t, time.Second, "other's new artifact", func() bool { return f.CMData("o", "k") == "2" })
}

// The file changes after the puller read it and before its watch began (a slow start:
// the apiserver, the Lease): the edit is reloaded, not taken for what already runs.
func TestConfigChangedWhileStartingIsReloaded(t *testing.T) {
	f := newFixture(t)
	f.push("a", "v1", map[string]string{"a.yaml": cm("a", "1")})
	f.push("b", "v1", map[string]string{"b.yaml": cm("b", "1")})
	f.writeConfig(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", "")))
	c, err := config.Load(filepath.Join(f.configDir, "puller.yaml"), config.Namespaces{Default: f.NS})
	if err != nil {
		t.Fatal(err)
	}
	f.writeConfig(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", ""), f.SourceYAML("b", "b", "v1", "")))
	f.start(daemon.Options{Config: c})
	waitUntil(t, 30*time.Second, "b, added while the puller started", func() bool { return f.CMData("b", "k") == "1" })
}

// The daemon runs its sources under the configuration's tenancy lockdown and limits, as
// the one-shot sync does: a source without serviceAccountName is applied as the
// defaultServiceAccount (which RBAC grants nothing here), and an artifact with a file
// over limits.extract.maxFileSize is refused.
func TestRunHoldsTheLockdownAndLimitsOfItsConfig(t *testing.T) {
	f := newFixture(t)
	f.push("a", "v1", map[string]string{"a.yaml": cm("a", "1")})
	f.push("big", "v1", map[string]string{"big.yaml": cm("big", strings.Repeat("x", 4096))})
	tn := "  targetNamespace: " + f.Target + "\n"
	f.writeConfig(f.ConfigYAML("defaultServiceAccount: nobody\nlimits: {extract: {maxFileSize: 1024}}\n",
		f.SourceYAML("a", "a", "v1", tn), f.SourceYAML("big", "big", "v1", tn)))
	f.start(daemon.Options{})

	failed := func(source string, want ...string) func() bool {
		return func() bool {
			return slices.ContainsFunc(f.events("SyncFailed"), func(ev string) bool {
				for _, w := range append(want, source) {
					if !strings.Contains(ev, w) {
						return false
					}
				}
				return true
			})
		}
	}
	waitUntil(t, 20*time.Second, "a applied as the default service account, refused", failed("a", "forbidden", "system:serviceaccount:"+f.Target+":nobody"))
	waitUntil(t, 20*time.Second, "big refused for its file over the cap", failed("big", "big.yaml", "the cap per file is 1024"))
	for _, name := range []string{"a", "big"} {
		if got := f.CMData(name, "k"); got != "<absent>" {
			t.Errorf("ConfigMap %s applied: %q", name, got)
		}
	}
}

// A file refused for a key file it names that is not there yet (the kubelet updates the
// mounted ConfigMap and Secret each on its own) is taken once the key file arrives,
// without another edit; the refusal is recorded once, not at every check.
func TestConfigRefusedForAMissingKeyFileIsTakenWhenItArrives(t *testing.T) {
	f := newFixture(t)
	f.push("a", "v1", map[string]string{"a.yaml": cm("a", "1")})
	f.push("b", "v1", map[string]string{"b.yaml": cm("b", "1")})
	f.writeConfig(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", "")))
	f.start(daemon.Options{})
	waitUntil(t, 10*time.Second, "a applied", func() bool { return f.CMData("a", "k") == "1" })

	keyFile := filepath.Join(t.TempDir(), "cosign.pub")
	b := strings.Replace(f.SourceYAML("b", "b", "v1", ""), "    keys:\n", "    keys:\n    - "+keyFile+"\n", 1)
	f.writeConfig(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", ""), b))
	waitUntil(t, 10*time.Second, "the refusal of the missing key file", func() bool {
		return slices.ContainsFunc(f.events("ConfigRejected"), func(ev string) bool {
			return strings.Contains(ev, "sources[1].verify.keys[0]") && strings.Contains(ev, keyFile)
		})
	})
	time.Sleep(time.Second) // ten more checks of the same file
	if evs := f.events("ConfigRejected"); len(evs) != 1 {
		t.Fatalf("the refusal recorded %d times: %q", len(evs), evs)
	}
	if got := f.CMData("b", "k"); got != "<absent>" {
		t.Fatalf("b of the refused file applied: %q", got)
	}
	// Back to what runs, then the refused file again: it is told again.
	f.writeConfig(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", "")))
	time.Sleep(500 * time.Millisecond)
	f.writeConfig(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", ""), b))
	waitUntil(t, 10*time.Second, "the second refusal", func() bool { return len(f.events("ConfigRejected")) == 2 })

	if err := os.WriteFile(keyFile, []byte(f.Key.PubPEM), 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "b applied once its key file is there", func() bool { return f.CMData("b", "k") == "1" })
}

// A source taken out of the file while no puller ran (a new ConfigMap and a restart at
// once, as helm upgrade does) is removed at the next start when the file prunes. A
// replica whose file is older than the one the source was applied under (the kubelet
// has not updated it yet, and the leader's newer file added the source) leaves it.
func TestSourceRemovedWhileStoppedIsPrunedAtStart(t *testing.T) {
	f := newFixture(t)
	f.push("a", "v1", map[string]string{"a.yaml": cm("a", "1")})
	f.push("b", "v1", map[string]string{"b.yaml": cm("b", "1")})
	path := f.writeConfig(f.ConfigYAML("", f.SourceYAML("a", "a", "v1", ""), f.SourceYAML("b", "b", "v1", "")))
	stop := func(r *running) {
		r.cancel()
		err := <-r.done
		r.done <- err // for the cleanup
	}
	r := f.start(daemon.Options{})
	waitUntil(t, 30*time.Second, "a and b applied", func() bool { return f.CMData("a", "k") == "1" && f.CMData("b", "k") == "1" })
	stop(r)

	f.writeConfig(f.ConfigYAML("pruneRemovedSources: true\n", f.SourceYAML("a", "a", "v1", "")))
	touch := func(at time.Time) {
		t.Helper()
		if err := os.Chtimes(path, at, at); err != nil {
			t.Fatal(err)
		}
	}
	touch(time.Now().Add(-time.Hour))
	var logs pullertest.LogBuffer
	r = f.start(daemon.Options{Puller: puller.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}})
	waitUntil(t, 30*time.Second, "b left by a replica with an older file", func() bool {
		return strings.Contains(logs.String(), "has run a newer configuration file")
	})
	stop(r)
	if f.CMData("b", "k") != "1" {
		t.Fatal("a replica whose file is older than the one b was applied under removed b")
	}

	touch(time.Now())
	f.start(daemon.Options{})
	waitUntil(t, 30*time.Second, "b pruned at start", func() bool { return f.CMData("b", "k") == "<absent>" })
	waitUntil(t, 10*time.Second, "b's parent deleted", func() bool {
		_, err := f.Get(pullertest.ConfigMaps, f.NS, "gitless-b")
		return err != nil
	})
	if got := f.CMData("a", "k"); got != "1" {
		t.Fatalf("a, still in the file: %q", got)
	}
}
