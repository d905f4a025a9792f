package puller

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// tempPrefix names the directory each build extracts an artifact into.
const tempPrefix = "gitless-puller-"

// RemoveStaleTemp removes the extraction directories a puller that was killed mid-build
// (an OOM kill, a node's eviction) left in Options.TempDir, and returns their paths. A
// directory is left alone while the process that made it lives: each build holds a lock
// on its directory, which the kernel drops when the process dies. Where the platform has
// no such lock, nothing is removed. The daemon calls it at start: an emptyDir survives a
// container's restart, and each kill would leave up to Limits.MaxTotalSize behind.
func (p *Puller) RemoveStaleTemp() ([]string, error) {
	if !canLockDirs {
		return nil, nil
	}
	dir := p.opts.TempDir
	if dir == "" {
		dir = os.TempDir()
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing %s for stale extraction directories: %w", dir, err)
	}
	var removed []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tempPrefix) {
			continue
		}
		path := filepath.Join(dir, e.Name())
		// A directory made a moment ago may not be locked yet by its maker.
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < time.Minute {
			continue
		}
		unlock, err := tryLockDir(path)
		if err != nil {
			continue // held: a live build, of this process or another
		}
		err = os.RemoveAll(path)
		unlock()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing the stale extraction directory %s: %w", path, err))
			continue
		}
		removed = append(removed, path)
	}
	return removed, errors.Join(errs...)
}
