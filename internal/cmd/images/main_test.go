package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gitless-dev/gitless/internal/testenv/ci"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

const testVersion = "v0.0.0-imagetest"

// make images builds both images for linux/amd64 and linux/arm64 and pushes them to a
// registry with basic auth (credentials from the docker config), signed with SIGN_KEY.
// Pulled back: both platforms, the non-root user, labels, and the amd64 binary runs
// `version` with the stamped version and commit; cosign verifies the signatures; a rebuild
// of the same commit gives the same digests.
func TestMakeImages(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthBasic})
	dockerConfig := t.TempDir()
	cfg := `{"auths": {"` + reg.Host() + `": {"username": "` + reg.Username + `", "password": "` + reg.Password + `"}}}`
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dockerConfig)
	keys := t.TempDir()
	password := "image-signing-password"
	gen := exec.Command("go", "run", "./cmd/gitless", "key", "generate", "--output-key-prefix", filepath.Join(keys, "cosign"))
	gen.Dir, gen.Env = ci.Root(), append(os.Environ(), "COSIGN_PASSWORD="+password)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("key generate: %v\n%s", err, out)
	}

	dist := t.TempDir()
	repo := reg.Host() + "/gitless-dev"
	mk := exec.Command("make", "-s", "images", "IMAGE_REPO="+repo, "VERSION="+testVersion, "IMAGE_DIST="+dist,
		"SIGN_KEY="+filepath.Join(keys, "cosign.key"), "IMAGE_FLAGS=-tag latest")
	mk.Dir, mk.Env = ci.Root(), append(os.Environ(), "COSIGN_PASSWORD="+password)
	var stdout, stderr bytes.Buffer
	mk.Stdout, mk.Stderr = &stdout, &stderr
	if err := mk.Run(); err != nil {
		t.Fatalf("make images: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	var got []pushed
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got) != 2 {
		t.Fatalf("make images printed %q (%v), want two images", stdout.String(), err)
	}
	commit := strings.TrimSpace(gitOut(t, "rev-parse", "HEAD"))
	for _, p := range got {
		checkImage(t, p, commit)
		cosign := ci.Peer(t, "cosign")
		home := t.TempDir()
		os.MkdirAll(filepath.Join(home, ".docker"), 0o700)
		os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte(cfg), 0o600)
		verify := exec.Command(cosign, "verify", "--key", filepath.Join(keys, "cosign.pub"), "--insecure-ignore-tlog=true", p.Reference)
		verify.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "TUF_ROOT=" + filepath.Join(home, "tuf")}
		if out, err := verify.CombinedOutput(); err != nil {
			t.Errorf("cosign verify %s: %v\n%s", p.Reference, err, out)
		}
	}

	// A rebuild of the same commit, from the same binaries: the same digests.
	var again bytes.Buffer
	if err := run(context.Background(), []string{"-repo", repo, "-version", testVersion, "-dist", dist}, &again, io.Discard, os.Getenv); err != nil {
		t.Fatal(err)
	}
	var rebuilt []pushed
	if err := json.Unmarshal(again.Bytes(), &rebuilt); err != nil || len(rebuilt) != 2 {
		t.Fatalf("rebuild printed %q (%v)", again.String(), err)
	}
	for i := range got {
		if rebuilt[i].Digest != got[i].Digest {
			t.Errorf("%s: rebuild digest %s, first %s", got[i].Name, rebuilt[i].Digest, got[i].Digest)
		}
	}
}

func gitOut(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = ci.Root()
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func checkImage(t *testing.T, p pushed, commit string) {
	t.Helper()
	ref, err := name.ParseReference(p.Reference)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := name.ParseReference(ref.Context().Tag("latest").String())
	if d, err := remote.Head(latest, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil || d.Digest.String() != p.Digest {
		t.Errorf("%s:latest: %v %v, want %s", p.Name, d, err, p.Digest)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, d := range im.Manifests {
		plats = append(plats, d.Platform.OS+"/"+d.Platform.Architecture)
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.Config.User != "65532:65532" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/usr/local/bin/"+p.Name ||
			cf.Config.Labels["org.opencontainers.image.version"] != testVersion || cf.Config.Labels["org.opencontainers.image.revision"] != commit ||
			cf.Config.Labels["org.opencontainers.image.source"] != "https://github.com/gitless-dev/gitless" {
			t.Errorf("%s %s config: %+v", p.Name, d.Platform.Architecture, cf.Config)
		}
		if d.Platform.Architecture == runtime.GOARCH && runtime.GOOS == "linux" {
			runVersion(t, img, p.Name, commit)
		}
	}
	if strings.Join(plats, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("%s platforms %v", p.Name, plats)
	}
}

// runVersion extracts the binary from the image and runs `NAME version -o json`.
func runVersion(t *testing.T, img v1.Image, cmdName, commit string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no /usr/local/bin/%s in the image: %v", cmdName, err)
		}
		if h.Name != "usr/local/bin/"+cmdName {
			continue
		}
		bin := filepath.Join(t.TempDir(), cmdName)
		f, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			t.Fatal(err)
		}
		f.Close()
		out, err := exec.Command(bin, "version", "-o", "json").Output()
		var v struct{ Version, Commit string }
		if err != nil || json.Unmarshal(out, &v) != nil || v.Version != testVersion || strings.TrimSuffix(v.Commit, "-dirty") != commit {
			t.Errorf("%s version from the image: %q %v, want %s %s", cmdName, out, err, testVersion, commit)
		}
		return
	}
}
