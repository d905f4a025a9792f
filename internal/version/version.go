// Package version holds what a gitless binary knows about its own build: the release
// version and the commit it was built from, stamped at link time, plus the Go version and
// platform. Both commands (gitless and gitless-puller) read it, so that one -ldflags line
// stamps both:
//
//	go build -trimpath -ldflags "-X github.com/gitless-dev/gitless/internal/version.Version=v1.2.3 \
//	  -X github.com/gitless-dev/gitless/internal/version.Commit=$(git rev-parse HEAD)" ./cmd/...
//
// make release and make images do exactly that (hack/release.sh). An unstamped binary
// falls back to what the Go toolchain recorded: the module version for `go install
// ...@vX.Y.Z`, the VCS revision for a build inside a git checkout, else "dev".
package version

import (
	"runtime"
	"runtime/debug"
)

// Stamped at link time with -X; empty in a plain go build.
var (
	// Version is the release version, vX.Y.Z.
	Version = ""
	// Commit is the full git commit the binary was built from.
	Commit = ""
)

// Info is a binary's build information.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build information of the running binary.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		fill(&info, bi)
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// fill completes what the linker flags left empty from the toolchain's build information.
func fill(info *Info, bi *debug.BuildInfo) {
	if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		info.Version = bi.Main.Version
	}
	if info.Commit == "" {
		var rev string
		var dirty bool
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" && dirty {
			rev += "-dirty"
		}
		info.Commit = rev
	}
}

// String is the version alone, as user agents and log lines show it.
func String() string { return Get().Version }

// Text is the multi-line form `gitless version` prints for the binary named name.
func (i Info) Text(name string) string {
	return name + " " + i.Version + "\n" +
		"  commit:   " + i.Commit + "\n" +
		"  go:       " + i.GoVersion + "\n" +
		"  platform: " + i.Platform + "\n"
}
