package puller

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// lockHelperEnv makes the test binary a process that locks a directory as a build does
// and waits to be killed.
const lockHelperEnv = "GITLESS_TEST_LOCK_DIR"

func TestLockHelper(t *testing.T) {
	dir := os.Getenv(lockHelperEnv)
	if dir == "" {
		t.Skip("run by TestRemoveStaleTemp")
	}
	if _, err := tryLockDir(dir); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute)
}

// RemoveStaleTemp removes what a killed puller left (its lock died with it), and leaves
// a build in progress alone, of this process or another, and what is not the puller's.
func TestRemoveStaleTemp(t *testing.T) {
	if !canLockDirs {
		t.Skip("no directory locks on this platform")
	}
	dir := t.TempDir()
	old := time.Now().Add(-2 * time.Minute)
	mk := func(name string, mtime time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Join(p, "artifact", "deploy"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "artifact", "deploy", "a.yaml"), []byte("a: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
		return p
	}
	stale := mk(tempPrefix+"stale", old)
	fresh := mk(tempPrefix+"fresh", time.Now())
	held := mk(tempPrefix+"held", old)
	killed := mk(tempPrefix+"killed", old)
	other := mk("other-tool-dir", old)

	unlock, err := tryLockDir(held)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	child := exec.Command(os.Args[0], "-test.run=^TestLockHelper$")
	child.Env = append(os.Environ(), lockHelperEnv+"="+killed)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "locked\n" {
		t.Fatalf("the child: %q %v", line, err)
	}

	p := &Puller{opts: Options{TempDir: dir}}
	removed, err := p.RemoveStaleTemp()
	if err != nil || !slices.Equal(removed, []string{stale}) {
		t.Fatalf("with the child alive: removed %v, %v; want only %s", removed, err, stale)
	}
	child.Process.Kill() // SIGKILL: no clean-up of its own
	child.Wait()
	removed, err = p.RemoveStaleTemp()
	if err != nil || !slices.Equal(removed, []string{killed}) {
		t.Fatalf("after the child's kill: removed %v, %v; want %s", removed, err, killed)
	}
	for _, p := range []string{fresh, held, other} {
		if _, err := os.Stat(filepath.Join(p, "artifact", "deploy", "a.yaml")); err != nil {
			t.Errorf("%s was touched: %v", p, err)
		}
	}
}
