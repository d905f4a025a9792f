package actions_test

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
)

// stubGitless is a gitless for the unit tests of push.sh's own logic (which arguments and
// credentials it hands on): it records its arguments one per line and the docker config
// it was given, and answers as gitless push -o json does, or exits with STUB_EXIT.
const stubGitless = `#!/usr/bin/env bash
printf '%s\n' "$@" >"$STUB_DIR/args"
prev=
for a in "$@"; do
  [[ $prev == --docker-config ]] && cp "$a" "$STUB_DIR/config.json"
  prev=$a
done
[[ ${STUB_EXIT:-0} == 0 ]] || exit "$STUB_EXIT"
[[ -z ${STUB_JSON:-} ]] || { printf '%s\n' "$STUB_JSON"; exit 0; }
printf '{\n  "digest": "sha256:%064d",\n  "pushed": %s\n}\n' 0 "${STUB_PUSHED:-true}"
`

type scriptRun struct {
	out     string // stdout and stderr
	code    int
	args    []string
	config  string // the docker config handed to gitless, "" if none
	summary string
}

// runPushScript runs actions/push/push.sh as the push action's step does, with the
// INPUT_* and runner variables of env, against stubGitless.
func runPushScript(t *testing.T, env map[string]string) scriptRun {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	work := filepath.Join(dir, "work")
	for _, d := range []string{bin, filepath.Join(work, "deploy")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// A file a glob in args would match, were args glob-expanded.
	if err := os.WriteFile(filepath.Join(work, "README.md"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "gitless"), []byte(stubGitless), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script(t, "push", "push.sh"))
	cmd.Dir = work
	cmd.Env = []string{
		"PATH=" + bin + ":/usr/bin:/bin", "STUB_DIR=" + dir, "RUNNER_TEMP=" + dir,
		"GITHUB_OUTPUT=" + filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY=" + filepath.Join(dir, "summary"),
		"GITHUB_SHA=0123456789abcdef0123456789abcdef01234567", "GITHUB_REPOSITORY=Acme/App",
		"INPUT_PATH=deploy", "INPUT_SIGN=none", "INPUT_USERNAME=octocat",
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	r := scriptRun{out: string(out)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "args")); err == nil {
		r.args = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		r.config = string(b)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "summary")); err == nil {
		r.summary = string(b)
	}
	return r
}

// script is the path of a script of the actions, read once so that go test's cache
// knows the result depends on it (bash opening it is not seen).
func script(t *testing.T, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{ci.Root(), "actions"}, elem...)...)
	if _, err := os.ReadFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func hasArgs(args []string, want ...string) bool {
	for i := range args {
		if i+len(want) <= len(args) && strings.Join(args[i:i+len(want)], "\x00") == strings.Join(want, "\x00") {
			return true
		}
	}
	return false
}

// The workflow's GITHUB_TOKEN goes to ghcr.io, in a docker config for ghcr.io only, and to
// no other registry: without a password there, gitless is given no credentials and takes
// the runner's docker config and helpers. A password given goes to its host only.
func TestPushScriptCredentials(t *testing.T) {
	token := "ghs_" + secret(t)
	auth := func(user, pass string) string { return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass)) }

	r := runPushScript(t, map[string]string{"INPUT_GITHUB_TOKEN": token})
	if r.code != 0 || r.config != `{"auths":{"ghcr.io":{"auth":"`+auth("octocat", token)+`"}}}`+"\n" || r.args[1] != "oci://ghcr.io/acme/app-manifests:0123456789abcdef0123456789abcdef01234567" {
		t.Errorf("ghcr.io without a password: exit %d, config %q, args %q, want GITHUB_TOKEN for ghcr.io\n%s", r.code, r.config, r.args, r.out)
	}

	r = runPushScript(t, map[string]string{"INPUT_GITHUB_TOKEN": token, "INPUT_REPOSITORY": "oci://registry.example.com/acme/app"})
	if r.code != 0 || r.config != "" || hasArgs(r.args, "--docker-config") || strings.Contains(strings.Join(r.args, " "), token) {
		t.Errorf("another registry without a password: exit %d, config %q, args %q, want no credentials handed to gitless\n%s", r.code, r.config, r.args, r.out)
	}

	r = runPushScript(t, map[string]string{"INPUT_GITHUB_TOKEN": token, "INPUT_REPOSITORY": "oci://registry.example.com/acme/app", "INPUT_PASSWORD": "p4ss"})
	if r.code != 0 || r.config != `{"auths":{"registry.example.com":{"auth":"`+auth("octocat", "p4ss")+`"}}}`+"\n" {
		t.Errorf("another registry with a password: exit %d, config %q, want the password for that host\n%s", r.code, r.config, r.out)
	}

	r = runPushScript(t, nil)
	if r.code == 0 || r.args != nil || !strings.Contains(r.out, "no registry token for ghcr.io") {
		t.Errorf("ghcr.io without any token: exit %d, args %q, want a refusal before gitless runs\n%s", r.code, r.args, r.out)
	}

	r = runPushScript(t, map[string]string{"INPUT_PASSWORD": "p4ss", "STUB_EXIT": "4", "GITHUB_EVENT_NAME": "pull_request"})
	if r.code == 0 || !strings.Contains(r.out, "refused octocat's token (exit 4)") || !strings.Contains(r.out, "a pull request from a fork gets a read-only GITHUB_TOKEN") {
		t.Errorf("a refused token on a pull_request event: exit %d, want the registry's refusal and the fork hint\n%s", r.code, r.out)
	}
}

// args is split on every whitespace, newlines included, and never glob-expanded; the
// command the log shows hides --creds and --identity-token values. Tags move only when
// listed in moving-tags (an empty --moving-tag replaces gitless's default, latest), and a
// push that changed nothing lists no tags in the step summary.
func TestPushScriptArguments(t *testing.T) {
	r := runPushScript(t, map[string]string{
		"INPUT_PASSWORD": "p4ss", "INPUT_TAGS": "v1.0.0, latest",
		"INPUT_ARGS": "--ignore *.md\n--identity-token tok3n --creds=u:s3cret\n--annotation a=b",
	})
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.out)
	}
	for _, want := range [][]string{{"--ignore", "*.md"}, {"--annotation", "a=b"}, {"--moving-tag="}, {"--tag", "latest"}} {
		if !hasArgs(r.args, want...) {
			t.Errorf("gitless was not given %q: %q", want, r.args)
		}
	}
	if strings.Contains(r.out, "tok3n") || strings.Contains(r.out, "s3cret") || !strings.Contains(r.out, "--identity-token <hidden> --creds=<hidden>") {
		t.Errorf("the logged command shows a credential of args, or hides nothing:\n%s", r.out)
	}

	r = runPushScript(t, map[string]string{"INPUT_PASSWORD": "p4ss", "INPUT_MOVING_TAGS": "latest\nstaging", "STUB_PUSHED": "false"})
	if r.code != 0 || hasArgs(r.args, "--moving-tag=") || !hasArgs(r.args, "--tag", "staging", "--moving-tag", "staging") {
		t.Errorf("moving-tags latest, staging: exit %d, args %q\n%s", r.code, r.args, r.out)
	}
	if !strings.Contains(r.summary, "| tags | none set: the registry already held this content |") || strings.Contains(r.summary, "staging") {
		t.Errorf("the summary of a push that changed nothing lists tags:\n%s", r.summary)
	}
}

// A moving tag gitless kept on a newer artifact (a re-run of an old commit's pipeline) is
// a warning and a row of the summary, not a tag listed as set.
func TestPushScriptReportsKeptTags(t *testing.T) {
	json := `{
  "digest": "sha256:` + strings.Repeat("0", 64) + `",
  "pushed": true,
  "tagUpdates": [
    {
      "tag": "0123456",
      "changed": true
    },
    {
      "tag": "latest",
      "previous": "sha256:` + strings.Repeat("1", 64) + `",
      "changed": false,
      "kept": "it names sha256:1111, created 2026-02-01T00:00:00Z, after this artifact (2026-01-01T00:00:00Z): not moved back"
    }
  ]
}`
	r := runPushScript(t, map[string]string{"INPUT_REPOSITORY": "oci://registry.example/acme/app", "INPUT_PASSWORD": "p", "INPUT_TAGS": "0123456", "INPUT_MOVING_TAGS": "latest", "STUB_JSON": json})
	if r.code != 0 || !strings.Contains(r.out, "::warning title=gitless push::latest not moved") || !strings.Contains(r.summary, "| not moved back | latest:") {
		t.Fatalf("%+v", r)
	}
}

// A key pasted where its path belongs (signing-key: ${{ secrets.COSIGN_PRIVATE_KEY }}
// for env://COSIGN_PRIVATE_KEY) is refused without being quoted: a runner cannot mask
// every line of a multi-line secret.
func TestPushScriptNeverQuotesAKeyGivenAsItsPath(t *testing.T) {
	pem := "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\neyJrZGYiOnsibmFtZSI6InNjcnlwdCJ9SECRETBODY\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----"
	for _, key := range []string{pem, "eyJrZGYiOnsibmFtZSI6InNjcnlwdCJ9SECRETBODY\nsecond line"} {
		r := runPushScript(t, map[string]string{"INPUT_PASSWORD": "p4ss", "INPUT_SIGN": "key", "INPUT_SIGNING_KEY": key})
		if r.code == 0 || r.args != nil || strings.Contains(r.out, "SECRETBODY") || !strings.Contains(r.out, "holds a key itself") {
			t.Errorf("exit %d, gitless run: %v\n%s", r.code, r.args != nil, r.out)
		}
	}
}
