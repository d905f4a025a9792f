package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fluxcd/pkg/sourceignore"
	"github.com/fluxcd/pkg/sourceignore/gitignore"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/render/kustomize"
)

const nonObjectHint = "leave the file out with --ignore or a " + artifact.IgnoreFileName + " entry"

// loadYAML reads a file, or a directory recursively: every .yaml/.yml file that the
// ignore rules (the same as push's) keep. A directory with a kustomization file is
// built with kustomize as a unit of its own, named by its path, and not read further.
func (o Options) loadYAML(ctx context.Context, req Request) ([]*Unit, error) {
	fi, err := os.Stat(req.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, req.Path)
		}
		return nil, err
	}
	root := &Unit{Kind: KindYAML, Source: req.Path}
	if !fi.IsDir() {
		data, err := os.ReadFile(req.Path)
		if err != nil {
			return nil, err
		}
		root.Objects, err = ParseYAML(data, filepath.ToSlash(req.Path), ParseYAMLOptions{Hint: nonObjectHint})
		if err != nil {
			return nil, err
		}
		report(req, root)
		return []*Unit{root}, nil
	}
	w := &yamlWalker{ctx: ctx, req: req, root: req.Path}
	w.patterns = append(w.patterns, sourceignore.VCSPatterns(nil)...)
	w.patterns = append(w.patterns, sourceignore.DefaultPatterns(nil)...)
	w.patterns = append(w.patterns, gitignore.ParsePattern(artifact.IgnoreFileName, nil))
	for _, p := range o.Ignore {
		if p = strings.TrimSpace(p); p != "" && !strings.HasPrefix(p, "#") {
			w.patterns = append(w.patterns, gitignore.ParsePattern(p, nil))
		}
	}
	for _, e := range req.Exclude {
		abs, err := filepath.Abs(e)
		if err == nil {
			w.exclude = append(w.exclude, abs)
		}
	}
	if err := w.walk(""); err != nil {
		return nil, err
	}
	root.Objects = w.objects
	if len(w.units) > 0 && len(root.Objects) == 0 {
		return w.units, nil
	}
	report(req, root)
	return append([]*Unit{root}, w.units...), nil
}

type yamlWalker struct {
	ctx      context.Context
	req      Request
	root     string
	patterns []gitignore.Pattern
	exclude  []string
	objects  []*Object
	units    []*Unit
}

func (w *yamlWalker) ignored(rel string, isDir bool) bool {
	return gitignore.NewMatcher(w.patterns).Match(strings.Split(rel, "/"), isDir)
}

func (w *yamlWalker) walk(rel string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	dir := filepath.Join(w.root, filepath.FromSlash(rel))
	if abs, err := filepath.Abs(dir); err == nil && slices.Contains(w.exclude, abs) {
		return nil
	}
	if kustomize.File(dir) != "" {
		us, err := loadKustomize(w.ctx, Request{Path: dir, Kind: KindKustomize, Progress: w.req.Progress})
		if err != nil {
			return err
		}
		for _, u := range us {
			u.Name = rel
		}
		w.units = append(w.units, us...)
		return nil
	}
	if isFile(filepath.Join(dir, HelmChartFile)) {
		return &SourceError{Origin: Origin{File: filepath.ToSlash(dir)}, Err: fmt.Errorf("%w: a Helm chart inside a YAML tree: render the chart as a source of its own (helm), or "+nonObjectHint, ErrUnsupported)}
	}
	if b, err := os.ReadFile(filepath.Join(dir, artifact.IgnoreFileName)); err == nil {
		var domain []string
		if rel != "" {
			domain = strings.Split(rel, "/")
		}
		w.patterns = append(w.patterns, sourceignore.ReadPatterns(bytes.NewReader(b), domain)...)
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
			if w.ignored(childRel, true) {
				continue
			}
			if de.Type()&fs.ModeSymlink != 0 {
				return &SourceError{Origin: Origin{File: filepath.ToSlash(child)}, Err: errors.New("a symbolic link to a directory: not followed; ignore it or link the files")}
			}
			if err := w.walk(childRel); err != nil {
				return err
			}
		case fi.Mode().IsRegular() && isYAMLName(de.Name()):
			if w.ignored(childRel, false) {
				continue
			}
			data, err := os.ReadFile(child)
			if err != nil {
				return err
			}
			objs, err := ParseYAML(data, filepath.ToSlash(child), ParseYAMLOptions{Hint: nonObjectHint})
			if err != nil {
				return err
			}
			w.objects = append(w.objects, objs...)
		}
	}
	return nil
}

func report(req Request, u *Unit) {
	if req.Progress != nil {
		req.Progress(Progress{Stage: "loaded", Unit: u.Source, Kind: u.Kind, Objects: len(u.Objects)})
	}
}
