package manifest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Layout is what a directory of plain manifests holds, read the way render's YAML
// loader and gitless-puller read it: the YAML files that are objects, and the
// directories that kustomize builds instead.
type Layout struct {
	// Files are the .yaml and .yml files to read as objects, as paths below the root
	// given to Walk (the root joined with their relative path), in walk order.
	Files []string
	// Kustomizations are the directories with a kustomization file, as slash paths
	// relative to the root ("" for the root itself). Walk does not read below them.
	Kustomizations []string
	// Charts are the directories with a Helm chart (Chart.yaml and no kustomization
	// file), as slash paths relative to the root. Walk does not read below them: a
	// chart's templates are not manifests (ErrChartInTree).
	Charts []string
}

// WalkOptions configures [Walk].
type WalkOptions struct {
	// Ignore holds extra gitignore-style patterns ([NewIgnore]).
	Ignore []string
	// Exclude holds directories never to read (an output directory inside the source).
	Exclude []string
}

// HelmChartFile marks the directory of a Helm chart.
const HelmChartFile = "Chart.yaml"

// Walk lists the directory root recursively: every .yaml/.yml file that the ignore
// rules keep, except below a directory with a kustomization file, which is listed as
// a kustomization instead, or with a Helm chart, listed as a chart. Symbolic links to
// files below root are followed; a link to a file outside it, or to a directory, is an
// error (it could lead anywhere).
func Walk(ctx context.Context, root string, opts WalkOptions) (*Layout, error) {
	w := &walker{ctx: ctx, root: root, ignore: NewIgnore(opts.Ignore), layout: &Layout{}}
	for _, e := range opts.Exclude {
		if abs, err := filepath.Abs(e); err == nil {
			w.exclude = append(w.exclude, abs)
		}
	}
	if err := w.walk(""); err != nil {
		return nil, err
	}
	return w.layout, nil
}

type walker struct {
	ctx      context.Context
	root     string
	realRoot string // root, absolute with its links resolved, once a link needs it
	ignore   *Ignore
	exclude  []string
	layout   *Layout
}

// inside checks that the symbolic link at p leads to a file below the root: render runs
// in CI beside what the CI keeps outside the tree (its secrets), which a link in the
// tree must not put into the manifests.
func (w *walker) inside(p string) error {
	if w.realRoot == "" {
		real, err := RealPath(w.root)
		if err != nil {
			return err
		}
		w.realRoot = real
	}
	return leadsInside(p, w.realRoot)
}

// RealPath is p absolute, with its symbolic links resolved.
func RealPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// WorkDirHolding returns the working directory when dir is in it (the checkout, in CI),
// which render lets a source's links and imports read below, as a repository's sources
// share files.
func WorkDirHolding(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	wd, err := os.Getwd()
	if err != nil || !Within(wd, abs) {
		return "", false
	}
	return wd, true
}

// leadsInside checks that the link p resolves to a path below one of realRoots
// (absolute, their own links resolved).
func leadsInside(p string, realRoots ...string) error {
	target, err := RealPath(p)
	if err != nil {
		return err
	}
	for _, r := range realRoots {
		if Within(r, target) {
			if rel, err := filepath.Rel(r, target); err == nil && InVCSDir(filepath.ToSlash(rel)) {
				return fmt.Errorf("a symbolic link to %s, in a version control directory: not followed", target)
			}
			return nil
		}
	}
	return fmt.Errorf("a symbolic link to %s, outside the source: not followed; copy the file in", target)
}

// Within reports whether path is root or below it, lexically (both absolute and
// cleaned; resolve links first where they matter).
func Within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// CheckLinks checks that dir, and every symbolic link below it, lead to paths below one
// of roots (dir itself when none is given): for what render reads through another
// tool's loader (a Helm chart's files, cdk8s's output), which would follow a link
// anywhere, the CI's secrets beside the checkout included. The error is a *SourceError
// naming the link.
func CheckLinks(dir string, roots ...string) error {
	if len(roots) == 0 {
		roots = []string{dir}
	}
	var real []string
	for _, r := range roots {
		rr, err := RealPath(r)
		if err != nil {
			return err
		}
		real = append(real, rr)
	}
	if err := leadsInside(dir, real...); err != nil {
		return &SourceError{Origin: Origin{File: filepath.ToSlash(dir)}, Err: err}
	}
	resolved, err := RealPath(dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(resolved, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		if err := leadsInside(p, real...); err != nil {
			return &SourceError{Origin: Origin{File: filepath.ToSlash(p)}, Err: err}
		}
		return nil
	})
}

func (w *walker) walk(rel string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Join(w.root, filepath.FromSlash(rel))
	if abs, err := filepath.Abs(dir); err == nil && slices.Contains(w.exclude, abs) {
		return nil
	}
	if KustomizationFile(dir) != "" {
		w.layout.Kustomizations = append(w.layout.Kustomizations, rel)
		return nil
	}
	if fi, err := os.Stat(filepath.Join(dir, HelmChartFile)); err == nil && fi.Mode().IsRegular() {
		w.layout.Charts = append(w.layout.Charts, rel)
		return nil
	}
	if err := w.ignore.ReadDir(dir, rel); err != nil {
		return err
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		childRel := path.Join(rel, de.Name())
		child := filepath.Join(dir, de.Name())
		fi, err := os.Stat(child) // follows symbolic links
		if err != nil {
			return &SourceError{Origin: Origin{File: filepath.ToSlash(child)}, Err: err}
		}
		switch {
		case fi.IsDir():
			if w.ignore.Match(childRel, true) {
				continue
			}
			if de.Type()&fs.ModeSymlink != 0 {
				return &SourceError{Origin: Origin{File: filepath.ToSlash(child)}, Err: errors.New("a symbolic link to a directory: not followed; ignore it or link the files")}
			}
			if err := w.walk(childRel); err != nil {
				return err
			}
		case fi.Mode().IsRegular() && IsYAMLName(de.Name()):
			if w.ignore.Match(childRel, false) {
				continue
			}
			if de.Type()&fs.ModeSymlink != 0 {
				if err := w.inside(child); err != nil {
					return &SourceError{Origin: Origin{File: filepath.ToSlash(child)}, Err: err}
				}
			}
			w.layout.Files = append(w.layout.Files, child)
		}
	}
	return nil
}

// IsYAMLName reports whether a file name has a YAML extension (.yaml or .yml, in
// any case).
func IsYAMLName(name string) bool {
	ext := strings.ToLower(path.Ext(name))
	return ext == ".yaml" || ext == ".yml"
}
