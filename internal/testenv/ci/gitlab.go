package ci

import (
	"strings"
	"testing"
	"time"
)

// GitLabOptions configure one gitlab-ci-local run.
type GitLabOptions struct {
	// Variables are CI/CD variables (--variable); predefined ones given here win over
	// gitlab-ci-local's (CI_REGISTRY, CI_REGISTRY_USER...).
	Variables map[string]string
	// Unset removes these variables, predefined ones included (--unset-variable).
	Unset []string
	// Jobs runs only these jobs (and what they need); empty runs the whole pipeline.
	Jobs []string
	// Path is put first on PATH (the gitless under test).
	Path []string
}

// RunGitLab runs the .gitlab-ci.yml of the repository in dir with gitlab-ci-local: every
// job in a shell on the host (image: is ignored), in a copy of the tracked files
// (.gitlab-ci-local/builds/JOB), with dotenv reports passed to later stages.
func RunGitLab(t testing.TB, dir string, o GitLabOptions) Result {
	t.Helper()
	glcl := GitLabCILocal(t)
	args := []string{"--force-shell-executor", "--shell-isolation", "--no-artifacts-to-source",
		"--no-json-schema-validation", "--color=false"}
	var names []string
	for _, kv := range sortedKV(o.Variables) {
		args = append(args, "--variable", kv)
		names = append(names, strings.SplitN(kv, "=", 2)[0])
	}
	if len(names) > 0 {
		args = append(args, "--ignore-predefined-vars", strings.Join(names, ","))
	}
	for _, v := range o.Unset {
		args = append(args, "--unset-variable", v)
	}
	args = append(args, o.Jobs...)
	return run(t, dir, baseEnv(t, o.Path), 5*time.Minute, glcl, args...)
}
