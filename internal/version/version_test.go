package version

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestFill(t *testing.T) {
	for _, tc := range []struct {
		name        string
		stamped     Info
		bi          debug.BuildInfo
		wantVersion string
		wantCommit  string
	}{
		{name: "stamped wins", stamped: Info{Version: "v1.2.3", Commit: "abc"},
			bi:          debug.BuildInfo{Main: debug.Module{Version: "v9.9.9"}, Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "def"}}},
			wantVersion: "v1.2.3", wantCommit: "abc"},
		{name: "go install module version", bi: debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}},
			wantVersion: "v0.4.0"},
		{name: "devel is not a version", bi: debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}},
		{name: "vcs revision, dirty", bi: debug.BuildInfo{Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123"}, {Key: "vcs.modified", Value: "true"}}},
			wantCommit: "0123-dirty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := tc.stamped
			fill(&info, &tc.bi)
			if info.Version != tc.wantVersion || info.Commit != tc.wantCommit {
				t.Errorf("got version %q commit %q, want %q %q", info.Version, info.Commit, tc.wantVersion, tc.wantCommit)
			}
		})
	}
}

func TestGet(t *testing.T) {
	old, oldCommit := Version, Commit
	t.Cleanup(func() { Version, Commit = old, oldCommit })
	Version, Commit = "v1.0.0", "feedface"
	got := Get()
	want := Info{Version: "v1.0.0", Commit: "feedface", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if got != want {
		t.Errorf("Get() = %+v, want %+v", got, want)
	}
	Version, Commit = "", ""
	if v := Get().Version; v == "" {
		t.Error("unstamped Get().Version is empty, want a fallback")
	}
}
