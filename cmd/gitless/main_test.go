package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// No garbage collection runs before main: internal/startgc turns it off while the
// packages are initialised (about 6 MB of allocations, two collections without it),
// and main gives the setting back. `gitless version` then allocates too little for
// the collector to start at all, so the runtime's trace of collections stays empty.
func TestNoCollectionWhileInitialising(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "gitless")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "GODEBUG=gctrace=1", "GOGC=", "GOMEMLIMIT=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gitless version: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "gc ") {
			t.Errorf("a collection ran: %s", l)
		}
	}
	if !strings.Contains(string(out), "gitless ") {
		t.Errorf("gitless version printed %q", out)
	}
}
