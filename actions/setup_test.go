package actions_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
)

// mirror serves release assets as GitHub does: DIR/VERSION/FILE below /download/ and the
// newest release's below /latest/download/; and as a plain mirror does, below /mirror/:
// VERSION/FILE and latest/FILE. tamper, when set, corrupts every archive.
func mirror(t *testing.T, dist ci.Dist, tamper bool) string {
	t.Helper()
	mux := http.NewServeMux()
	serve := func(w http.ResponseWriter, r *http.Request, file string) {
		b, err := os.ReadFile(filepath.Join(dist.Dir, filepath.Base(file)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if tamper && strings.HasSuffix(file, ".tar.gz") {
			b[len(b)/2] ^= 0xff
		}
		w.Write(b)
	}
	mux.HandleFunc("/releases/download/"+dist.Version+"/{file}", func(w http.ResponseWriter, r *http.Request) { serve(w, r, r.PathValue("file")) })
	mux.HandleFunc("/releases/latest/download/{file}", func(w http.ResponseWriter, r *http.Request) { serve(w, r, r.PathValue("file")) })
	mux.HandleFunc("/mirror/"+dist.Version+"/{file}", func(w http.ResponseWriter, r *http.Request) { serve(w, r, r.PathValue("file")) })
	mux.HandleFunc("/mirror/latest/{file}", func(w http.ResponseWriter, r *http.Request) { serve(w, r, r.PathValue("file")) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/releases/download"
}

// The setup action installs the release for the runner from its archive after checking
// checksums.txt, puts it on PATH, finds it there the second time, resolves "latest", and
// on GitHub's layout and on a plain mirror's, and refuses a tampered archive and a
// malformed version.
func TestSetupAction(t *testing.T) {
	dist := ci.Release(t, testVersion, ci.ReleaseOptions{})
	repo := ci.NewRepo(t, map[string]string{".github/workflows/setup.yml": testdata(t, "setup.yml")}, "actions")
	out := t.TempDir()
	github := mirror(t, dist, false)
	vars := map[string]string{"VERSION": dist.Version, "DOWNLOAD_URL": github, "TAMPERED_URL": mirror(t, dist, true),
		"MIRROR_URL": strings.TrimSuffix(github, "/releases/download") + "/mirror"}
	// One act run per job: act's jobs share one tool cache, GitHub's runners do not.
	logs := map[string]string{}
	for _, job := range []string{"pinned", "latest", "latest-mirror", "tampered", "bad-version"} {
		res := ci.RunAct(t, repo.Dir, ci.ActOptions{
			Workflow: ".github/workflows/setup.yml", Job: job, Vars: vars,
			Env: map[string]string{"GITLESS_TEST_OUT": out},
		})
		logs[job] = jobLog(res.Log, "setup", job)
		if ok := job == "pinned" || job == "latest" || job == "latest-mirror"; ok != (res.Code == 0) {
			t.Fatalf("job %s: exit %d, want success %v:\n%s", job, res.Code, ok, res.Log)
		}
	}
	pinned := readKV(t, filepath.Join(out, "pinned"))
	if pinned["version"] != dist.Version || pinned["which"] != pinned["path"] || pinned["again"] != pinned["path"] ||
		!strings.HasSuffix(pinned["path"], "/gitless/0.0.0-citest/"+runtime.GOARCH+"/gitless") {
		t.Errorf("pinned job: %v, want version %s installed in the tool cache and found on PATH the second time", pinned, dist.Version)
	}
	log := logs["pinned"]
	if !strings.Contains(log, "gitless "+dist.Version+" installed from") || !strings.Contains(log, "gitless "+dist.Version+" is already on PATH") {
		t.Errorf("pinned job: want one install and one 'already on PATH':\n%s", log)
	}
	b, err := os.ReadFile(filepath.Join(out, "version.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Version, Commit, Platform string }
	if err := json.Unmarshal(b, &v); err != nil || v.Version != dist.Version || v.Commit != dist.Commit || v.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("the installed gitless says %s (%v), want %s %s", b, err, dist.Version, dist.Commit)
	}
	for _, job := range []string{"latest", "latest-mirror"} {
		if got := readKV(t, filepath.Join(out, job))["version"]; got != dist.Version {
			t.Errorf("%s: latest resolved to %q, want %s (the only release of the mirror)", job, got, dist.Version)
		}
	}
	for job, want := range map[string]string{
		"tampered":    "does not match",
		"bad-version": "version '1.0' is not vX.Y.Z or latest",
	} {
		log := logs[job]
		if !strings.Contains(log, "Job failed") || !strings.Contains(log, "::error title=gitless setup::") || !strings.Contains(log, want) {
			t.Errorf("job %s: want a failure saying %q:\n%s", job, want, log)
		}
	}
}

// An action pinned by commit with no version input installs a floating "latest": the
// step warns so, before it downloads anything.
func TestSetupWarnsOfAFloatingVersionWhenPinnedByCommit(t *testing.T) {
	for ref, warn := range map[string]bool{"0123456789abcdef0123456789abcdef01234567": true, "v1.2.3": false, "main": false} {
		out := t.TempDir()
		cmd := exec.Command("bash", script(t, "setup", "install.sh"))
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "RUNNER_TEMP=" + out, "RUNNER_TOOL_CACHE=" + out,
			"GITHUB_OUTPUT=" + filepath.Join(out, "output"), "GITHUB_PATH=" + filepath.Join(out, "path"),
			"ACTION_REF=" + ref, "INPUT_DOWNLOAD_URL=http://127.0.0.1:9/releases"}
		b, _ := cmd.CombinedOutput() // the download fails: nothing listens on port 9
		if got := strings.Contains(string(b), "::warning title=gitless setup::the action is pinned by commit"); got != warn {
			t.Errorf("ACTION_REF %s: warning %v, want %v:\n%s", ref, got, warn, b)
		}
	}
}

// The archive and checksums.txt come from download-url: over plain http (off loopback)
// anyone on the path could serve both, so it is refused before anything is fetched;
// and a value that is no URL cannot become an option of curl.
func TestSetupRefusesADownloadURLThatIsNotHTTPS(t *testing.T) {
	for _, u := range []string{"http://mirror.example.com/releases", "-K/etc/passwd", "file:///etc", "ftp://x/y",
		"http://127.0.0.1:80@example.com/releases", "http://localhost:1@example.com/r", "https://user@example.com/r"} {
		out := t.TempDir()
		cmd := exec.Command("bash", script(t, "setup", "install.sh"))
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "RUNNER_TEMP=" + out, "RUNNER_TOOL_CACHE=" + out,
			"GITHUB_OUTPUT=" + filepath.Join(out, "output"), "GITHUB_PATH=" + filepath.Join(out, "path"),
			"INPUT_VERSION=v1.2.3", "INPUT_DOWNLOAD_URL=" + u}
		b, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(b), "must be an https:// URL") {
			t.Errorf("%s: %v\n%s", u, err, b)
		}
	}
}

// checksums-sha256 pins a release's checksums.txt: a mirror that serves other archives
// with matching checksums fails the step; the right digest installs.
func TestSetupPinsChecksums(t *testing.T) {
	dist := ci.Release(t, testVersion, ci.ReleaseOptions{})
	sums, err := os.ReadFile(filepath.Join(dist.Dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	right := fmt.Sprintf("%x", sha256.Sum256(sums))
	url := mirror(t, dist, false)
	run := func(pin string) (string, error) {
		out := t.TempDir()
		cmd := exec.Command("bash", script(t, "setup", "install.sh"))
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "RUNNER_TEMP=" + out, "RUNNER_TOOL_CACHE=" + out,
			"GITHUB_OUTPUT=" + filepath.Join(out, "output"), "GITHUB_PATH=" + filepath.Join(out, "path"),
			"INPUT_VERSION=" + dist.Version, "INPUT_DOWNLOAD_URL=" + url, "INPUT_CHECKSUMS_SHA256=" + pin}
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	if log, err := run(strings.Repeat("0", 64)); err == nil || !strings.Contains(log, "not the checksums-sha256") {
		t.Fatalf("another checksums.txt: %v\n%s", err, log)
	}
	if log, err := run(right); err != nil || !strings.Contains(log, "gitless "+dist.Version+" installed from") {
		t.Fatalf("the pinned checksums.txt: %v\n%s", err, log)
	}
}
