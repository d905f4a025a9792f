package actions_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
)

// testVersion is the version the release under test is stamped with.
const testVersion = "v0.0.0-citest"

func TestMain(m *testing.M) { os.Exit(ci.Main(m)) }

// gitlessDir builds the release binaries for this machine (hack/release.sh, once per test
// process) and returns their directory, to put first on the runners' PATH.
func gitlessDir(t *testing.T) string {
	t.Helper()
	return ci.Release(t, testVersion, ci.ReleaseOptions{}).BinDir(runtime.GOOS, runtime.GOARCH)
}

// gitless runs the gitless binary of dir with args and returns stdout, stderr and the exit code.
func gitless(t *testing.T, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(dir, "gitless"), args...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin"}, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// inspected is what gitless inspect -o json says of an artifact.
type inspected struct {
	Digest   string
	Metadata struct {
		Source, Revision string
		Annotations      map[string]string
	}
}

func inspect(t *testing.T, dir, ref, creds string) (inspected, int) {
	t.Helper()
	out, errs, code := gitless(t, dir, nil, "inspect", ref, "--creds", creds, "-o", "json")
	var in inspected
	if code == 0 {
		if err := json.Unmarshal([]byte(out), &in); err != nil {
			t.Fatalf("inspect %s: %v\n%s", ref, err, out)
		}
	} else if code != 6 {
		t.Fatalf("inspect %s: exit %d: %s", ref, code, errs)
	}
	return in, code
}

// keyPair makes a cosign key pair with gitless and returns the private key's PEM, its
// password and the public key's path.
func keyPair(t *testing.T, dir string) (private, password, publicPath string) {
	t.Helper()
	keys := t.TempDir()
	password = secret(t)
	if _, errs, code := gitless(t, dir, []string{"COSIGN_PASSWORD=" + password}, "key", "generate", "--output-key-prefix", filepath.Join(keys, "cosign")); code != 0 {
		t.Fatalf("key generate: %d %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(keys, "cosign.key"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), password, filepath.Join(keys, "cosign.pub")
}

// cosignVerify verifies ref's signature with the stock cosign CLI (v3) and the public key.
func cosignVerify(t *testing.T, ref, host, user, password, pub string) {
	t.Helper()
	cosign := ci.Peer(t, "cosign")
	home := t.TempDir()
	cfg := `{"auths": {"` + host + `": {"username": "` + user + `", "password": "` + password + `"}}}`
	if err := os.MkdirAll(filepath.Join(home, ".docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cosign, "verify", "--key", pub, "--insecure-ignore-tlog=true", strings.TrimPrefix(ref, "oci://"))
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "TUF_ROOT=" + filepath.Join(home, "tuf")}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign verify %s: %v\n%s", ref, err, out)
	}
}

func secret(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "s" + hex.EncodeToString(b)
}

// readKV reads KEY=VALUE lines.
func readKV(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("the workflow wrote no outputs: %v", err)
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// files reads the files of a directory of this repository into a map keyed by prefix/name.
func files(t *testing.T, dir, prefix string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		m[filepath.ToSlash(filepath.Join(prefix, rel))] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jobLog is the part of an act log printed by one job ([workflow/job] prefixed lines).
func jobLog(log, workflow, job string) string {
	var b strings.Builder
	for _, line := range strings.Split(log, "\n") {
		if rest, ok := strings.CutPrefix(line, "["+workflow+"/"+job); ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "]")) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
