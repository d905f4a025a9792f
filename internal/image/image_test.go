package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gitless-dev/gitless/internal/image"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if helloDir != "" {
		os.RemoveAll(helloDir)
	}
	os.Exit(code)
}

var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var (
	helloMu  sync.Mutex
	helloDir string
)

// hello builds testdata/hello, statically, for linux/arch (once per test process).
func hello(t *testing.T, arch string) string {
	t.Helper()
	helloMu.Lock()
	defer helloMu.Unlock()
	if helloDir == "" {
		helloDir = filepath.Join(os.TempDir(), fmt.Sprintf("gitless-image-test-%d", os.Getpid()))
	}
	out := filepath.Join(helloDir, "hello-"+arch)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./testdata/hello")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building hello for %s: %v\n%s", arch, err, b)
	}
	return out
}

const ca = "-----BEGIN CERTIFICATE-----\nMIIBdummy\n-----END CERTIFICATE-----\n"

func options(t *testing.T) image.Options {
	return image.Options{
		Name: "hello",
		Platforms: []image.Platform{
			{OS: "linux", Arch: "amd64", Binary: hello(t, "amd64")},
			{OS: "linux", Arch: "arm64", Binary: hello(t, "arm64")},
		},
		CABundle: []byte(ca),
		Created:  created,
		Labels:   image.Labels("https://github.com/gitless-dev/gitless", "0123abcd", "v1.2.3", created),
	}
}

type keychain struct{ user, password string }

func (k keychain) Resolve(authn.Resource) (authn.Authenticator, error) {
	return &authn.Basic{Username: k.user, Password: k.password}, nil
}

// files reads every entry of the image's flattened filesystem.
func files(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	m := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		m[strings.TrimSuffix(h.Name, "/")] = h
	}
}

func fileData(t *testing.T, img v1.Image, name string) []byte {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the image: %v", name, err)
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}

// An index built for two platforms and pushed to a registry with basic auth comes back
// with both platforms, the non-root user, the entrypoint, the labels and the CA bundle;
// the amd64 binary pulled back runs; a rebuild gives the same digest.
func TestBuildPushPull(t *testing.T) {
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthBasic})
	kc := keychain{reg.Username, reg.Password}
	opts := options(t)
	idx, err := image.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Host() + "/gitless-dev/hello:v1.2.3"
	digest, err := image.Push(context.Background(), ref, idx, image.PushOptions{Keychain: kc, Tags: []string{"latest"}})
	if err != nil {
		t.Fatal(err)
	}

	latest, err := name.ParseReference(reg.Host() + "/gitless-dev/hello:latest")
	if err != nil {
		t.Fatal(err)
	}
	back, err := remote.Index(latest, remote.WithAuthFromKeychain(kc))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := back.Digest(); d != digest {
		t.Fatalf("latest is %s, pushed %s", d, digest)
	}
	im, err := back.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex || len(im.Manifests) != 2 || im.Annotations[image.LabelVersion] != "v1.2.3" ||
		im.Annotations[image.LabelRevision] != "0123abcd" || im.Annotations[image.LabelSource] != "https://github.com/gitless-dev/gitless" {
		t.Fatalf("index %+v", im)
	}
	for i, arch := range []string{"amd64", "arm64"} {
		d := im.Manifests[i]
		if d.Platform == nil || d.Platform.OS != "linux" || d.Platform.Architecture != arch {
			t.Fatalf("manifest %d platform %+v, want linux/%s", i, d.Platform, arch)
		}
		img, err := back.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		c := cf.Config
		if cf.Architecture != arch || c.User != "65532:65532" || len(c.Entrypoint) != 1 || c.Entrypoint[0] != "/usr/local/bin/hello" ||
			c.Labels[image.LabelVersion] != "v1.2.3" || c.Labels[image.LabelCreated] != "2026-01-02T03:04:05Z" || !cf.Created.Equal(created) {
			t.Errorf("%s config: %+v", arch, cf)
		}
		if !slicesContain(c.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
			t.Errorf("%s env %v lacks SSL_CERT_FILE", arch, c.Env)
		}
		fs := files(t, img)
		for p, want := range map[string]int64{"usr/local/bin/hello": 0o755, "etc/ssl/certs/ca-certificates.crt": 0o644, "tmp": 0o1777, "home/nonroot": 0o700} {
			h := fs[p]
			if h == nil || h.Mode != want || !h.ModTime.Equal(created) {
				t.Errorf("%s: %s: %+v, want mode %o at %s", arch, p, h, want, created)
			}
		}
		if h := fs["home/nonroot"]; h == nil || h.Uid != image.UID {
			t.Errorf("%s: /home/nonroot not owned by %d", arch, image.UID)
		}
		if got := fileData(t, img, "etc/ssl/certs/ca-certificates.crt"); string(got) != ca {
			t.Errorf("%s: CA bundle %q", arch, got)
		}
		if passwd := fileData(t, img, "etc/passwd"); !bytes.Contains(passwd, []byte("nonroot:x:65532:65532:")) {
			t.Errorf("%s: /etc/passwd %q", arch, passwd)
		}
		if arch == runtime.GOARCH {
			bin := filepath.Join(t.TempDir(), "hello")
			if err := os.WriteFile(bin, fileData(t, img, "usr/local/bin/hello"), 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin).Output()
			if err != nil || !strings.HasPrefix(string(out), "hello from linux/"+arch) {
				t.Errorf("the binary pulled back: %q %v", out, err)
			}
		}
	}

	again, err := image.Build(options(t))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := again.Digest(); d != digest {
		t.Errorf("rebuild: digest %s, first build %s", d, digest)
	}
	later := opts
	later.Created = created.Add(time.Second)
	if other, err := image.Build(later); err != nil {
		t.Fatal(err)
	} else if d, _ := other.Digest(); d == digest {
		t.Error("another creation time gave the same digest")
	}
}

func slicesContain(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Build refuses a dynamically linked binary, a binary of another architecture, no CA
// bundle and no creation time, naming the problem.
func TestBuildRefuses(t *testing.T) {
	good := options(t)
	dynamic, err := exec.LookPath("ls")
	if err != nil {
		t.Skip("no ls to use as a dynamic binary")
	}
	for name, tc := range map[string]struct {
		mutate func(*image.Options)
		want   error
		says   string
	}{
		"dynamic": {func(o *image.Options) {
			o.Platforms = []image.Platform{{OS: "linux", Arch: runtime.GOARCH, Binary: dynamic}}
		}, image.ErrNotStatic, "CGO_ENABLED=0"},
		"wrong arch": {func(o *image.Options) {
			o.Platforms = []image.Platform{{OS: "linux", Arch: "arm64", Binary: good.Platforms[0].Binary}}
		}, image.ErrNotStatic, "want linux/arm64"},
		"darwin":       {func(o *image.Options) { o.Platforms[0].OS = "darwin" }, image.ErrOptions, "images are for linux"},
		"no CA":        {func(o *image.Options) { o.CABundle = nil }, image.ErrOptions, "CA bundle"},
		"no time":      {func(o *image.Options) { o.Created = time.Time{} }, image.ErrOptions, "creation time"},
		"twice":        {func(o *image.Options) { o.Platforms[1] = o.Platforms[0] }, image.ErrOptions, "given twice"},
		"path in name": {func(o *image.Options) { o.Name = "../hello" }, image.ErrOptions, "plain file name"},
	} {
		t.Run(name, func(t *testing.T) {
			o := good
			o.Platforms = append([]image.Platform(nil), good.Platforms...)
			tc.mutate(&o)
			_, err := image.Build(o)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Build: %v, want %v saying %q", err, tc.want, tc.says)
			}
		})
	}
}

// On a base image (say one with a shell, for CI jobs), the layers go on top of the base's
// image for each platform, the base's environment is kept, and the labels name the base.
func TestBuildOnBase(t *testing.T) {
	base := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, arch := range []string{"amd64", "arm64"} {
		layer := static.NewLayer([]byte(arch), types.OCILayer) // stands for the base's filesystem
		img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{Layer: layer})
		if err != nil {
			t.Fatal(err)
		}
		img, err = mutate.Config(img, v1.Config{Env: []string{"SHELL=/bin/sh", "PATH=/bin"}})
		if err != nil {
			t.Fatal(err)
		}
		base = mutate.AppendManifests(base, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	opts := options(t)
	opts.Base, opts.BaseName = base, "example.com/busybox:1"
	idx, err := image.Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	if im.Annotations[image.LabelBaseName] != "example.com/busybox:1" {
		t.Errorf("index annotations %v", im.Annotations)
	}
	bim, _ := base.IndexManifest()
	for i, d := range im.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		layers, _ := img.Layers()
		if len(layers) != 3 {
			t.Fatalf("%d layers, want the base's and two", len(layers))
		}
		cf, _ := img.ConfigFile()
		if !slicesContain(cf.Config.Env, "SHELL=/bin/sh") || slicesContain(cf.Config.Env, "PATH=/bin") || cf.Config.Labels[image.LabelBaseDigest] != bim.Manifests[i].Digest.String() {
			t.Errorf("config %+v", cf.Config)
		}
	}
	opts.Platforms = append(opts.Platforms, image.Platform{OS: "linux", Arch: "s390x", Binary: opts.Platforms[0].Binary})
	if _, err := image.Build(opts); !errors.Is(err, image.ErrOptions) || !strings.Contains(err.Error(), "no linux/s390x image") {
		t.Errorf("a platform the base lacks: %v", err)
	}
}
