package artifact_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/artifact"
)

type entry struct {
	name     string
	typ      byte
	body     string
	size     int64 // when non-zero, declared size (body may be shorter)
	linkname string
	mode     int64
}

func mkTar(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		size := int64(len(e.body))
		if typ != tar.TypeReg {
			size = 0
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Size: size, Linkname: e.linkname, Mode: mode}
		if typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Typeflag: typ, PAXRecords: map[string]string{"comment": e.name}}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if size > 0 {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func extract(t *testing.T, data []byte, opts artifact.ExtractOptions) (string, []artifact.File, error) {
	t.Helper()
	dir := t.TempDir()
	files, err := artifact.Extract(context.Background(), bytes.NewReader(data), dir, opts)
	return dir, files, err
}

func TestExtractRoundTrip(t *testing.T) {
	l := build(t, "testdata/podinfo", artifact.BuildOptions{})
	dir, files, err := extract(t, l.Data, artifact.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if changes := artifact.DiffTrees(l.Files, files); len(changes) != 0 {
		t.Fatalf("round trip changed files: %+v", changes)
	}
	again := build(t, dir, artifact.BuildOptions{})
	if again.Descriptor.Digest != l.Descriptor.Digest {
		t.Fatalf("rebuilding the extracted tree gives %s, want %s", again.Descriptor.Digest, l.Descriptor.Digest)
	}
}

func TestExtractAcceptsDirectoriesAndDotSlash(t *testing.T) {
	data := mkTar(t, entry{name: "./", typ: tar.TypeDir}, entry{name: "./a/", typ: tar.TypeDir, mode: 0o700},
		entry{name: "./a/b.yaml", body: cm}, entry{name: "c.sh", body: "x", mode: 0o755}, entry{name: "empty/", typ: tar.TypeDir})
	dir, files, err := extract(t, data, artifact.ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if paths(files) != "a/b.yaml,c.sh" {
		t.Fatal(paths(files))
	}
	if fi, _ := os.Stat(filepath.Join(dir, "c.sh")); fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// A directory entry costs no inode unless a file is below it.
	if _, err := os.Stat(filepath.Join(dir, "empty")); !os.IsNotExist(err) {
		t.Fatalf("an empty directory was created: %v", err)
	}
}

func TestExtractRefusesHostileArchives(t *testing.T) {
	big := strings.Repeat("x", 2048)
	for _, tc := range []struct {
		name    string
		entries []entry
		opts    artifact.ExtractOptions
		want    error
		path    string
	}{
		{"dot-dot", []entry{{name: "../evil.yaml", body: cm}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "../evil.yaml"},
		{"nested dot-dot", []entry{{name: "a/../../evil", body: cm}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "a/../../evil"},
		{"absolute", []entry{{name: "/etc/passwd", body: "x"}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "/etc/passwd"},
		{"backslash", []entry{{name: `a\..\..\x`, body: "x"}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, `a\..\..\x`},
		{"symlink", []entry{{name: "link", typ: tar.TypeSymlink, linkname: "/etc"}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "link"},
		{"symlink then write through it", []entry{{name: "d", typ: tar.TypeSymlink, linkname: ".."}, {name: "d/x", body: "x"}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "d"},
		{"hardlink", []entry{{name: "a", body: "x"}, {name: "b", typ: tar.TypeLink, linkname: "a"}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "b"},
		{"char device", []entry{{name: "null", typ: tar.TypeChar}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "null"},
		{"fifo", []entry{{name: "p", typ: tar.TypeFifo}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "p"},
		{"duplicate", []entry{{name: "a.yaml", body: "1"}, {name: "a.yaml", body: "2"}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "a.yaml"},
		{"file then dir", []entry{{name: "a", body: "1"}, {name: "a/b", body: "2"}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "a/b"},
		{"file then deeper", []entry{{name: "a", body: "1"}, {name: "a/b/c.yaml", body: "2"}}, artifact.ExtractOptions{}, artifact.ErrUnsafeArchive, "a/b/c.yaml"},
		{"a name longer than a file system takes", []entry{{name: "d/" + strings.Repeat("n", 256) + ".yaml", body: cm}}, artifact.ExtractOptions{}, artifact.ErrTooLarge, ""},
		{"file cap", []entry{{name: "big", body: big}}, artifact.ExtractOptions{MaxFileSize: 1024}, artifact.ErrTooLarge, "big"},
		{"total cap", []entry{{name: "a", body: big}, {name: "b", body: big}}, artifact.ExtractOptions{MaxTotalSize: 3000}, artifact.ErrTooLarge, ""},
		{"entry cap", []entry{{name: "a", body: "1"}, {name: "b", body: "2"}, {name: "c", body: "3"}}, artifact.ExtractOptions{MaxEntries: 2}, artifact.ErrTooLarge, ""},
		{"directories count as entries", []entry{{name: "a/", typ: tar.TypeDir}, {name: "b/", typ: tar.TypeDir}, {name: "c/", typ: tar.TypeDir}}, artifact.ExtractOptions{MaxEntries: 2}, artifact.ErrTooLarge, ""},
		{"global headers count as entries", []entry{{name: "g1", typ: tar.TypeXGlobalHeader}, {name: "g2", typ: tar.TypeXGlobalHeader}, {name: "a", body: "1"}}, artifact.ExtractOptions{MaxEntries: 2}, artifact.ErrTooLarge, ""},
		{"depth cap", []entry{{name: "a/b/c/d.yaml", body: cm}}, artifact.ExtractOptions{MaxDepth: 3}, artifact.ErrTooLarge, "a/b/c/d.yaml"},
		{"depth cap on a directory", []entry{{name: "a/b/c/d/", typ: tar.TypeDir}}, artifact.ExtractOptions{MaxDepth: 3}, artifact.ErrTooLarge, "a/b/c/d/"},
		{"path length cap", []entry{{name: "abcdefghijk.yaml", body: cm}}, artifact.ExtractOptions{MaxPathLength: 10}, artifact.ErrTooLarge, "abcdefghijk.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _, err := extract(t, mkTar(t, tc.entries...), tc.opts)
			if err == nil {
				t.Fatal("extracted a hostile archive")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var fe *artifact.FileError
			if tc.path != "" && (!errors.As(err, &fe) || fe.Path != tc.path) {
				t.Fatalf("error %v does not name %q", err, tc.path)
			}
			// nothing may land outside dir
			if _, err := os.Lstat(filepath.Join(filepath.Dir(dir), "evil.yaml")); err == nil {
				t.Fatal("wrote outside the extraction dir")
			}
		})
	}
}

func TestExtractDecompressionBomb(t *testing.T) {
	// 64 MiB of zeros in one file compresses to ~64 KiB; with a 1 MiB cap, extraction
	// must stop having read little more than the cap.
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	const size = 64 << 20
	tw.WriteHeader(&tar.Header{Name: "bomb", Typeflag: tar.TypeReg, Size: size, Mode: 0o644})
	io.CopyN(tw, zeroReader{}, size)
	tw.Close()
	gz.Close()
	if buf.Len() > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", buf.Len())
	}
	_, _, err := extract(t, buf.Bytes(), artifact.ExtractOptions{MaxTotalSize: 1 << 20, MaxFileSize: 128 << 20})
	if !errors.Is(err, artifact.ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
}

// An archive of extended headers holds no file, no directory and no byte of file
// content, yet decompresses to a megabyte per header: only the cap on decompressed
// bytes stops it. Without that cap this archive extracts "successfully".
func TestExtractStreamCapStopsHeaderOnlyArchives(t *testing.T) {
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(gz)
	comment := strings.Repeat("x", 900<<10)
	const headers = 64 // ~58 MiB decompressed, well under the 20,000 entry cap
	for range headers {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": comment}}); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	gz.Close()
	opts := artifact.ExtractOptions{MaxTotalSize: 1 << 20} // stream cap: 1 MiB + 20,000 × 1.5 KiB + 4 MiB ≈ 34 MiB
	_, files, err := extract(t, buf.Bytes(), opts)
	if !errors.Is(err, artifact.ErrTooLarge) || !strings.Contains(err.Error(), "decompressed archive is larger") {
		t.Fatalf("got %v (%d files), want the decompressed-size cap", err, len(files))
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestExtractRefusesNonEmptyDirAndGarbage(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if _, err := artifact.Extract(context.Background(), bytes.NewReader(mkTar(t, entry{name: "a", body: "1"})), dir, artifact.ExtractOptions{}); err == nil {
		t.Fatal("extracted into a non-empty directory")
	}
	if _, _, err := extract(t, []byte("not gzip at all"), artifact.ExtractOptions{}); !errors.Is(err, artifact.ErrUnsafeArchive) {
		t.Fatalf("got %v", err)
	}
	data := mkTar(t, entry{name: "a", body: strings.Repeat("y", 5000)})
	if _, _, err := extract(t, data[:len(data)/2], artifact.ExtractOptions{}); err == nil {
		t.Fatal("a truncated archive must fail")
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(mkTar(f, entry{name: "a.yaml", body: cm}))
	f.Add(mkTar(f, entry{name: "../x", body: "x"}))
	f.Add(mkTar(f, entry{name: "d/", typ: tar.TypeDir}, entry{name: "d/x", body: "x"}))
	f.Add(mkTar(f, entry{name: "l", typ: tar.TypeSymlink, linkname: "/"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		files, err := artifact.Extract(context.Background(), bytes.NewReader(data), dir, artifact.ExtractOptions{MaxTotalSize: 1 << 20, MaxEntries: 100})
		// Whatever happened, every path under dir is a regular file or a directory,
		// and nothing escaped (os.Root guarantees it; this checks the tree).
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() && !d.IsDir() {
				t.Fatalf("extraction created %s of type %v", p, d.Type())
			}
			return nil
		})
		if err == nil {
			for _, f := range files {
				if strings.Contains(f.Path, "..") && (strings.HasPrefix(f.Path, "../") || strings.Contains(f.Path, "/../")) {
					t.Fatalf("accepted %q", f.Path)
				}
			}
		}
	})
}

// Whatever Build accepts, Extract with the same limits accepts ("whatever gitless
// pushes it can pull"): a tree of 20,000 files whose names need PAX headers (non-ASCII),
// each with a byte past a tar block, at the size cap.
func TestWhatBuildAcceptsExtractAccepts(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 files")
	}
	const files, size = 20000, 513
	dir := t.TempDir()
	body := bytes.Repeat([]byte("x"), size)
	for i := range files {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%50))
		os.MkdirAll(sub, 0o755)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("ü-%05d.txt", i)), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lim := artifact.Limits{MaxTotalSize: files * size}
	layer, err := artifact.Build(context.Background(), dir, artifact.BuildOptions{Limits: lim, SkipYAMLCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := artifact.Extract(context.Background(), bytes.NewReader(layer.Data), t.TempDir(), lim); err != nil {
		t.Fatalf("Build accepted %d files, Extract with the same limits refuses: %v", len(layer.Files), err)
	}
}
