// Package hack_test checks the release build of hack/release.sh (make release).
package hack_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
)

const version = "v0.0.0-releasetest"

// The release for linux/amd64 and linux/arm64 (the darwin builds are the same script with
// other GOOS values): static, trimmed, stamped binaries in reproducible archives, SBOMs,
// and a checksums.txt that sha256sum -c accepts; a second build is byte-identical.
func TestRelease(t *testing.T) {
	platforms := []string{"linux/amd64", "linux/arm64"}
	if os.Getenv("GITLESS_REQUIRE_PEERS") == "1" {
		ci.Peer(t, "cyclonedx-gomod")
	}
	dist, err := ci.BuildRelease(version, ci.ReleaseOptions{Platforms: platforms, SBOM: true}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sums := checksums(t, dist.Dir)
	want := []string{"gitless-puller_" + version + "_sbom.cdx.json", "gitless_" + version + "_linux_amd64.tar.gz",
		"gitless_" + version + "_linux_arm64.tar.gz", "gitless_" + version + "_sbom.cdx.json"}
	var names []string
	for n := range sums {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, want) {
		t.Fatalf("checksums.txt lists %v, want %v", names, want)
	}
	for n, sum := range sums {
		if got := sha256File(t, filepath.Join(dist.Dir, n)); got != sum {
			t.Errorf("%s: sha256 %s, checksums.txt says %s", n, got, sum)
		}
	}
	cmd := exec.Command("sha256sum", "-c", "checksums.txt")
	cmd.Dir = dist.Dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c checksums.txt: %v\n%s", err, out)
	}

	for _, p := range platforms {
		goos, goarch, _ := strings.Cut(p, "/")
		entries := archive(t, dist.Archive(goos, goarch))
		if got := strings.Join(entries, " "); got != "./ ./README.md ./gitless ./gitless-puller" {
			t.Errorf("%s archive holds %s", p, got)
		}
		for _, name := range []string{"gitless", "gitless-puller"} {
			bin := filepath.Join(dist.BinDir(goos, goarch), name)
			checkBinary(t, bin, goarch)
			if goarch == runtime.GOARCH && runtime.GOOS == "linux" {
				out, err := exec.Command(bin, "version", "-o", "json").Output()
				var v struct{ Version, Commit, Platform string }
				if err != nil || json.Unmarshal(out, &v) != nil || v.Version != version || v.Commit != dist.Commit || v.Platform != p {
					t.Errorf("%s version: %q %v, want %s %s %s", name, out, err, version, dist.Commit, p)
				}
			}
		}
	}

	for _, name := range []string{"gitless", "gitless-puller"} {
		var bom struct {
			BOMFormat string
			Metadata  struct {
				Component struct{ Name, Version string }
			}
			Components []struct{ Name, Version string }
		}
		b, err := os.ReadFile(filepath.Join(dist.Dir, name+"_"+version+"_sbom.cdx.json"))
		if err != nil || json.Unmarshal(b, &bom) != nil {
			t.Fatalf("%s SBOM: %v", name, err)
		}
		var deps []string
		for _, c := range bom.Components {
			deps = append(deps, c.Name)
		}
		if bom.BOMFormat != "CycloneDX" || bom.Metadata.Component.Version != version || !slices.Contains(deps, "github.com/sigstore/sigstore-go") {
			t.Errorf("%s SBOM: format %q, main %+v, %d components", name, bom.BOMFormat, bom.Metadata.Component, len(deps))
		}
	}

	again, err := ci.BuildRelease(version, ci.ReleaseOptions{Platforms: platforms, SBOM: true}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(dist.Dir, "checksums.txt"))
	second, _ := os.ReadFile(filepath.Join(again.Dir, "checksums.txt"))
	if string(first) != string(second) {
		t.Errorf("a second build of the same commit differs:\n%s\n%s", first, second)
	}
}

func TestReleaseRefusesBadVersion(t *testing.T) {
	cmd := exec.Command("bash", "release.sh", "1.2")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "VERSION '1.2' is not vX.Y.Z") {
		t.Errorf("release.sh 1.2: %v %s, want exit 2 naming the version", err, out)
	}
}

// checkBinary: an ELF for goarch with no interpreter (static), built with -trimpath and
// CGO_ENABLED=0, stamped through internal/version.
func checkBinary(t *testing.T, bin, goarch string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[goarch]; f.Machine != want {
		t.Errorf("%s: machine %s, want %s", bin, f.Machine, want)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked", bin)
		}
	}
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	if settings["-trimpath"] != "true" || settings["CGO_ENABLED"] != "0" {
		t.Errorf("%s build settings %v, want -trimpath and CGO_ENABLED=0", bin, settings)
	}
	// The version string is linked in (the host's binaries also run `version`).
	if b, err := os.ReadFile(bin); err != nil || !bytes.Contains(b, []byte(version)) {
		t.Errorf("%s is not stamped with %s", bin, version)
	}
}

func checksums(t *testing.T, dir string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("checksums.txt line %q is not sha256sum's format", sc.Text())
		}
		m[name] = sum
	}
	return m
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// archive lists a .tar.gz's entries, checking that each is owned by 0:0.
func archive(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("%s: gzip header carries a name %q or time %s", path, zr.Name, zr.ModTime)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" && h.Uname != "root" {
			t.Errorf("%s: %s owned by %d:%d (%s)", path, h.Name, h.Uid, h.Gid, h.Uname)
		}
		names = append(names, h.Name)
	}
}

// The release builds with the newest patch release of go.mod's Go line (its security
// fixes), not the .0 that go.mod's directive names: the workflow's go-version is that
// line's "X.Y.x".
func TestReleaseWorkflowGoIsGoModsLine(t *testing.T) {
	mod, err := os.ReadFile(filepath.Join(ci.Root(), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(mod), "\n") {
		if v, ok := strings.CutPrefix(l, "go "); ok {
			parts := strings.SplitN(strings.TrimSpace(v), ".", 3)
			line = parts[0] + "." + parts[1]
		}
	}
	wf, err := os.ReadFile(filepath.Join(ci.Root(), ".github", "workflows", "release.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if line == "" || !strings.Contains(string(wf), `go-version: "`+line+`.x"`) || !strings.Contains(string(wf), "check-latest: true") {
		t.Errorf("release.yml builds with another Go than go.mod's line %s, newest patch (go-version: %q, check-latest: true)", line, line+".x")
	}
}
