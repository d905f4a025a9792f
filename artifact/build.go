package artifact

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/gitless-dev/gitless/manifest"
)

// IgnoreFileName is the name of the per-directory ignore file (gitignore syntax;
// manifest.IgnoreFileName).
const IgnoreFileName = manifest.IgnoreFileName

// Defaults shared by building and extracting, so that whatever gitless builds, it can
// also pull back.
const (
	DefaultMaxTotalSize  = 100 << 20 // bytes of file content in one artifact
	DefaultMaxFileSize   = 32 << 20  // bytes in one file
	DefaultMaxEntries    = 20000     // archive entries: files, directories, links, headers
	DefaultMaxDepth      = 32        // path components of one entry ("a/b/c" is 3)
	DefaultMaxPathLength = 1024      // bytes in one entry's path
)

// GzipLevel is the fixed compression level of the layer: changing it changes every
// digest, so it is part of the format.
const GzipLevel = gzip.DefaultCompression

// Limits caps an artifact's tree. The same caps apply when building and when
// extracting, so that whatever gitless builds it can also pull back. A zero field means
// the default; a negative one is an error: caps are never switched off.
//
// MaxEntries counts every entry of an archive, whatever its type: files, directories,
// links and extended headers (gitless writes only files; Flux's writer adds a
// directory entry per directory). Each entry costs an inode or a header to parse, so
// an archive of empty directories is bounded like one of files.
type Limits struct {
	MaxTotalSize  int64 `json:"maxTotalSize,omitempty"`  // bytes of file content
	MaxFileSize   int64 `json:"maxFileSize,omitempty"`   // bytes in one file
	MaxEntries    int   `json:"maxEntries,omitempty"`    // entries of any type
	MaxDepth      int   `json:"maxDepth,omitempty"`      // path components of one entry
	MaxPathLength int   `json:"maxPathLength,omitempty"` // bytes in one entry's path
}

// DefaultLimits returns the caps used for zero fields.
func DefaultLimits() Limits {
	return Limits{MaxTotalSize: DefaultMaxTotalSize, MaxFileSize: DefaultMaxFileSize, MaxEntries: DefaultMaxEntries,
		MaxDepth: DefaultMaxDepth, MaxPathLength: DefaultMaxPathLength}
}

// WithDefaults returns l with zero fields set to the defaults, or an error for a
// negative field.
func (l Limits) WithDefaults() (Limits, error) {
	if l.MaxTotalSize < 0 || l.MaxFileSize < 0 || l.MaxEntries < 0 || l.MaxDepth < 0 || l.MaxPathLength < 0 {
		return l, errors.New("size caps must not be negative")
	}
	d := DefaultLimits()
	if l.MaxTotalSize == 0 {
		l.MaxTotalSize = d.MaxTotalSize
	}
	if l.MaxFileSize == 0 {
		l.MaxFileSize = d.MaxFileSize
	}
	if l.MaxEntries == 0 {
		l.MaxEntries = d.MaxEntries
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxPathLength == 0 {
		l.MaxPathLength = d.MaxPathLength
	}
	return l, nil
}

// checkPath refuses a path over the depth or length cap, before anything is done with
// it (each component costs a lookup on every file created below it).
func (l Limits) checkPath(name string) error {
	if len(name) > l.MaxPathLength {
		return fmt.Errorf("%w: the path is %d bytes, the cap is %d", ErrTooLarge, len(name), l.MaxPathLength)
	}
	if d := strings.Count(name, "/") + 1; d > l.MaxDepth {
		return fmt.Errorf("%w: the path is %d directories deep, the cap is %d", ErrTooLarge, d, l.MaxDepth)
	}
	for c := range strings.SplitSeq(name, "/") {
		if len(c) > MaxNameLength {
			return fmt.Errorf("%w: a name in the path is %d bytes, the cap is %d (what file systems allow)", ErrTooLarge, len(c), MaxNameLength)
		}
	}
	return nil
}

// MaxNameLength caps each name in a path, file or directory: 255 bytes, what Linux file
// systems allow, so that an artifact that could be built can be extracted.
const MaxNameLength = 255

// BuildOptions configures [Build].
type BuildOptions struct {
	// Ignore holds extra gitignore-syntax patterns, relative to the source root. They
	// add to the default patterns (VCS files, CI configs, archives and images, as
	// Flux's sourceignore defines them) and to the .gitlessignore files in the tree; a
	// "!pattern" re-includes what a default excludes.
	Ignore []string
	// ResolveSymlinks follows symbolic links whose target stays inside the source
	// root, packaging the target's content under the link's path. Without it a link is
	// an error. A link out of the root is an error either way.
	ResolveSymlinks bool
	// AllowEmpty packages a tree with no files instead of failing with ErrEmptySource.
	AllowEmpty bool
	// Limits cap the tree; over a cap is ErrTooLarge.
	Limits Limits
	// SkipYAMLCheck turns off the check of the YAML files: manifest.CheckFiles, the
	// check render gives its sources (every document an object with apiVersion, kind
	// and metadata.name, no duplicate object; kustomize's patches and configurations
	// only parsed).
	SkipYAMLCheck bool
}

// DefaultBuildOptions returns the options [Build] uses for a zero BuildOptions.
func DefaultBuildOptions() BuildOptions {
	return BuildOptions{Limits: DefaultLimits()}
}

// File is one file of an artifact's tree.
type File struct {
	Path   string        `json:"path"` // slash-separated, relative to the root
	Size   int64         `json:"size"`
	Mode   fs.FileMode   `json:"mode"` // 0644 or 0755
	Digest digest.Digest `json:"digest"`
}

// Layer is a built content layer: the tar+gzip bytes and what is in them.
type Layer struct {
	Descriptor ocispec.Descriptor
	Data       []byte
	Files      []File
}

type buildEntry struct {
	rel    string // slash path in the archive
	abs    string // file to read
	mode   fs.FileMode
	size   int64
	data   []byte
	digest digest.Digest // of data, computed when read (on all cores) or written
}

// Build packages the directory dir into a reproducible tar+gzip layer. The result
// depends only on the paths, contents and owner-execute bits of the files that are
// packaged: not on mtimes, owners, umask, directory order or empty directories.
func Build(ctx context.Context, dir string, opts BuildOptions) (*Layer, error) {
	var err error
	if opts.Limits, err = opts.Limits.WithDefaults(); err != nil {
		return nil, fmt.Errorf("building artifact from %s: %w", dir, err)
	}
	entries, err := collect(ctx, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("building artifact from %s: %w", dir, err)
	}
	if err := readEntries(ctx, entries); err != nil {
		return nil, fmt.Errorf("building artifact from %s: %w", dir, err)
	}
	if opts.SkipYAMLCheck {
		return writeLayer(entries)
	}
	// Check the YAML files on other goroutines while this one writes the archive: the
	// two are independent, and the check is the larger part of the CPU time.
	checked := make(chan error, 1)
	go func() {
		files := make([]manifest.File, len(entries))
		for i, e := range entries {
			files[i] = manifest.File{Path: e.rel, Data: e.data}
		}
		checked <- manifest.CheckFiles(ctx, files, manifest.CheckOptions{})
	}()
	layer, werr := writeLayer(entries)
	if err := <-checked; err != nil {
		return nil, fmt.Errorf("building artifact from %s: %w", dir, err)
	}
	return layer, werr
}

// BuildFromFiles packages files given in memory (path → content, all mode 0644) with
// the same encoding as [Build]. Paths must be clean relative slash paths.
func BuildFromFiles(files map[string][]byte) (*Layer, error) {
	entries := make([]*buildEntry, 0, len(files))
	for _, p := range sortedKeys(files) {
		if err := checkArchivePath(p); err != nil {
			return nil, &FileError{Path: p, Err: err}
		}
		entries = append(entries, &buildEntry{rel: p, mode: 0o644, size: int64(len(files[p])), data: files[p]})
	}
	return writeLayer(entries)
}

type collector struct {
	ctx     context.Context
	opts    BuildOptions
	root    string // absolute, symlinks resolved
	ignore  *manifest.Ignore
	entries []*buildEntry
	total   int64
	active  map[string]bool // real paths of directories being walked (loop guard)
}

func collect(ctx context.Context, dir string, opts BuildOptions) ([]*buildEntry, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("source directory does not exist")
		}
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("source is not a directory")
	}
	root, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	c := &collector{ctx: ctx, opts: opts, root: root, ignore: manifest.NewIgnore(opts.Ignore), active: map[string]bool{}}
	if err := c.walkDir(root, ""); err != nil {
		return nil, err
	}
	if len(c.entries) == 0 && !opts.AllowEmpty {
		return nil, fmt.Errorf("%w: no files left after the ignore rules", ErrEmptySource)
	}
	sort.Slice(c.entries, func(i, j int) bool { return c.entries[i].rel < c.entries[j].rel })
	return c.entries, nil
}

func (c *collector) ignored(rel string, isDir bool) bool { return c.ignore.Match(rel, isDir) }

// walkDir walks the real directory real, whose path in the archive is rel ("" for the root).
func (c *collector) walkDir(real, rel string) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	c.active[real] = true
	defer delete(c.active, real)

	if err := c.ignore.ReadDir(real, rel); err != nil {
		return err
	}
	des, err := os.ReadDir(real)
	if err != nil {
		return &FileError{Path: relOrRoot(rel), Err: err}
	}
	for _, de := range des {
		childRel := path.Join(rel, de.Name())
		childAbs := filepath.Join(real, de.Name())
		mode := de.Type()
		if mode&fs.ModeSymlink != 0 {
			target, tfi, err := c.resolveLink(childAbs, childRel)
			if err != nil {
				return err
			}
			if tfi == nil {
				continue // ignored
			}
			childAbs, mode = target, tfi.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if c.ignored(childRel, true) {
				continue
			}
			if c.active[childAbs] {
				return &FileError{Path: childRel, Err: errors.New("symbolic link loop")}
			}
			if err := c.walkDir(childAbs, childRel); err != nil {
				return err
			}
		case mode.IsRegular():
			if c.ignored(childRel, false) {
				continue
			}
			if err := c.addFile(childAbs, childRel); err != nil {
				return err
			}
		default:
			if c.ignored(childRel, false) {
				continue
			}
			return &FileError{Path: childRel, Err: fmt.Errorf("is a %s: only regular files and directories can be packaged", typeName(mode))}
		}
	}
	return nil
}

// resolveLink checks a symbolic link. It returns a nil FileInfo when the link is
// ignored by the rules.
func (c *collector) resolveLink(abs, rel string) (string, fs.FileInfo, error) {
	if !c.opts.ResolveSymlinks {
		if c.ignored(rel, false) {
			return "", nil, nil
		}
		return "", nil, &FileError{Path: rel, Err: ErrSymlink}
	}
	target, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", nil, &FileError{Path: rel, Err: fmt.Errorf("resolving symbolic link: %w", err)}
	}
	inside, err := filepath.Rel(c.root, target)
	if err != nil || inside == ".." || strings.HasPrefix(inside, ".."+string(filepath.Separator)) || filepath.IsAbs(inside) {
		return "", nil, &FileError{Path: rel, Err: fmt.Errorf("symbolic link points outside the source directory (to %s)", target)}
	}
	if manifest.InVCSDir(filepath.ToSlash(inside)) {
		return "", nil, &FileError{Path: rel, Err: fmt.Errorf("symbolic link points into a version control directory (to %s): not followed", target)}
	}
	fi, err := os.Stat(target)
	if err != nil {
		return "", nil, &FileError{Path: rel, Err: err}
	}
	if c.ignored(rel, fi.IsDir()) {
		return "", nil, nil
	}
	return target, fi, nil
}

func (c *collector) addFile(abs, rel string) error {
	fi, err := os.Stat(abs)
	if err != nil {
		return &FileError{Path: rel, Err: err}
	}
	if err := checkArchivePath(rel); err != nil {
		return &FileError{Path: rel, Err: err}
	}
	if err := c.opts.Limits.checkPath(rel); err != nil {
		return &FileError{Path: rel, Err: err}
	}
	if fi.Size() > c.opts.Limits.MaxFileSize {
		return &FileError{Path: rel, Err: fmt.Errorf("%w: %d bytes, the cap per file is %d", ErrTooLarge, fi.Size(), c.opts.Limits.MaxFileSize)}
	}
	c.total += fi.Size()
	if c.total > c.opts.Limits.MaxTotalSize {
		return &TotalSizeError{Limit: c.opts.Limits.MaxTotalSize}
	}
	if len(c.entries) >= c.opts.Limits.MaxEntries {
		return fmt.Errorf("%w: more than %d files", ErrTooLarge, c.opts.Limits.MaxEntries)
	}
	mode := fs.FileMode(0o644)
	if fi.Mode()&0o100 != 0 {
		mode = 0o755
	}
	c.entries = append(c.entries, &buildEntry{rel: rel, abs: abs, mode: mode, size: fi.Size()})
	return nil
}

// readEntries reads the files on all cores. Every failure is reported, in path
// order, so that the error does not depend on scheduling.
func readEntries(ctx context.Context, entries []*buildEntry) error {
	errs := make([]error, len(entries))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, e := range entries {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			errs[i] = readEntry(e)
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

func readEntry(e *buildEntry) error {
	b, err := os.ReadFile(e.abs)
	if err != nil {
		return &FileError{Path: e.rel, Err: err}
	}
	if int64(len(b)) != e.size {
		return &FileError{Path: e.rel, Err: errors.New("file changed while it was being packaged")}
	}
	e.data, e.digest = b, digest.FromBytes(b)
	return nil
}

// epoch is the mtime of every archive entry.
var epoch = time.Unix(0, 0).UTC()

func writeLayer(entries []*buildEntry) (*Layer, error) {
	var size int64
	for _, e := range entries {
		size += e.size
	}
	buf := bytes.NewBuffer(make([]byte, 0, size/3+4096))
	gz, err := gzip.NewWriterLevel(buf, GzipLevel)
	if err != nil {
		return nil, err
	}
	// The gzip header stays empty: no name, no time (zero), OS byte "unknown".
	tw := tar.NewWriter(gz)
	files := make([]File, 0, len(entries))
	for _, e := range entries {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     e.rel,
			Mode:     int64(e.mode),
			Size:     int64(len(e.data)),
			ModTime:  epoch,
			Format:   tar.FormatPAX,
		}
		if len(e.rel) <= 100 && isASCII(e.rel) { // USTAR holds neither longer nor other names
			hdr.Format = tar.FormatUSTAR
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, &FileError{Path: e.rel, Err: fmt.Errorf("writing archive header: %w", err)}
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, &FileError{Path: e.rel, Err: fmt.Errorf("writing archive: %w", err)}
		}
		d := e.digest
		if d == "" {
			d = digest.FromBytes(e.data)
		}
		files = append(files, File{Path: e.rel, Size: int64(len(e.data)), Mode: e.mode, Digest: d})
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing archive: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("closing gzip stream: %w", err)
	}
	data := buf.Bytes()
	return &Layer{
		Descriptor: ocispec.Descriptor{MediaType: ContentMediaType, Digest: digest.FromBytes(data), Size: int64(len(data))},
		Data:       data,
		Files:      files,
	}, nil
}

// checkArchivePath accepts clean, relative, slash-separated paths with no "..", no
// backslash and no NUL: the same rule extraction applies.
func checkArchivePath(p string) error {
	switch {
	case p == "" || p == ".":
		return errors.New("empty path")
	case strings.HasPrefix(p, "/"):
		return errors.New("absolute path")
	case strings.ContainsAny(p, "\\\x00"):
		return errors.New("path contains a backslash or NUL")
	case path.Clean(p) != p:
		return errors.New("path is not clean")
	case p == ".." || strings.HasPrefix(p, "../"):
		return errors.New("path leaves the root")
	}
	return nil
}

func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device file"
	default:
		return "special file"
	}
}

func relOrRoot(rel string) string {
	if rel == "" {
		return "."
	}
	return rel
}

func isASCII(s string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
