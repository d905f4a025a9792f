package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/render/internal/parallel"
)

// loadYAML reads a file, or a directory recursively: every .yaml/.yml file that the
// ignore rules (the same as push's) keep ([manifest.Walk]). A directory with a
// kustomization file is built with kustomize as a unit of its own, named by its path,
// and not read further.
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
		root.Objects, err = manifest.ParseYAML(data, filepath.ToSlash(req.Path), manifest.ParseYAMLOptions{})
		if err != nil {
			return nil, err
		}
		report(req, root)
		return []*Unit{root}, nil
	}
	layout, err := manifest.Walk(ctx, req.Path, manifest.WalkOptions{Ignore: o.Ignore, Exclude: req.Exclude})
	if err != nil {
		return nil, err
	}
	if len(layout.Charts) > 0 {
		dir := filepath.Join(req.Path, filepath.FromSlash(layout.Charts[0]))
		return nil, &SourceError{Origin: Origin{File: filepath.ToSlash(dir)}, Err: fmt.Errorf("%w: %w: render the chart as a source of its own (helm)", ErrUnsupported, manifest.ErrChartInTree)}
	}
	// Read and parse the files several at once; the objects keep the walk's order.
	perFile := make([][]*Object, len(layout.Files))
	err = parallel.Do(ctx, len(layout.Files), o.Parallelism, func(i int) error {
		data, err := os.ReadFile(layout.Files[i])
		if err != nil {
			return err
		}
		perFile[i], err = manifest.ParseYAML(data, filepath.ToSlash(layout.Files[i]), manifest.ParseYAMLOptions{})
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, objs := range perFile {
		root.Objects = append(root.Objects, objs...)
	}
	var units []*Unit
	for _, rel := range layout.Kustomizations {
		us, err := loadKustomize(ctx, Request{Path: filepath.Join(req.Path, filepath.FromSlash(rel)), Kind: KindKustomize, Progress: req.Progress, MaxBuildBytes: req.MaxBuildBytes})
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			u.Name = rel
		}
		units = append(units, us...)
	}
	if len(units) > 0 && len(root.Objects) == 0 {
		return units, nil
	}
	report(req, root)
	return append([]*Unit{root}, units...), nil
}

func report(req Request, u *Unit) {
	if req.Progress != nil {
		req.Progress(Progress{Stage: "loaded", Unit: u.Source, Kind: u.Kind, Objects: len(u.Objects)})
	}
}
