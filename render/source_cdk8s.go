package render

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/gitless-dev/gitless/manifest"
)

// loadCDK8s reads a cdk8s app's output (or an output directory given directly), in
// cdk8s's order. With Options.Synth it runs the synth command in the app first.
func (o Options) loadCDK8s(ctx context.Context, req Request) ([]*Unit, error) {
	outDir := req.Path
	if cfg := filepath.Join(req.Path, CDK8sConfigFile); isFile(cfg) {
		out, err := cdk8sOutputDir(cfg)
		if err != nil {
			return nil, err
		}
		outDir = filepath.Join(req.Path, out)
		if o.Synth {
			if err := o.synth(ctx, req.Path); err != nil {
				return nil, err
			}
		}
	} else if o.Synth {
		return nil, fmt.Errorf("%w: %s has no %s: running cdk8s synth needs the app's directory", ErrNotFound, req.Path, CDK8sConfigFile)
	}
	fi, err := os.Stat(outDir)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%w: %w %s: run cdk8s synth first", ErrNotFound, ErrNoSynthOutput, outDir)
	}
	// The output, and any link in it, stays in the app's directory.
	if err := manifest.CheckLinks(outDir, req.Path); err != nil {
		return nil, err
	}
	files, err := cdk8sFiles(outDir)
	if err != nil {
		return nil, err
	}
	u := &Unit{Kind: KindCDK8s, Source: req.Path}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		objs, err := manifest.ParseYAML(data, filepath.ToSlash(f), manifest.ParseYAMLOptions{})
		if err != nil {
			return nil, err
		}
		u.Objects = append(u.Objects, objs...)
	}
	if len(u.Objects) == 0 {
		return nil, fmt.Errorf("%w: the cdk8s output %s is empty (%d YAML files): did synth run?", ErrEmpty, outDir, len(files))
	}
	report(req, u)
	return []*Unit{u}, nil
}

// cdk8sOutputDir reads the output directory from cdk8s.yaml ("dist" by default).
func cdk8sOutputDir(cfg string) (string, error) {
	data, err := os.ReadFile(cfg)
	if err != nil {
		return "", err
	}
	var c struct {
		Output string `yaml:"output"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return "", &SourceError{Origin: Origin{File: filepath.ToSlash(cfg)}, Err: err}
	}
	if c.Output == "" {
		return "dist", nil
	}
	if filepath.IsAbs(c.Output) || !filepath.IsLocal(c.Output) {
		return "", &SourceError{Origin: Origin{File: filepath.ToSlash(cfg)}, Err: fmt.Errorf("%w: output %q is not a directory inside the app", ErrUnsafePath, c.Output)}
	}
	return c.Output, nil
}

// cdk8sFiles lists the YAML files of a cdk8s output directory in the order cdk8s
// means them: by the index prefix its namers give charts that depend on each other
// ("0000-", "0001-", ... compared as numbers), then by name; chart folders
// (FOLDER_PER_CHART_FILE_PER_RESOURCE) in the same order, their files inside.
func cdk8sFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(des, func(i, j int) bool { return cdk8sLess(des[i].Name(), des[j].Name()) })
	var files []string
	for _, de := range des {
		p := filepath.Join(dir, de.Name())
		switch {
		case de.IsDir():
			sub, err := cdk8sFiles(p)
			if err != nil {
				return nil, err
			}
			files = append(files, sub...)
		case de.Type().IsRegular() && manifest.IsYAMLName(de.Name()):
			files = append(files, p)
		case de.Type()&fs.ModeSymlink != 0:
			return nil, &SourceError{Origin: Origin{File: filepath.ToSlash(p)}, Err: errors.New("a symbolic link in cdk8s output")}
		}
	}
	return files, nil
}

func cdk8sLess(a, b string) bool {
	ia, oka := indexPrefix(a)
	ib, okb := indexPrefix(b)
	switch {
	case oka && okb && ia != ib:
		return ia < ib
	case oka != okb:
		return oka
	}
	return a < b
}

func indexPrefix(name string) (int, bool) {
	digits, _, ok := strings.Cut(name, "-")
	if !ok || digits == "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n >= 0
}

// synth runs the synth command in the app directory, with cdk8s's update check off.
// Its output is returned in the error when it fails.
func (o Options) synth(ctx context.Context, dir string) error {
	cmd := exec.CommandContext(ctx, o.SynthCommand[0], o.SynthCommand[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CDK8S_CHECK_UPGRADE=false", "NO_COLOR=1")
	out := &tailBuffer{max: 16 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	o.Logger.Debug("running cdk8s synth", "dir", dir, "command", o.SynthCommand)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s in %s: %w\n%s", strings.Join(o.SynthCommand, " "), dir, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }
