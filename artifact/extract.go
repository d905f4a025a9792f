package artifact

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// ExtractOptions caps what [Extract] accepts: the same [Limits] as building, so that
// what gitless builds it can also extract.
type ExtractOptions = Limits

// maxStreamSize bounds the decompressed bytes read: file content plus what is not:
// tar headers (512 bytes each; a PAX record adds one more header plus its data, which
// Go's reader caps at 1 MiB), directory entries and padding. It is what stops an
// archive of extended headers, which carry no file content. Per entry it allows what
// Build writes for a file whose name needs PAX (non-ASCII, or over 100 bytes): the PAX
// header and its records, the header, and up to 511 bytes of padding, four blocks;
// with three, 20,000 such files that Build accepted were refused here.
func (o Limits) maxStreamSize() int64 {
	return o.MaxTotalSize + int64(o.MaxEntries)*4*512 + 4<<20
}

// Extract reads a tar+gzip stream and writes its regular files under dir, which must
// exist and be empty: callers extract into a fresh temporary directory and move it into
// place only when everything, including the digest of the stream, checked out.
//
// It refuses, with ErrUnsafeArchive and the entry's name: absolute paths, ".."
// components, backslashes or NUL in names, symbolic and hard links, devices, FIFOs and
// other special entries, and a name that appears twice. It stops with ErrTooLarge at
// the caps, counting decompressed bytes, so a decompression bomb costs at most the cap;
// every entry, of any type, counts against MaxEntries, and a path deeper than MaxDepth
// or longer than MaxPathLength is refused before it is used.
// Directory entries are accepted, but a directory is made only where a file is below
// it (empty directories are dropped, as Build drops them); file modes are 0644, or
// 0755 when the entry's owner-execute bit is set. All writes go through an [os.Root]
// on dir.
func Extract(ctx context.Context, r io.Reader, dir string, opts ExtractOptions) ([]File, error) {
	opts, err := opts.WithDefaults()
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening extraction directory: %w", err)
	}
	defer root.Close()
	if des, err := fs.ReadDir(root.FS(), "."); err != nil {
		return nil, fmt.Errorf("reading extraction directory: %w", err)
	} else if len(des) > 0 {
		return nil, fmt.Errorf("extraction directory %s is not empty", dir)
	}

	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: layer is not gzip: %v", ErrUnsafeArchive, err)
	}
	defer gz.Close()
	limited := &capReader{r: gz, left: opts.maxStreamSize()}
	tr := tar.NewReader(limited)

	var (
		files   []File
		total   int64
		entries int
		seen    = map[string]bool{}
		dirs    = map[string]bool{}
		written = map[string]bool{} // the files written, which no entry may be under
	)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if limited.hit {
				return nil, fmt.Errorf("%w: the decompressed archive is larger than %d bytes", ErrTooLarge, opts.maxStreamSize())
			}
			return nil, fmt.Errorf("%w: reading archive: %v", ErrUnsafeArchive, err)
		}
		if entries++; entries > opts.MaxEntries {
			return nil, fmt.Errorf("%w: more than %d entries (files, directories, links and headers all count)", ErrTooLarge, opts.MaxEntries)
		}
		if hdr.Typeflag == tar.TypeXGlobalHeader {
			continue
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		isDir := hdr.Typeflag == tar.TypeDir
		if isDir {
			name = strings.TrimSuffix(name, "/")
			if name == "" || name == "." {
				continue // the root itself
			}
		}
		if err := opts.checkPath(name); err != nil {
			return nil, &FileError{Path: shorten(hdr.Name), Err: err}
		}
		if err := checkArchivePath(name); err != nil {
			return nil, &FileError{Path: hdr.Name, Err: fmt.Errorf("%w: %v", ErrUnsafeArchive, err)}
		}
		if seen[name] {
			return nil, &FileError{Path: name, Err: fmt.Errorf("%w: appears twice", ErrUnsafeArchive)}
		}
		seen[name] = true

		switch hdr.Typeflag {
		case tar.TypeDir:
			// Not created: a directory exists where a file is below it, as in what
			// Build makes (empty directories are not packaged). An archive of empty
			// directories costs parsing, not inodes.
		case tar.TypeReg, tar.TypeRegA: //nolint:staticcheck // TypeRegA is how old tars mark files
			if hdr.Size > opts.MaxFileSize {
				return nil, &FileError{Path: name, Err: fmt.Errorf("%w: %d bytes, the cap per file is %d", ErrTooLarge, hdr.Size, opts.MaxFileSize)}
			}
			if total += hdr.Size; total > opts.MaxTotalSize {
				return nil, &TotalSizeError{Limit: opts.MaxTotalSize}
			}
			f, err := writeFile(root, name, hdr, tr, dirs, written)
			if err != nil {
				if limited.hit {
					return nil, fmt.Errorf("%w: the decompressed archive is larger than %d bytes", ErrTooLarge, opts.maxStreamSize())
				}
				return nil, &FileError{Path: name, Err: err}
			}
			files = append(files, f)
		default:
			return nil, &FileError{Path: name, Err: fmt.Errorf("%w: %s entries are not allowed", ErrUnsafeArchive, tarTypeName(hdr.Typeflag))}
		}
	}
	// Read to the end of the gzip stream so a caller's digest check sees every byte.
	if _, err := io.Copy(io.Discard, limited); err != nil {
		return nil, fmt.Errorf("%w: reading the end of the archive: %v", ErrUnsafeArchive, err)
	}
	return files, nil
}

func mkdirs(root *os.Root, dir string, made map[string]bool) error {
	if dir == "." || made[dir] {
		return nil
	}
	if err := root.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating directory: %w", err)
	}
	for d := dir; d != "." && !made[d]; d = path.Dir(d) {
		made[d] = true
	}
	return nil
}

func writeFile(root *os.Root, name string, hdr *tar.Header, r io.Reader, dirs, written map[string]bool) (File, error) {
	if dirs[name] {
		return File{}, fmt.Errorf("%w: a directory of that name exists", ErrUnsafeArchive)
	}
	// Refused here, as the archive's doing, rather than left to the file system's
	// "file exists" (which a caller could not tell from a fault of its own).
	for d := path.Dir(name); d != "."; d = path.Dir(d) {
		if written[d] {
			return File{}, fmt.Errorf("%w: %s is a file, not a directory", ErrUnsafeArchive, d)
		}
	}
	if err := mkdirs(root, path.Dir(name), dirs); err != nil {
		return File{}, err
	}
	mode := fs.FileMode(0o644)
	if hdr.Mode&0o100 != 0 {
		mode = 0o755
	}
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return File{}, fmt.Errorf("creating file: %w", err)
	}
	h := newDigester()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, hdr.Size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return File{}, fmt.Errorf("writing file: %w", err)
	}
	if n != hdr.Size {
		return File{}, fmt.Errorf("%w: truncated: %d of %d bytes", ErrUnsafeArchive, n, hdr.Size)
	}
	written[name] = true
	return File{Path: name, Size: n, Mode: mode, Digest: h.Digest()}, nil
}

// capReader fails once more than left bytes were read.
type capReader struct {
	r    io.Reader
	left int64
	hit  bool
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.hit = true
		return 0, fmt.Errorf("%w: decompressed size cap reached", ErrTooLarge)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func tarTypeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	default:
		return fmt.Sprintf("type %q", t)
	}
}

// shorten keeps an error's path readable when the path is what was refused for its
// length.
func shorten(p string) string {
	const max = 256
	if len(p) <= max {
		return p
	}
	return p[:max] + "..."
}
