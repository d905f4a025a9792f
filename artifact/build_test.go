package artifact_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/testenv/fstree"
	"github.com/gitless-dev/gitless/manifest"
)

// writeTree writes files (slash paths → content) under a new temp dir.
func writeTree(t *testing.T, files map[string]string) string { return fstree.Write(t, files) }

func build(t *testing.T, dir string, opts artifact.BuildOptions) *artifact.Layer {
	t.Helper()
	l, err := artifact.Build(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Build(%s): %v", dir, err)
	}
	return l
}

func paths(fs []artifact.File) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Path)
	}
	return strings.Join(s, ",")
}

const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"

// cmNamed is a ConfigMap called name: trees of several files need distinct objects,
// since the check refuses duplicates.
func cmNamed(name string) string { return strings.Replace(cm, "name: x", "name: "+name, 1) }

// copyTree copies src to a new dir, in the given file order, with the given mode and
// mtime, so that only incidental properties differ between copies.
func copyTree(t *testing.T, src string, reverse bool, perm os.FileMode, mtime time.Time) string {
	t.Helper()
	dst := t.TempDir()
	var files []string
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if reverse {
		for i, j := 0, len(files)-1; i < j; i, j = i+1, j-1 {
			files[i], files[j] = files[j], files[i]
		}
	}
	for _, p := range files {
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dst, rel)
		os.MkdirAll(filepath.Dir(out), 0o700)
		if err := os.WriteFile(out, b, perm); err != nil {
			t.Fatal(err)
		}
		os.Chmod(out, perm)
		os.Chtimes(out, mtime, mtime)
	}
	return dst
}

func TestBuildIsReproducible(t *testing.T) {
	src := "testdata/podinfo"
	want := build(t, src, artifact.BuildOptions{})
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, tc := range []struct {
		name    string
		reverse bool
		perm    os.FileMode
		mtime   time.Time
	}{
		{"other mtimes", false, 0o644, time.Now()},
		{"other creation order and umask", true, 0o600, time.Unix(1, 0)},
		{"group-writable", false, 0o664, time.Date(2001, 2, 3, 4, 5, 6, 7, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTree(t, src, tc.reverse, tc.perm, tc.mtime)
			os.MkdirAll(filepath.Join(dir, "empty", "dirs"), 0o755) // empty dirs do not count
			got := build(t, dir, artifact.BuildOptions{})
			if got.Descriptor.Digest != want.Descriptor.Digest || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("digest %s, want %s", got.Descriptor.Digest, want.Descriptor.Digest)
			}
		})
	}
}

// The golden digests pin the format: a change here is a change of every digest users
// have, and must be deliberate (and noted in docs/artifact-format.md).
func TestBuildGoldenDigest(t *testing.T) {
	l := build(t, "testdata/podinfo", artifact.BuildOptions{})
	const wantLayer = "sha256:cdf8c24683de1ecabfe80229205836fef86721da9c1d8f3d47492f514a485fa6"
	if got := l.Descriptor.Digest.String(); got != wantLayer {
		t.Errorf("layer digest %s, want %s", got, wantLayer)
	}
	if got := paths(l.Files); got != "LICENSE,deployment.yaml,hpa.yaml,kustomization.yaml,service.yaml" {
		t.Errorf("files %s", got)
	}
	m, err := artifact.NewManifest(l.Descriptor, artifact.Metadata{
		Source:   "https://github.com/stefanprodan/podinfo",
		Revision: "master@sha1:eec06d1e0000000000000000000000000000000",
		Created:  time.Date(2026, 7, 22, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	const wantManifest = "sha256:96bf86c40eb8e1b9622df46bc3e8afc82ac273aad6c882e6d834b6f5fbe92d87"
	if got := m.Descriptor.Digest.String(); got != wantManifest {
		t.Errorf("manifest digest %s, want %s\n%s", got, wantManifest, m.Bytes)
	}
}

func TestBuildArchiveHeaders(t *testing.T) {
	dir := writeTree(t, map[string]string{"b/x.yaml": cm, "a.yaml": cmNamed("a"), "run.sh": "#!/bin/sh\n"})
	os.Chmod(filepath.Join(dir, "run.sh"), 0o700)
	os.Chmod(filepath.Join(dir, "a.yaml"), 0o600)
	l := build(t, dir, artifact.BuildOptions{})
	gz, err := gzip.NewReader(bytes.NewReader(l.Data))
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() || gz.Comment != "" {
		t.Errorf("gzip header carries name %q / time %v / comment %q", gz.Name, gz.ModTime, gz.Comment)
	}
	tr := tar.NewReader(gz)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.ModTime.Unix() != 0 || h.Typeflag != tar.TypeReg {
			t.Errorf("%s: header %+v", h.Name, h)
		}
		wantMode := int64(0o644)
		if h.Name == "run.sh" {
			wantMode = 0o755
		}
		if h.Mode != wantMode {
			t.Errorf("%s: mode %o, want %o", h.Name, h.Mode, wantMode)
		}
	}
	if got := strings.Join(names, ","); got != "a.yaml,b/x.yaml,run.sh" {
		t.Errorf("entries %s", got)
	}
}

func TestBuildIgnoreRules(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"app.yaml":                cm,
		".git/config":             "[core]",
		".github/workflows/a.yml": "on: push",
		"logo.png":                "png",
		"bundle.tar.gz":           "tgz",
		"keep.png":                "png",
		"notes/todo.md":           "x",
		"sub/drop.yaml":           cmNamed("drop"),
		"sub/keep.yaml":           cmNamed("keep"),
		"sub/.gitlessignore":      "drop.yaml\n",
		".gitlessignore":          "# comment\nnotes/\n!keep.png\n",
		"secret.env":              "A=1",
		// Flux's .sourceignore, as a repository set up for Flux has it.
		"tests/values.yaml":   "replicas: 1\n",
		"tests/.sourceignore": "values.yaml\n",
		"ci/.sourceignore":    "*\n",
		"ci/job.yaml":         cmNamed("ci"),
	})
	l := build(t, dir, artifact.BuildOptions{Ignore: []string{"*.env"}})
	if got, want := paths(l.Files), "app.yaml,keep.png,sub/keep.yaml"; got != want {
		t.Fatalf("files %s, want %s", got, want)
	}
}

func TestBuildSymlinks(t *testing.T) {
	dir := writeTree(t, map[string]string{"real/a.yaml": cm})
	outside := writeTree(t, map[string]string{"x.yaml": cm})
	os.Symlink("real/a.yaml", filepath.Join(dir, "link.yaml"))
	os.Symlink("real", filepath.Join(dir, "linkdir"))

	_, err := artifact.Build(context.Background(), dir, artifact.BuildOptions{})
	var fe *artifact.FileError
	if !errors.As(err, &fe) || fe.Path != "link.yaml" || !errors.Is(err, artifact.ErrSymlink) {
		t.Fatalf("want an ErrSymlink naming link.yaml, got %v", err)
	}
	// The links make one ConfigMap three files: a duplicate the YAML check refuses,
	// which is not what this test is about.
	l := build(t, dir, artifact.BuildOptions{ResolveSymlinks: true, SkipYAMLCheck: true})
	if got, want := paths(l.Files), "link.yaml,linkdir/a.yaml,real/a.yaml"; got != want {
		t.Fatalf("files %s, want %s", got, want)
	}

	os.Symlink(filepath.Join(outside, "x.yaml"), filepath.Join(dir, "escape.yaml"))
	_, err = artifact.Build(context.Background(), dir, artifact.BuildOptions{ResolveSymlinks: true})
	if !errors.As(err, &fe) || fe.Path != "escape.yaml" || !strings.Contains(err.Error(), "outside the source directory") {
		t.Fatalf("want an escape error for escape.yaml, got %v", err)
	}
	os.Remove(filepath.Join(dir, "escape.yaml"))
	os.Symlink("..", filepath.Join(dir, "real", "up"))
	_, err = artifact.Build(context.Background(), dir, artifact.BuildOptions{ResolveSymlinks: true})
	if err == nil {
		t.Fatal("a link to the parent of the root must be refused")
	}
	os.Remove(filepath.Join(dir, "real", "up"))
	os.Symlink(".", filepath.Join(dir, "real", "self"))
	_, err = artifact.Build(context.Background(), dir, artifact.BuildOptions{ResolveSymlinks: true})
	if err == nil || !strings.Contains(err.Error(), "loop") {
		t.Fatalf("want a loop error, got %v", err)
	}
}

func TestBuildBadInput(t *testing.T) {
	ctx := context.Background()
	t.Run("missing dir", func(t *testing.T) {
		_, err := artifact.Build(ctx, filepath.Join(t.TempDir(), "nope"), artifact.BuildOptions{})
		if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "nope") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("empty dir", func(t *testing.T) {
		dir := writeTree(t, map[string]string{".git/HEAD": "ref"})
		_, err := artifact.Build(ctx, dir, artifact.BuildOptions{})
		if !errors.Is(err, artifact.ErrEmptySource) {
			t.Fatalf("got %v", err)
		}
		l := build(t, dir, artifact.BuildOptions{AllowEmpty: true})
		if len(l.Files) != 0 {
			t.Fatal(l.Files)
		}
	})
	t.Run("yaml that does not parse", func(t *testing.T) {
		dir := writeTree(t, map[string]string{"ok.yaml": cm, "deploy/bad.yaml": cm + "---\nkind: x\n  bad: [\n"})
		_, err := artifact.Build(ctx, dir, artifact.BuildOptions{})
		var fe *manifest.SourceError
		if !errors.As(err, &fe) || fe.Origin.File != "deploy/bad.yaml" || fe.Origin.Line != 7 || !errors.Is(err, manifest.ErrSyntax) {
			t.Fatalf("want deploy/bad.yaml:7, got %v (%#v)", err, fe)
		}
		if !strings.Contains(err.Error(), "deploy/bad.yaml:7 (document 2): invalid YAML") {
			t.Fatalf("message: %v", err)
		}
		if _, err := artifact.Build(ctx, dir, artifact.BuildOptions{SkipYAMLCheck: true}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("over the total cap", func(t *testing.T) {
		dir := writeTree(t, map[string]string{"a.yaml": cm, "b.yaml": cmNamed("b")})
		_, err := artifact.Build(ctx, dir, artifact.BuildOptions{Limits: artifact.Limits{MaxTotalSize: int64(len(cm)) + 1}})
		var te *artifact.TotalSizeError
		if !errors.Is(err, artifact.ErrTooLarge) || !errors.As(err, &te) || te.Limit != int64(len(cm))+1 {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("over the file cap", func(t *testing.T) {
		dir := writeTree(t, map[string]string{"big.yaml": cm})
		_, err := artifact.Build(ctx, dir, artifact.BuildOptions{Limits: artifact.Limits{MaxFileSize: 10}})
		if !errors.Is(err, artifact.ErrTooLarge) || !strings.Contains(err.Error(), "big.yaml") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("over the depth and path caps", func(t *testing.T) {
		// What extraction would refuse, building refuses first.
		dir := writeTree(t, map[string]string{"a/b/c/d.yaml": cm})
		for _, l := range []artifact.Limits{{MaxDepth: 3}, {MaxPathLength: 8}} {
			_, err := artifact.Build(ctx, dir, artifact.BuildOptions{Limits: l})
			var fe *artifact.FileError
			if !errors.Is(err, artifact.ErrTooLarge) || !errors.As(err, &fe) || fe.Path != "a/b/c/d.yaml" {
				t.Fatalf("%+v: got %v", l, err)
			}
		}
		if _, err := artifact.Build(ctx, dir, artifact.BuildOptions{Limits: artifact.Limits{MaxDepth: 4, MaxPathLength: 12}}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("negative caps", func(t *testing.T) {
		dir := writeTree(t, map[string]string{"a.yaml": cm})
		if _, err := artifact.Build(ctx, dir, artifact.BuildOptions{Limits: artifact.Limits{MaxTotalSize: -1}}); err == nil {
			t.Fatal("a negative cap must be refused, not mean unlimited")
		}
	})
	t.Run("fifo", func(t *testing.T) {
		dir := writeTree(t, map[string]string{"a.yaml": cm})
		if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
			t.Skip(err)
		}
		_, err := artifact.Build(ctx, dir, artifact.BuildOptions{})
		if err == nil || !strings.Contains(err.Error(), "pipe: is a named pipe") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestBuildFromFilesMatchesBuild(t *testing.T) {
	files := map[string]string{"a.yaml": cm, "d/b.yaml": cmNamed("b")}
	l1 := build(t, writeTree(t, files), artifact.BuildOptions{})
	m := map[string][]byte{}
	for k, v := range files {
		m[k] = []byte(v)
	}
	l2, err := artifact.BuildFromFiles(m)
	if err != nil {
		t.Fatal(err)
	}
	if l1.Descriptor.Digest != l2.Descriptor.Digest {
		t.Fatalf("%s != %s", l1.Descriptor.Digest, l2.Descriptor.Digest)
	}
}

// BenchmarkBuild packages the podinfo fixture; bench/push.sh measures the whole push of a
// 1,000-object tree against flux.
func BenchmarkBuild(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts artifact.BuildOptions
	}{{"checked", artifact.BuildOptions{}}, {"skip-yaml-check", artifact.BuildOptions{SkipYAMLCheck: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := artifact.Build(ctx, "testdata/podinfo", tc.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A name outside ASCII (a configMapGenerator's café.yaml) is packaged, the same bytes
// at every build, and extracted under its name; before, a short one failed to encode.
func TestBuildNonASCIINames(t *testing.T) {
	files := map[string]string{"café.yaml": cmNamed("cafe"), "naïve/x.yaml": cm}
	l := build(t, writeTree(t, files), artifact.BuildOptions{})
	if again := build(t, writeTree(t, files), artifact.BuildOptions{}); again.Descriptor.Digest != l.Descriptor.Digest {
		t.Fatalf("two builds: %s and %s", l.Descriptor.Digest, again.Descriptor.Digest)
	}
	out := t.TempDir()
	got, err := artifact.Extract(context.Background(), bytes.NewReader(l.Data), out, artifact.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range got {
		names = append(names, f.Path)
	}
	if strings.Join(names, ",") != "café.yaml,naïve/x.yaml" {
		t.Fatalf("extracted %v", names)
	}
	if b, err := os.ReadFile(filepath.Join(out, "café.yaml")); err != nil || string(b) != cmNamed("cafe") {
		t.Fatalf("café.yaml: %q %v", b, err)
	}
}

// A tree's ignore file cannot re-include the checkout's VCS directory: .git/config holds
// the CI's token (actions/checkout's extraheader, GitLab's clone URL).
func TestVCSDirectoryIsNeverPackaged(t *testing.T) {
	for _, rules := range []string{"!.git/\n!.git/**\n", "!.git\n!.git/config\n!**/.hg/**\n"} {
		dir := writeTree(t, map[string]string{
			"app.yaml":       cm,
			".git/config":    "[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic c2VjcmV0\n",
			".git/HEAD":      "ref: refs/heads/main\n",
			"sub/.hg/hgrc":   "[auth]\n",
			".gitlessignore": rules,
		})
		l := build(t, dir, artifact.BuildOptions{})
		for _, f := range l.Files {
			if strings.HasPrefix(f.Path, ".git/") || strings.Contains(f.Path, "/.hg/") {
				t.Fatalf("rules %q: the artifact holds %s", rules, f.Path)
			}
		}
	}
}

// With --resolve-symlinks, a link inside the tree to its VCS directory is refused, not
// packaged under the link's name.
func TestLinkIntoTheVCSDirectoryIsRefused(t *testing.T) {
	dir := writeTree(t, map[string]string{"app.yaml": cm, ".git/config": "[http]\n\textraheader = AUTHORIZATION: basic c2VjcmV0\n"})
	if err := os.Symlink(".git/config", filepath.Join(dir, "x")); err != nil {
		t.Skip(err)
	}
	_, err := artifact.Build(context.Background(), dir, artifact.BuildOptions{ResolveSymlinks: true})
	if err == nil || !strings.Contains(err.Error(), "version control directory") {
		t.Fatalf("%v", err)
	}
}
