package kustomize

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/gitless-dev/gitless/manifest"
)

// confinedFS is a build's file system below root (absolute, its links resolved): every
// path given to it must be below root, and so must what it leads to through links, or
// the call fails with ErrRefused. With kustomize's load restrictions off, this is what
// keeps a kustomization from reading the rest of the machine (a puller's service
// account token, say) into a generated ConfigMap.
type confinedFS struct {
	filesys.FileSystem
	root string
}

func (f confinedFS) check(path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	if !manifest.Within(f.root, abs) {
		return fmt.Errorf("%w: %s is outside %s", ErrRefused, path, f.root)
	}
	real, err := filepath.EvalSymlinks(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil // nothing there to read
	case err != nil:
		return err
	case !manifest.Within(f.root, real):
		return fmt.Errorf("%w: %s leads to %s, outside %s", ErrRefused, path, real, f.root)
	}
	return nil
}

func (f confinedFS) Create(path string) (filesys.File, error) {
	if err := f.check(path); err != nil {
		return nil, err
	}
	return f.FileSystem.Create(path)
}

func (f confinedFS) Mkdir(path string) error {
	if err := f.check(path); err != nil {
		return err
	}
	return f.FileSystem.Mkdir(path)
}

func (f confinedFS) MkdirAll(path string) error {
	if err := f.check(path); err != nil {
		return err
	}
	return f.FileSystem.MkdirAll(path)
}

func (f confinedFS) RemoveAll(path string) error {
	if err := f.check(path); err != nil {
		return err
	}
	return f.FileSystem.RemoveAll(path)
}

func (f confinedFS) Open(path string) (filesys.File, error) {
	if err := f.check(path); err != nil {
		return nil, err
	}
	return f.FileSystem.Open(path)
}

func (f confinedFS) IsDir(path string) bool {
	return f.check(path) == nil && f.FileSystem.IsDir(path)
}

func (f confinedFS) ReadDir(path string) ([]string, error) {
	if err := f.check(path); err != nil {
		return nil, err
	}
	return f.FileSystem.ReadDir(path)
}

func (f confinedFS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	if err := f.check(path); err != nil {
		return "", "", err
	}
	return f.FileSystem.CleanedAbs(path)
}

func (f confinedFS) Exists(path string) bool {
	return f.check(path) == nil && f.FileSystem.Exists(path)
}

func (f confinedFS) Glob(pattern string) ([]string, error) {
	matches, err := f.FileSystem.Glob(pattern)
	if err != nil {
		return nil, err
	}
	kept := matches[:0]
	for _, m := range matches {
		if f.check(m) == nil {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

func (f confinedFS) ReadFile(path string) ([]byte, error) {
	if err := f.check(path); err != nil {
		return nil, err
	}
	return f.FileSystem.ReadFile(path)
}

func (f confinedFS) WriteFile(path string, data []byte) error {
	if err := f.check(path); err != nil {
		return err
	}
	return f.FileSystem.WriteFile(path, data)
}

func (f confinedFS) Walk(path string, walkFn filepath.WalkFunc) error {
	if err := f.check(path); err != nil {
		return err
	}
	return f.FileSystem.Walk(path, func(p string, info fs.FileInfo, err error) error {
		if err == nil {
			if cerr := f.check(p); cerr != nil {
				return cerr
			}
		}
		return walkFn(p, info, err)
	})
}
