package ci

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

var stampedCommit = regexp.MustCompile(`\(commit ([0-9a-f]{40}(?:-dirty)?)\)`)

func runtimeTarget() string { return runtime.GOOS + "/" + runtime.GOARCH }

// Main runs the tests of m and then removes what Release built; use it in TestMain when
// a package calls Release:
//
//	func TestMain(m *testing.M) { os.Exit(ci.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	Cleanup()
	return code
}

// Cleanup removes what Release built; for a TestMain that runs m itself (kube.Main).
func Cleanup() {
	releaseMu.Lock()
	defer releaseMu.Unlock()
	for _, b := range releaseBuilt {
		if b.dist.Dir != "" {
			os.RemoveAll(b.dist.Dir)
		}
	}
}

// Dist is what hack/release.sh wrote for one version.
type Dist struct {
	Dir     string
	Version string
	// Commit is the commit the binaries are stamped with (HEAD when release.sh ran,
	// "-dirty" when the tree had uncommitted changes to tracked files).
	Commit string
}

// BinDir is the directory of the binaries for goos/goarch.
func (d Dist) BinDir(goos, goarch string) string {
	return filepath.Join(d.Dir, "bin", goos+"_"+goarch)
}

// Archive is the release archive for goos/goarch.
func (d Dist) Archive(goos, goarch string) string {
	return filepath.Join(d.Dir, fmt.Sprintf("gitless_%s_%s_%s.tar.gz", d.Version, goos, goarch))
}

type releaseKey struct {
	version, platforms string
	sbom               bool
}

var (
	releaseMu    sync.Mutex
	releaseBuilt = map[releaseKey]*releaseBuild{}
)

type releaseBuild struct {
	once sync.Once
	dist Dist
	err  error
}

// ReleaseOptions configure Release.
type ReleaseOptions struct {
	// Platforms, GOOS/GOARCH, default the host's.
	Platforms []string
	// SBOM makes the SBOMs too (cyclonedx-gomod, a peer tool).
	SBOM bool
}

// Release runs `hack/release.sh VERSION` once per test process for the version and
// options, into a directory that lives until Main returns, and returns it. The
// binaries go through the Go build cache, so later runs cost a link.
func Release(t testing.TB, version string, o ReleaseOptions) Dist {
	t.Helper()
	if len(o.Platforms) == 0 {
		o.Platforms = []string{runtimeTarget()}
	}
	key := releaseKey{version, strings.Join(o.Platforms, " "), o.SBOM}
	releaseMu.Lock()
	b := releaseBuilt[key]
	if b == nil {
		b = &releaseBuild{}
		releaseBuilt[key] = b
	}
	releaseMu.Unlock()
	b.once.Do(func() { b.dist, b.err = BuildRelease(version, o, "") })
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.dist
}

// BuildRelease runs hack/release.sh into dir (a new temporary directory when empty), not
// shared with other callers.
func BuildRelease(version string, o ReleaseOptions, dir string) (Dist, error) {
	if len(o.Platforms) == 0 {
		o.Platforms = []string{runtimeTarget()}
	}
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "gitless-release-"); err != nil {
			return Dist{}, err
		}
	}
	env := append(os.Environ(), "DIST="+dir, "PLATFORMS="+strings.Join(o.Platforms, " "), "SBOM=0")
	if o.SBOM {
		env[len(env)-1] = "SBOM=1"
		if bin := os.Getenv("GITLESS_PEERS_BIN"); bin != "" {
			env = append(env, "CYCLONEDX_GOMOD="+filepath.Join(bin, "cyclonedx-gomod"))
		}
	}
	cmd := exec.Command("bash", filepath.Join(Root(), "hack", "release.sh"), version)
	cmd.Dir, cmd.Env = Root(), env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return Dist{}, fmt.Errorf("hack/release.sh %s (PLATFORMS=%q): %v\n%s", version, strings.Join(o.Platforms, " "), err, out)
	}
	// The commit release.sh stamped, from its last line ("... (commit SHA[-dirty]):"), not
	// from git now: the tree may have changed since.
	m := stampedCommit.FindSubmatch(out)
	if m == nil {
		return Dist{}, fmt.Errorf("hack/release.sh %s did not say which commit it stamped:\n%s", version, out)
	}
	d := Dist{Dir: dir, Version: version, Commit: string(m[1])}
	return d, nil
}
