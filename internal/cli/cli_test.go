package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/internal/cli"
	"github.com/gitless-dev/gitless/internal/testenv/fstree"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/render"
)

type result struct {
	code     int
	out, err string
}

// run executes the gitless CLI in-process, as a user would from a shell, with env as
// the only environment.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	e := cli.Env{Out: &out, Err: &errb, Getenv: func(k string) string { return env[k] }}
	code := cli.Main(context.Background(), cli.NewGitlessCommand(e), args, e)
	return result{code, out.String(), errb.String()}
}

func writeTree(t *testing.T, files map[string]string) string { return fstree.Write(t, files) }

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: \"1\"\n"

func TestPushPullInspectListTagDiff(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	src := writeTree(t, map[string]string{"app/cm.yaml": cm, "kustomization.yaml": "resources: [app/cm.yaml]\n"})
	url := "oci://" + reg.Host() + "/demo/app"

	r := run(t, env, "push", url+":1a2b3c4", "--path", src, "--source", "https://github.com/acme/app",
		"--revision", "main@sha1:1a2b3c4d5e6f", "--created", "2026-01-02T03:04:05Z", "--tag", "latest", "-o", "json")
	if r.code != 0 {
		t.Fatalf("push: %d %s", r.code, r.err)
	}
	var pushed struct {
		URL, Repository, Tag, Digest string
		Tags                         []string
		Unchanged                    bool
	}
	if err := json.Unmarshal([]byte(r.out), &pushed); err != nil {
		t.Fatalf("push -o json: %v\n%s", err, r.out)
	}
	if pushed.Repository != reg.Host()+"/demo/app" || pushed.Tag != "1a2b3c4" || !strings.HasPrefix(pushed.Digest, "sha256:") ||
		strings.Join(pushed.Tags, ",") != "1a2b3c4,latest" || pushed.Unchanged || !strings.HasSuffix(pushed.URL, "@"+pushed.Digest) {
		t.Fatalf("push output %+v", pushed)
	}

	// the same again: says it is unchanged, and prints the pinned reference
	r = run(t, env, "push", url+":1a2b3c4", "--path", src, "--source", "https://github.com/acme/app",
		"--revision", "main@sha1:1a2b3c4d5e6f", "--created", "2026-01-02T03:04:05Z")
	if r.code != 0 || !strings.Contains(r.err, "unchanged") || strings.TrimSpace(r.out) != url+":1a2b3c4@"+pushed.Digest {
		t.Fatalf("second push: %+v", r)
	}

	// other content under the same commit tag: exit 5, tag kept
	os.WriteFile(filepath.Join(src, "app/cm.yaml"), []byte(strings.Replace(cm, `"1"`, `"2"`, 1)), 0o644)
	r = run(t, env, "push", url+":1a2b3c4", "--path", src, "--created", "0")
	if r.code != cli.ExitTagConflict || !strings.Contains(r.err, "already points at "+pushed.Digest) || !strings.Contains(r.err, "--allow-overwrite") {
		t.Fatalf("conflicting push: %+v", r)
	}

	// --moving-tag= empties the list of moving tags (the push action's tags input): then
	// latest, too, is immutable
	r = run(t, env, "push", url+":5e6f7a8", "--path", src, "--created", "0", "--tag", "latest", "--moving-tag=")
	if r.code != cli.ExitTagConflict || !strings.Contains(r.err, `tag "latest"`) {
		t.Fatalf("push moving latest with --moving-tag=: %+v", r)
	}

	// diff says what would change; exit 3
	r = run(t, env, "diff", src, url+":1a2b3c4")
	if r.code != cli.ExitDiffers || strings.TrimSpace(r.out) != "M app/cm.yaml" {
		t.Fatalf("diff: %+v", r)
	}

	out := filepath.Join(t.TempDir(), "pulled")
	r = run(t, env, "pull", url+":latest", "-o", out)
	if r.code != 0 {
		t.Fatalf("pull: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "app/cm.yaml")); string(b) != cm {
		t.Fatalf("pulled %q", b)
	}
	r = run(t, env, "diff", out, url+":latest")
	if r.code != 0 || r.out != "" {
		t.Fatalf("diff of the pulled tree: %+v", r)
	}

	r = run(t, env, "inspect", url+":latest", "--files", "-o", "json")
	var in struct {
		Digest   string
		Metadata struct{ Source, Revision string }
		Files    []struct{ Path string }
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &in) != nil || in.Digest != pushed.Digest || in.Metadata.Revision != "main@sha1:1a2b3c4d5e6f" || len(in.Files) != 2 {
		t.Fatalf("inspect: %+v", r)
	}
	r = run(t, env, "inspect", url+":latest")
	if r.code != 0 || !strings.Contains(r.out, "org.opencontainers.image.source:") || !strings.Contains(r.out, "application/vnd.cncf.flux.content.v1.tar+gzip") {
		t.Fatalf("inspect text: %+v", r)
	}

	r = run(t, env, "tag", url+":1a2b3c4", "--tag", "production", "--tag", "v1.0.0")
	if r.code != 0 || !strings.Contains(r.err, "production: new") {
		t.Fatalf("tag: %+v", r)
	}
	r = run(t, env, "list", url)
	if r.code != 0 || !strings.Contains(r.out, "production") || !strings.Contains(r.out, "main@sha1:1a2b3c4d5e6f") {
		t.Fatalf("list: %+v", r)
	}
	r = run(t, env, "list", url, "--semver", ">=1.0.0", "-o", "json")
	var tags []struct{ Tag string }
	if r.code != 0 || json.Unmarshal([]byte(r.out), &tags) != nil || len(tags) != 1 || tags[0].Tag != "v1.0.0" {
		t.Fatalf("list --semver: %+v", r)
	}
	// --limit bounds the tags read (a manifest request each), versions first; the rest
	// are counted on stderr.
	r = run(t, env, "list", url, "--limit", "1", "-o", "json")
	if r.code != 0 || json.Unmarshal([]byte(r.out), &tags) != nil || len(tags) != 1 || tags[0].Tag != "v1.0.0" || !strings.Contains(r.err, "more tags not read (--limit 1") {
		t.Fatalf("list --limit 1: %+v", r)
	}
}

func TestBuildIsOfflineAndMatchesPush(t *testing.T) {
	src := writeTree(t, map[string]string{"cm.yaml": cm})
	f := filepath.Join(t.TempDir(), "a.tgz")
	r := run(t, nil, "build", src, "-o", f)
	if r.code != 0 || !strings.HasPrefix(r.out, "sha256:") {
		t.Fatalf("build: %+v", r)
	}
	reg := registry.NewT(t, registry.Options{})
	r2 := run(t, map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, "push", "oci://"+reg.Host()+"/x:v1.0.0", "--path", src, "-o", "json")
	if r2.code != 0 || !strings.Contains(r2.out, `"layerDigest": "`+strings.TrimSpace(r.out)+`"`) || !strings.Contains(r2.out, `"created": "2023-11-14T22:13:20Z"`) {
		t.Fatalf("push layer digest differs from build's or created not from SOURCE_DATE_EPOCH: %+v", r2)
	}
}

func TestCIProvenance(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	src := writeTree(t, map[string]string{"cm.yaml": cm})
	gh := map[string]string{
		"GITHUB_ACTIONS": "true", "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app",
		"GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_REF_NAME": "main", "GITHUB_RUN_ID": "42",
		"SOURCE_DATE_EPOCH": "1700000000",
	}
	r := run(t, gh, "push", "oci://"+reg.Host()+"/gh:0123456", "--path", src, "-o", "json")
	for _, want := range []string{`"source": "https://github.com/acme/app"`, `"revision": "main@sha1:0123456789abcdef0123456789abcdef01234567"`, `"buildURL": "https://github.com/acme/app/actions/runs/42"`} {
		if !strings.Contains(r.out, want) {
			t.Errorf("GitHub provenance: missing %s in %s %s", want, r.out, r.err)
		}
	}
	gl := map[string]string{
		"GITLAB_CI": "true", "CI_PROJECT_URL": "https://gitlab.com/acme/app", "CI_COMMIT_SHA": "89abcdef0123456789abcdef0123456789abcdef",
		"CI_COMMIT_REF_NAME": "release", "CI_JOB_URL": "https://gitlab.com/acme/app/-/jobs/7", "CI_COMMIT_TIMESTAMP": "2026-03-04T05:06:07+01:00",
	}
	r = run(t, gl, "push", "oci://"+reg.Host()+"/gl:89abcde", "--path", src, "-o", "json")
	for _, want := range []string{`"source": "https://gitlab.com/acme/app"`, `"revision": "release@sha1:89abcdef0123456789abcdef0123456789abcdef"`, `"created": "2026-03-04T04:06:07Z"`} {
		if !strings.Contains(r.out, want) {
			t.Errorf("GitLab provenance: missing %s in %s %s", want, r.out, r.err)
		}
	}
}

func TestRegistryCredentialsFromCI(t *testing.T) {
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthToken})
	src := writeTree(t, map[string]string{"cm.yaml": cm})
	url := "oci://" + reg.Host() + "/group/project:1a2b3c4"
	// GitLab: CI_REGISTRY names the host, CI_REGISTRY_USER/PASSWORD the credentials
	gl := map[string]string{"CI_REGISTRY": reg.Host(), "CI_REGISTRY_USER": reg.Username, "CI_REGISTRY_PASSWORD": reg.Password, "SOURCE_DATE_EPOCH": "1"}
	if r := run(t, gl, "push", url, "--path", src); r.code != 0 {
		t.Fatalf("push with CI_REGISTRY_*: %+v", r)
	}
	// a wrong job token: exit 4, the source is named, the secret is not
	bad := map[string]string{"CI_REGISTRY": reg.Host(), "CI_JOB_TOKEN": "glcbt-secret-value-123", "HOME": t.TempDir()}
	r := run(t, bad, "pull", url, "-o", filepath.Join(t.TempDir(), "o"), "--verbose")
	if r.code != cli.ExitDenied || !strings.Contains(r.err, "CI_JOB_TOKEN") || strings.Contains(r.err+r.out, "glcbt-secret-value-123") {
		t.Fatalf("bad CI_JOB_TOKEN: %+v", r)
	}
	// no credentials at all: exit 4, and the hint lists where gitless looks (the
	// library's error names no flag)
	r = run(t, map[string]string{"HOME": t.TempDir()}, "inspect", url)
	if r.code != cli.ExitDenied || !strings.Contains(r.err, "no credentials were found") || !strings.Contains(r.err, "Hint: registry credentials come from --creds, --docker-config") {
		t.Fatalf("no credentials: %+v", r)
	}
	// --creds
	r = run(t, map[string]string{"HOME": t.TempDir()}, "inspect", url, "--creds", reg.Username+":"+reg.Password, "--verbose")
	if r.code != 0 || strings.Contains(r.err+r.out, reg.Password) {
		t.Fatalf("--creds: %+v", r)
	}
	// a dockerconfigjson file
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"auths":{"`+reg.Host()+`":{"username":"`+reg.Username+`","password":"`+reg.Password+`"}}}`), 0o600)
	if r := run(t, map[string]string{"HOME": t.TempDir()}, "inspect", url, "--docker-config", cfg); r.code != 0 {
		t.Fatalf("--docker-config: %+v", r)
	}
}

func TestBadInput(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	url := "oci://" + reg.Host() + "/x:v1"
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing dir", []string{"push", url, "--path", "/nonexistent/dir"}, cli.ExitError, "/nonexistent/dir: source directory does not exist"},
		{"empty dir", []string{"push", url, "--path", t.TempDir()}, cli.ExitError, "--allow-empty"},
		{"bad yaml", []string{"push", url, "--path", writeTree(t, map[string]string{"a/b.yaml": "a: [\n"})}, cli.ExitError, "a/b.yaml:1: invalid YAML"},
		{"bad reference", []string{"push", "oci://ghcr.io/Bad/Name:v1", "--path", "."}, cli.ExitUsage, "invalid artifact reference"},
		{"no host", []string{"pull", "oci://acme/app:v1", "-o", "x"}, cli.ExitUsage, "not a registry host"},
		{"over the cap", []string{"push", url, "--path", writeTree(t, map[string]string{"a.yaml": cm}), "--max-size", "10"}, cli.ExitError, "over the size limit"},
		{"over the cap: hint", []string{"push", url, "--path", writeTree(t, map[string]string{"a.yaml": cm}), "--max-size", "10"}, cli.ExitError, "--max-size"},
		{"symbolic link", []string{"push", url, "--path", symlinkTree(t)}, cli.ExitError, "--resolve-symlinks"},
		{"not an object", []string{"push", url, "--path", writeTree(t, map[string]string{"values.yaml": "replicas: 3\n"})}, cli.ExitError, "values.yaml:1: invalid Kubernetes object"},
		{"duplicate object", []string{"push", url, "--path", writeTree(t, map[string]string{"a.yaml": cm, "b/c.yaml": cm})}, cli.ExitError, "duplicate object ConfigMap"},
		{"unknown flag", []string{"push", "--nope"}, cli.ExitUsage, "unknown flag"},
		{"revision of two lines", []string{"push", url, "--path", writeTree(t, map[string]string{"a.yaml": cm}), "--revision", "main@sha1:abc\n::error::injected"}, cli.ExitUsage, `the revision (--revision) "main@sha1:abc\n::error::injected" has a control character`},
		{"missing tag", []string{"pull", "oci://" + reg.Host() + "/x:nope", "-o", filepath.Join(t.TempDir(), "o")}, cli.ExitNotFound, "nope"},
		{"bad creds syntax", []string{"inspect", url, "--creds", "nocolon"}, cli.ExitUsage, "--creds"},
		{"bad --semver", []string{"list", "oci://" + reg.Host() + "/x", "--semver", ">=1.0.0 <<"}, cli.ExitUsage, "invalid semver range"},
		{"missing repository: list", []string{"list", "oci://" + reg.Host() + "/no/such/repo"}, cli.ExitNotFound, "no/such/repo"},
		{"missing repository: pull", []string{"pull", "oci://" + reg.Host() + "/no/such/repo:v1", "--out", filepath.Join(t.TempDir(), "o")}, cli.ExitNotFound, "no/such/repo"},
		{"missing repository: inspect", []string{"inspect", "oci://" + reg.Host() + "/no/such/repo:v1"}, cli.ExitNotFound, "no/such/repo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, map[string]string{"HOME": t.TempDir()}, tc.args...)
			if r.code != tc.code || !strings.Contains(r.err, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", r.code, r.err, tc.code, tc.want)
			}
			if strings.Contains(r.err, "map[") { // a registry's error details, as Go prints them
				t.Fatalf("raw Go values in the message: %q", r.err)
			}
		})
	}
}

// symlinkTree is a tree with a symbolic link in it.
func symlinkTree(t *testing.T) string {
	dir := writeTree(t, map[string]string{"a.yaml": cm})
	if err := os.Symlink("a.yaml", filepath.Join(dir, "b.yaml")); err != nil {
		t.Skip(err)
	}
	return dir
}

// -o is the output format everywhere (text, json or yaml); build, pull and render take
// the file or directory with --out, and the old -o PATH still works with a warning.
func TestOutputFlag(t *testing.T) {
	src := writeTree(t, map[string]string{"cm.yaml": cm})
	dir := t.TempDir()
	r := run(t, nil, "build", src, "--out", filepath.Join(dir, "a.tgz"), "-o", "yaml")
	if r.code != 0 || !strings.Contains(r.out, "digest: sha256:") || strings.Contains(r.err, "Warning") {
		t.Fatalf("build --out -o yaml: %+v", r)
	}
	r = run(t, nil, "build", src, "-o", filepath.Join(dir, "b.tgz"))
	if b, err := os.ReadFile(filepath.Join(dir, "b.tgz")); r.code != 0 || err != nil || len(b) == 0 || !strings.Contains(r.err, "Warning: -o PATH is deprecated: use --out") {
		t.Fatalf("build -o PATH: %+v", r)
	}
	r = run(t, nil, "build", src, "--out", filepath.Join(dir, "c.tgz"), "--json")
	if r.code != 0 || !strings.HasPrefix(r.out, "{") || !strings.Contains(r.err, "--json is deprecated") {
		t.Fatalf("build --json: %+v", r)
	}
	r = run(t, nil, "build", src, "--out", filepath.Join(dir, "d.tgz"), "-o", filepath.Join(dir, "e.tgz"))
	if r.code != cli.ExitUsage {
		t.Fatalf("build with --out and -o PATH: %+v", r)
	}
	// --path as push takes it; the same digest as the argument gives.
	first := run(t, nil, "build", src, "--out", filepath.Join(dir, "f.tgz"))
	r = run(t, nil, "build", "--path", src, "--out", filepath.Join(dir, "g.tgz"))
	if r.code != 0 || r.out != first.out || first.out == "" {
		t.Fatalf("build --path: %+v, argument: %+v", r, first)
	}
	if r = run(t, nil, "build", src, "--path", src+"/", "--out", filepath.Join(dir, "g2.tgz")); r.code != 0 {
		t.Fatalf("build DIR --path DIR/: %+v", r)
	}
	if r = run(t, nil, "build", "--out", filepath.Join(dir, "h.tgz")); r.code != cli.ExitUsage || !strings.Contains(r.err, "build DIR, or --path DIR") {
		t.Fatalf("build without a directory: %+v", r)
	}
	if r = run(t, nil, "build", src, "--path", dir, "--out", filepath.Join(dir, "i.tgz")); r.code != cli.ExitUsage || !strings.Contains(r.err, "two directories") {
		t.Fatalf("build with two directories: %+v", r)
	}
	out := filepath.Join(dir, "rendered")
	r = run(t, nil, "render", src, "--out", out, "-o", "json")
	var res render.Result
	if r.code != 0 || json.Unmarshal([]byte(r.out), &res) != nil || res.Out != out || res.Objects != 1 {
		t.Fatalf("render --out -o json: %+v", r)
	}
	r = run(t, nil, "render", src, "-o", out)
	if r.code != 0 || strings.TrimSpace(r.out) != out || !strings.Contains(r.err, "use --out") {
		t.Fatalf("render -o DIR: %+v", r)
	}
	reg := registry.NewT(t, registry.Options{})
	url := "oci://" + reg.Host() + "/o/app:v1.0.0"
	if r := run(t, nil, "push", url, "--path", src, "--created", "1", "-o", "yaml"); r.code != 0 || !strings.Contains(r.out, "digest: sha256:") || !strings.Contains(r.out, "\ntags:\n- v1.0.0\n") {
		t.Fatalf("push -o yaml: %+v", r)
	}
	if r := run(t, nil, "pull", url, "--out", filepath.Join(dir, "pulled"), "-o", "json"); r.code != 0 || !strings.Contains(r.out, `"files"`) {
		t.Fatalf("pull --out -o json: %+v", r)
	}
	if r := run(t, nil, "list", "oci://"+reg.Host()+"/o/app", "-o", "table"); r.code != cli.ExitUsage || !strings.Contains(r.err, "want text, json or yaml") {
		t.Fatalf("list -o table: %+v", r)
	}
}

// docs/cli.md: an unknown command is a usage error.
func TestUnknownCommand(t *testing.T) {
	if r := run(t, nil, "psuh"); r.code != cli.ExitUsage || !strings.Contains(r.err, `did you mean "push"?`) {
		t.Fatalf("%+v", r)
	}
	if r := run(t, nil, "key", "nope"); r.code != cli.ExitUsage {
		t.Fatalf("%+v", r)
	}
}

// What an artifact says of itself is printed one line per field: an annotation with a
// newline (anyone who could push chose it) is quoted, not a line of its own in a CI log.
func TestInspectQuotesControlCharacters(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	url := "oci://" + reg.Host() + "/x:v1"
	if r := run(t, nil, "push", url, "--path", writeTree(t, map[string]string{"a.yaml": cm}), "--annotation", "note=a\n::error::injected"); r.code != 0 {
		t.Fatalf("push: %+v", r)
	}
	r := run(t, nil, "inspect", url)
	if r.code != 0 || strings.Contains(r.out, "\n::error::") || !strings.Contains(r.out, `"a\n::error::injected"`) {
		t.Fatalf("inspect: %+v", r)
	}
}

// A re-run of an old pipeline, or a hotfix of an older line, does not move latest back:
// its own tag is pushed, latest stays, and the push says so and how to move it.
func TestPushDoesNotMoveLatestBack(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	repo := "oci://" + reg.Host() + "/app"
	push := func(tag, value, created string, extra ...string) result {
		return run(t, nil, append([]string{"push", repo + ":" + tag, "--path", writeTree(t, map[string]string{"a.yaml": strings.Replace(cm, "name: x", "name: "+value, 1)}),
			"--created", created, "--tag", "latest"}, extra...)...)
	}
	if r := push("2222222", "new", "2026-02-01T00:00:00Z"); r.code != 0 {
		t.Fatalf("%+v", r)
	}
	r := push("1111111", "old", "2026-01-01T00:00:00Z")
	if r.code != 0 || !strings.Contains(r.err, "latest: kept: it names sha256:") || !strings.Contains(r.err, "--allow-rollback") || !strings.Contains(r.err, "1111111: new") {
		t.Fatalf("the old pipeline: %+v", r)
	}
	// The JSON says so where the actions read it: kept, in tagUpdates, at six spaces.
	if r := push("1111111", "old", "2026-01-01T00:00:00Z", "-o", "json"); r.code != 0 || !strings.Contains(r.out, "\n      \"kept\": \"it names sha256:") {
		t.Fatalf("-o json: %+v", r)
	}
	if r := push("1111111", "old", "2026-01-01T00:00:00Z", "--allow-rollback"); r.code != 0 || !strings.Contains(r.err, "latest: moved from") {
		t.Fatalf("--allow-rollback: %+v", r)
	}
}

// A file re-included with !pattern that Flux's default rules leave out is packaged, with
// a warning that a Flux OCIRepository builds without it.
func TestWarnsOfWhatFluxLeavesOut(t *testing.T) {
	src := writeTree(t, map[string]string{"cm.yaml": cm, "logo.png": "PNG", ".gitlessignore": "!*.png\n"})
	r := run(t, nil, "build", src, "--out", filepath.Join(t.TempDir(), "a.tgz"))
	if r.code != 0 || !strings.Contains(r.err, "Warning: Flux's source-controller leaves out 1 file(s) of this artifact") || !strings.Contains(r.err, "logo.png") {
		t.Fatalf("%+v", r)
	}
	plain := writeTree(t, map[string]string{"cm.yaml": cm})
	if r := run(t, nil, "build", plain, "--out", filepath.Join(t.TempDir(), "b.tgz")); r.code != 0 || strings.Contains(r.err, "Warning") {
		t.Fatalf("%+v", r)
	}
}

// build --out onto something that is no regular file (/dev/null, a FIFO) writes into it:
// the atomic rename replaced /dev/null with a regular file for the whole machine.
func TestBuildOutToAFIFOWritesIntoIt(t *testing.T) {
	src := writeTree(t, map[string]string{"cm.yaml": cm})
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip(err)
	}
	got := make(chan int, 1)
	go func() {
		b, _ := os.ReadFile(fifo)
		got <- len(b)
	}()
	r := run(t, nil, "build", src, "--out", fifo)
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: %v %v", fi.Mode(), err)
	}
	select {
	case n := <-got:
		if n == 0 {
			t.Fatal("nothing written into the FIFO")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing written into the FIFO")
	}
}
