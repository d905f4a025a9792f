package actions_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
)

// actionlint passes on the project's own workflows and on the test workflows that call
// the actions (whose inputs and outputs it checks against the action.yml files), and
// refuses an input the push action does not declare.
func TestActionlint(t *testing.T) {
	own, err := filepath.Glob(filepath.Join(ci.Root(), ".github", "workflows", "*.yml"))
	if err != nil || len(own) == 0 {
		t.Fatalf("no workflows in .github/workflows: %v", err)
	}
	var rel []string
	for _, w := range own {
		r, _ := filepath.Rel(ci.Root(), w)
		rel = append(rel, r)
	}
	if res := ci.Actionlint(t, ci.Root(), rel...); res.Code != 0 {
		t.Errorf("actionlint %s: exit %d\n%s", strings.Join(rel, " "), res.Code, res.Log)
	}

	files := map[string]string{}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var workflows []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".yml") && e.Name() != "gitlab-ci.yml" {
			p := ".github/workflows/" + e.Name()
			files[p] = testdata(t, e.Name())
			workflows = append(workflows, p)
		}
	}
	files[".github/workflows/unknown-input.yml"] = `name: unknown
on: push
jobs:
  push:
    runs-on: ubuntu-latest
    steps:
      - uses: ./actions/push
        with:
          path: deploy
          tag: v1
`
	repo := ci.NewRepo(t, files, "actions")
	if res := ci.Actionlint(t, repo.Dir, workflows...); res.Code != 0 {
		t.Errorf("actionlint on the test workflows: exit %d\n%s", res.Code, res.Log)
	}
	res := ci.Actionlint(t, repo.Dir, ".github/workflows/unknown-input.yml")
	if res.Code == 0 || !strings.Contains(res.Log, `input "tag" is not defined in action "gitless push"`) {
		t.Errorf("actionlint accepted an undeclared input (exit %d):\n%s", res.Code, res.Log)
	}
}
