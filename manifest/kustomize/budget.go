package kustomize

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// ErrTooLarge is returned when builds take more bytes than their [Budget] allows.
var ErrTooLarge = errors.New("over the build's byte budget")

// Budget caps the bytes that builds read from files and the YAML they give, together:
// every build given the same Budget draws on it. kustomize reads a file again for
// every generator entry and every base that lists it, so a small tree can make a
// build of many gigabytes (a 32 MiB file named by 300 configMapGenerator entries is
// 10 GB of strings); with a budget the build stops at the read that goes over it,
// before kustomize holds the bytes. What kustomize makes in memory without reading
// (a replacement that copies one large field into many objects) is only caught in
// the YAML it gives, after the fact.
type Budget struct {
	max  int64
	used atomic.Int64
}

// NewBudget returns a budget of max bytes.
func NewBudget(max int64) *Budget { return &Budget{max: max} }

// Used returns the bytes taken so far.
func (b *Budget) Used() int64 { return b.used.Load() }

// take draws n bytes, or fails with ErrTooLarge when that goes over the budget.
func (b *Budget) take(n int, what string) error {
	if b == nil {
		return nil
	}
	if used := b.used.Add(int64(n)); used > b.max {
		return fmt.Errorf("%w: %s takes it to %d bytes, over %d (a generator or base that reads the same files many times?)", ErrTooLarge, what, used, b.max)
	}
	return nil
}

// budgetFS is the file system of a build under a budget: every read draws on it,
// and a done context fails the next read, which is where a build can be stopped
// (krusty takes no context).
type budgetFS struct {
	filesys.FileSystem
	ctx    context.Context
	budget *Budget
}

func (f budgetFS) ReadFile(path string) ([]byte, error) {
	if err := f.ctx.Err(); err != nil {
		return nil, err
	}
	data, err := f.FileSystem.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := f.budget.take(len(data), "reading "+path); err != nil {
		return nil, err
	}
	return data, nil
}

func (f budgetFS) Open(path string) (filesys.File, error) {
	if err := f.ctx.Err(); err != nil {
		return nil, err
	}
	file, err := f.FileSystem.Open(path)
	if err != nil {
		return nil, err
	}
	return budgetFile{File: file, fs: f, path: path}, nil
}

type budgetFile struct {
	filesys.File
	fs   budgetFS
	path string
}

func (f budgetFile) Read(p []byte) (int, error) {
	if err := f.fs.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := f.File.Read(p)
	if berr := f.fs.budget.take(n, "reading "+f.path); berr != nil {
		return 0, berr
	}
	return n, err
}
