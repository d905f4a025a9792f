package ci

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ActOptions configure one act run.
type ActOptions struct {
	// Workflow is the workflow file, relative to the repository.
	Workflow string
	// Event is the event that triggers it: "push" by default; EventJSON its payload.
	Event     string
	EventJSON string
	// Job runs only this job (act -j).
	Job string
	// Env, Vars and Secrets are act's --env, --var and -s: the job's environment, the
	// vars context and the secrets context.
	Env, Vars, Secrets map[string]string
	// Path is put first on PATH (the gitless under test).
	Path []string
}

// RunAct runs a workflow of the repository in dir with nektos/act on the host, offline:
// only loopback is reached. GITHUB_REPOSITORY is acme/app unless Env says otherwise.
func RunAct(t testing.TB, dir string, o ActOptions) Result {
	t.Helper()
	act := Peer(t, "act")
	event := o.Event
	if event == "" {
		event = "push"
	}
	payload := o.EventJSON
	if payload == "" {
		payload = `{"ref": "refs/heads/main", "repository": {"full_name": "acme/app", "owner": {"login": "acme"}, "name": "app"}}`
	}
	tmp := t.TempDir()
	eventFile := filepath.Join(tmp, "event.json")
	if err := os.WriteFile(eventFile, []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{event, "-P", "ubuntu-latest=-self-hosted", "-W", o.Workflow, "-e", eventFile,
		"--action-cache-path", filepath.Join(tmp, "actions"), "--action-offline-mode", "--pull=false",
		"--no-cache-server", "--rm", "--actor", "acme-bot"}
	if o.Job != "" {
		args = append(args, "-j", o.Job)
	}
	env := map[string]string{"GITHUB_REPOSITORY": "acme/app"}
	for k, v := range o.Env {
		env[k] = v
	}
	for _, kv := range sortedKV(env) {
		args = append(args, "--env", kv)
	}
	for _, kv := range sortedKV(o.Vars) {
		args = append(args, "--var", kv)
	}
	for _, kv := range sortedKV(o.Secrets) {
		args = append(args, "-s", kv)
	}
	// Without ACT_DISABLE_VERSION_CHECK act looks up its latest release over the network.
	procEnv := append(baseEnv(t, o.Path), "ACT_DISABLE_VERSION_CHECK=1")
	return run(t, dir, procEnv, 5*time.Minute, act, args...)
}

// Actionlint lints the workflow files (paths relative to dir) with actionlint and
// returns its result; uses: ./path actions are checked against their action.yml.
func Actionlint(t testing.TB, dir string, workflows ...string) Result {
	t.Helper()
	lint := Peer(t, "actionlint")
	args := append([]string{"-no-color"}, workflows...)
	return run(t, dir, baseEnv(t, nil), 2*time.Minute, lint, args...)
}
