package kustomize_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/heap"
	"github.com/gitless-dev/gitless/manifest/kustomize"
)

// amplifier writes a kustomization whose configMapGenerator names one file of size
// bytes n times: kustomize reads it n times and keeps every copy.
func amplifier(t *testing.T, size, n int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.txt"), []byte(strings.Repeat("x", size)), 0o644); err != nil {
		t.Fatal(err)
	}
	var k strings.Builder
	k.WriteString("configMapGenerator:\n- name: big\n  files:\n")
	for i := range n {
		fmt.Fprintf(&k, "  - k%d=big.txt\n", i)
	}
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// A generator that names a 1 MiB file 300 times (300 MiB of strings, and as much
// again of YAML) is stopped by a 16 MiB budget at the read that goes over it, with
// the heap far below what the build would take; the error names the directory and
// the file. The same tree builds without a budget (kustomize has no cap of its own).
func TestBudgetStopsAmplifyingGenerator(t *testing.T) {
	dir := amplifier(t, 1<<20, 300)
	budget := kustomize.NewBudget(16 << 20)
	w := heap.Watch()
	_, err := kustomize.Build(context.Background(), dir, kustomize.BuildOptions{Budget: budget})
	peak := w.Stop()
	t.Logf("peak heap +%d MiB, %d bytes taken: %v", peak>>20, budget.Used(), err)
	if !errors.Is(err, kustomize.ErrTooLarge) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "big.txt") {
		t.Fatalf("got %v, want ErrTooLarge naming %s and big.txt", err, dir)
	}
	if peak > 64<<20 {
		t.Errorf("peak heap +%d MiB, want under 64 MiB", peak>>20)
	}

	small := amplifier(t, 1<<10, 3)
	out, err := kustomize.Build(context.Background(), small, kustomize.BuildOptions{Budget: kustomize.NewBudget(16 << 20)})
	if err != nil || !strings.Contains(string(out), "k2: "+strings.Repeat("x", 1<<10)) {
		t.Fatalf("a build within the budget: %v\n%.200s", err, out)
	}
}

// Builds given one Budget share it: two builds of 6 MiB each fit 16 MiB, a third does
// not.
func TestBudgetIsShared(t *testing.T) {
	dir := amplifier(t, 1<<20, 3) // 3 MiB read, 3 MiB of YAML
	budget := kustomize.NewBudget(16 << 20)
	for i := range 3 {
		_, err := kustomize.Build(context.Background(), dir, kustomize.BuildOptions{Budget: budget})
		if (i < 2) != (err == nil) || (err != nil && !errors.Is(err, kustomize.ErrTooLarge)) {
			t.Fatalf("build %d with %d bytes taken before: %v", i+1, budget.Used(), err)
		}
	}
}

// A done context stops a build at its next file read (krusty itself takes none).
func TestBuildStopsOnDoneContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := kustomize.Build(ctx, amplifier(t, 10, 2), kustomize.BuildOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}
