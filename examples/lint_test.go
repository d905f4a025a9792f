package examples_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
)

var usesGitless = regexp.MustCompile(`uses: gitless-dev/gitless/(actions/[a-z]+)@\S+`)

// actionlint passes on every example workflow, with the gitless actions it uses checked
// against this repository's action.yml files (inputs and outputs).
func TestExampleWorkflowsLint(t *testing.T) {
	workflows, err := filepath.Glob(filepath.Join(ci.Root(), "examples", "*", ".github", "workflows", "*.yml"))
	if err != nil || len(workflows) < 2 {
		t.Fatalf("example workflows: %v %v", workflows, err)
	}
	files := map[string]string{}
	var names []string
	for _, w := range workflows {
		b, err := os.ReadFile(w)
		if err != nil {
			t.Fatal(err)
		}
		example := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(w))))
		name := ".github/workflows/" + example + "-" + filepath.Base(w)
		local := usesGitless.ReplaceAllString(string(b), "uses: ./$1")
		if !strings.Contains(local, "uses: ./actions/push") {
			t.Errorf("%s does not use the push action", w)
		}
		files[name] = local
		names = append(names, name)
	}
	repo := ci.NewRepo(t, files, "actions")
	if res := ci.Actionlint(t, repo.Dir, names...); res.Code != 0 {
		t.Errorf("actionlint: exit %d\n%s", res.Code, res.Log)
	}
}
