package render

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Write writes the tree to out. It writes into a new directory next to out, then puts
// that in out's place, so that on any error out is left as it was. out must not
// exist, be an empty directory, or hold only what Render wrote before (checked with
// the header of the kustomization.yaml files); anything else is ErrOutputInUse.
func (t *Tree) Write(ctx context.Context, out string) (err error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if err := checkOutput(abs); err != nil {
		return err
	}
	parent := filepath.Dir(abs)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(abs)+".render-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return err
	}
	defer root.Close()
	made := map[string]bool{}
	for _, f := range t.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := mkdirAll(root, filepath.Dir(filepath.FromSlash(f.path)), made); err != nil {
			return fmt.Errorf("writing %s: %w", out, err)
		}
		if err := root.WriteFile(filepath.FromSlash(f.path), f.data, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", out, err)
		}
	}
	return replaceDir(tmp, abs)
}

func mkdirAll(root *os.Root, dir string, made map[string]bool) error {
	if dir == "." || made[dir] {
		return nil
	}
	if err := mkdirAll(root, filepath.Dir(dir), made); err != nil {
		return err
	}
	if err := root.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	made[dir] = true
	return nil
}

// replaceDir puts the directory tmp at out, moving the old out aside first and
// removing it once the new one is in place.
func replaceDir(tmp, out string) error {
	if _, err := os.Lstat(out); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, out)
	}
	old := tmp + ".old"
	if err := os.Rename(out, old); err != nil {
		return fmt.Errorf("replacing %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		if rerr := os.Rename(old, out); rerr != nil {
			return fmt.Errorf("replacing %s: %w (and putting the old one back: %v; it is at %s)", out, err, rerr, old)
		}
		return fmt.Errorf("replacing %s: %w", out, err)
	}
	return os.RemoveAll(old)
}

// checkOutput accepts an output directory that does not exist, is empty, or holds
// only a tree that render wrote: regular files, each at or below a directory with a
// kustomization.yaml that starts with GeneratedHeader.
func checkOutput(abs string) error {
	fi, err := os.Lstat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	inUse := func(why string) error {
		return fmt.Errorf("%w: %s %s; remove it or choose another directory", ErrOutputInUse, abs, why)
	}
	if !fi.IsDir() {
		return inUse("exists and is not a directory")
	}
	// WalkDir visits a directory before what is in it, so the directories with a
	// generated kustomization above a file are known when the file is.
	generated := map[string]bool{}
	return filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if isGenerated(filepath.Join(p, "kustomization.yaml")) {
				generated[p] = true
			}
			return nil
		case !d.Type().IsRegular():
			return inUse("holds " + p + ", which is not a regular file")
		}
		for dir := filepath.Dir(p); ; dir = filepath.Dir(dir) {
			if generated[dir] {
				return nil
			}
			if dir == abs || !strings.HasPrefix(dir, abs) {
				return inUse("holds files that gitless render did not write (" + p + ")")
			}
		}
	})
}

func isGenerated(kustomization string) bool {
	f, err := os.Open(kustomization)
	if err != nil {
		return false
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	return err == nil && line == GeneratedHeader
}
