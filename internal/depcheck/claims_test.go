package depcheck

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// make bench and make bench-service run every bench script the README's benchmark
// table names, and every script under bench/ is in the table.
func TestMakeBenchRunsWhatTheREADMESays(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile("\\(`([a-z]+)\\.sh`\\)").FindAllStringSubmatch(string(readme), -1) {
		if !slices.Contains(listed, m[1]) {
			listed = append(listed, m[1])
		}
	}
	m := regexp.MustCompile(`(?m)^BENCH_SCRIPTS \?= (.*)$`).FindStringSubmatch(string(mk))
	if m == nil || !strings.Contains(string(mk), "bash bench/$$s.sh") {
		t.Fatal("the Makefile's bench target no longer runs $(BENCH_SCRIPTS)")
	}
	run := strings.Fields(m[1])
	ms := regexp.MustCompile(`(?m)^SERVICE_BENCH_SCRIPTS \?= (.*)$`).FindStringSubmatch(string(mk))
	if ms == nil || !strings.Contains(string(mk), "$(SERVICE_BENCH_SCRIPTS)") {
		t.Fatal("the Makefile's bench-service target no longer runs $(SERVICE_BENCH_SCRIPTS)")
	}
	run = append(run, strings.Fields(ms[1])...)
	var scripts []string
	entries, _ := os.ReadDir("../../bench")
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".sh"); ok && name != "lib" {
			scripts = append(scripts, name)
		}
	}
	slices.Sort(listed)
	slices.Sort(run)
	if len(listed) < 4 || !slices.Equal(listed, run) || !slices.Equal(listed, scripts) {
		t.Fatalf("README lists %v, make bench and bench-service run %v, bench/ has %v", listed, run, scripts)
	}
}
