package jsonnet

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"

	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/internal/parallel"
)

// Options configures the Jsonnet and Tanka loader.
type Options struct {
	// ExtVars and ExtCode are external variables (std.extVar), as strings or as
	// Jsonnet code: jsonnet's and tk's --ext-str and --ext-code.
	ExtVars, ExtCode map[string]string
	// TLAVars and TLACode are top-level arguments, when main.jsonnet is a function:
	// --tla-str and --tla-code.
	TLAVars, TLACode map[string]string
	// JPath holds library directories searched after Tanka's (for plain Jsonnet:
	// the only ones), the right-most first, as jsonnet's -J.
	JPath []string
	// Envs selects environments by name: a Tanka environment's name (its directory
	// relative to the project root, "environments/prod"), its directory relative to
	// the source given, or an inline environment's metadata.name. Empty means all.
	Envs []string
	// MaxStack is go-jsonnet's stack depth limit; 0 means its default (500).
	MaxStack int
	// Parallelism bounds the environments evaluated at once; 0 means GOMAXPROCS.
	Parallelism int
	// Natives are std.native functions beyond Tanka's built-in ones (render/helm's
	// helmTemplate); one with a built-in's name replaces it.
	Natives []Native
}

// Native is a std.native function that needs the evaluation's context, or that
// reports the Helm charts it rendered (they are added to the unit's Charts).
type Native struct {
	Name   string
	Params []string
	// Func gets the arguments as go-jsonnet gives them (JSON's types: float64,
	// string, bool, nil, []any, map[string]any).
	Func func(ctx context.Context, args []any) (value any, charts []render.Chart, err error)
}

// DefaultOptions returns the options a zero Options means.
func DefaultOptions() Options {
	return Options{Parallelism: runtime.GOMAXPROCS(0)}
}

// NewLoader returns the loader of Jsonnet and Tanka sources, for render's
// Options.Loaders (both render.KindJsonnet and render.KindTanka).
func NewLoader(opts Options) render.Loader {
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.GOMAXPROCS(0)
	}
	return &loader{opts: opts}
}

type loader struct{ opts Options }

// env is one entry point to evaluate.
type env struct {
	main    string // main.jsonnet (or the .jsonnet file given), as the user named it
	dir     string // its directory, as the user named it
	name    string // the unit name: dir relative to the source given, "" for itself
	root    string // the Tanka project root, absolute; "" for plain Jsonnet
	tkName  string // Tanka's name: dir relative to root
	spec    *tankaEnv
	hasSpec bool
}

// tankaEnv is the part of a Tanka environment (spec.json, or inline) render uses.
type tankaEnv struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels,omitempty"`
	} `json:"metadata"`
	Spec struct {
		Namespace        string `json:"namespace,omitempty"`
		ResourceDefaults struct {
			Labels      map[string]string `json:"labels,omitempty"`
			Annotations map[string]string `json:"annotations,omitempty"`
		} `json:"resourceDefaults,omitzero"`
	} `json:"spec"`
	// everything else of spec.json, passed through to tanka.dev/environment
	raw map[string]any
}

func (l *loader) Load(ctx context.Context, req render.Request) ([]*render.Unit, error) {
	tanka := req.Kind == render.KindTanka
	envs, err := l.findEnvs(req.Path, tanka)
	if err != nil {
		return nil, err
	}
	selected := map[string]bool{}
	for _, n := range l.opts.Envs {
		selected[n] = false
	}
	matches := func(names ...string) bool {
		if len(selected) == 0 {
			return true
		}
		hit := false
		for _, n := range names {
			if _, ok := selected[n]; ok {
				selected[n], hit = true, true
			}
		}
		return hit
	}
	var available []string
	var todo []*env
	for _, e := range envs {
		if e.hasSpec {
			available = append(available, e.tkName)
			if !matches(e.tkName, e.name, filepath.Base(e.dir)) {
				continue
			}
		}
		todo = append(todo, e)
	}

	results := make([]evalResult, len(todo))
	err = parallel.Do(ctx, len(todo), l.opts.Parallelism, func(i int) (err error) {
		start := time.Now()
		if results[i], err = l.eval(ctx, todo[i], tanka); err != nil {
			return err
		}
		if req.Progress != nil {
			for _, u := range results[i].units {
				req.Progress(render.Progress{Stage: "loaded", Unit: u.Source, Kind: u.Kind, Objects: len(u.Objects), Elapsed: time.Since(start)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var units []*render.Unit
	for i, r := range results {
		e := todo[i]
		for _, u := range r.units {
			switch {
			case e.hasSpec: // selected before evaluating
			case r.inline:
				available = append(available, u.Name)
				if !matches(u.Name) {
					continue
				}
			default:
				available = append(available, e.tkName)
				if !matches(e.tkName, e.name, filepath.Base(e.dir)) {
					continue
				}
			}
			units = append(units, u)
		}
	}
	var missing []string
	for _, n := range slices.Sorted(maps.Keys(selected)) {
		if !selected[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		sort.Strings(available)
		return nil, fmt.Errorf("%w: environment %s not in %s (environments: %s)", render.ErrNotFound, strings.Join(missing, ", "), req.Path, strings.Join(available, ", "))
	}
	return units, nil
}

// findEnvs finds the entry points of a source: the file itself, the main.jsonnet of
// the directory, or every main.jsonnet below it (not in vendor/, node_modules/ or
// hidden directories), sorted.
func (l *loader) findEnvs(src string, tanka bool) ([]*env, error) {
	fi, err := os.Stat(src)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: environment %s does not exist", render.ErrNotFound, src)
		}
		return nil, err
	}
	var mains []string
	switch {
	case !fi.IsDir():
		mains = []string{src}
	case isFile(filepath.Join(src, render.TankaMainFile)):
		mains = []string{filepath.Join(src, render.TankaMainFile)}
	default:
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && p != src && (strings.HasPrefix(d.Name(), ".") || d.Name() == "vendor" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if !d.IsDir() && d.Name() == render.TankaMainFile {
				mains = append(mains, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(mains) == 0 {
			return nil, fmt.Errorf("%w: no environment (%s) in %s", render.ErrNotFound, render.TankaMainFile, src)
		}
	}
	base := src
	if !fi.IsDir() {
		base = filepath.Dir(src)
	}
	var envs []*env
	for _, m := range mains {
		e := &env{main: m, dir: filepath.Dir(m)}
		if r, err := filepath.Rel(base, e.dir); err == nil && r != "." {
			e.name = filepath.ToSlash(r)
		}
		e.tkName = e.name
		if tanka {
			root, ok := render.FindTankaRoot(e.dir)
			if !ok {
				return nil, fmt.Errorf("%w: %s is not in a Tanka project (no %s or %s at or above it)", render.ErrNotFound, e.dir, render.JsonnetfileFile, render.TankaRCFile)
			}
			e.root = root
			absDir, err := filepath.Abs(e.dir)
			if err != nil {
				return nil, err
			}
			if r, err := filepath.Rel(root, absDir); err == nil {
				e.tkName = filepath.ToSlash(r)
			}
			if e.spec, e.hasSpec, err = readSpec(filepath.Join(e.dir, render.TankaSpecFile)); err != nil {
				return nil, err
			}
		}
		envs = append(envs, e)
	}
	return envs, nil
}

func readSpec(file string) (*tankaEnv, bool, error) {
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return &tankaEnv{}, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	spec := &tankaEnv{}
	if err := json.Unmarshal(data, spec); err != nil {
		return nil, false, &render.SourceError{Origin: render.Origin{File: filepath.ToSlash(file)}, Err: fmt.Errorf("invalid Tanka environment: %w", err)}
	}
	if err := json.Unmarshal(data, &spec.raw); err != nil {
		return nil, false, err
	}
	return spec, true, nil
}

// jpath is the library search path of an environment, in go-jsonnet's order (the
// last is searched first): Tanka's <root>/vendor, <env>/vendor, <root>/lib, <env>,
// after the user's paths.
func (l *loader) jpath(e *env) []string {
	jp := append([]string{}, l.opts.JPath...)
	if e.root == "" {
		return jp
	}
	root := e.root
	if !filepath.IsAbs(e.dir) {
		if wd, err := os.Getwd(); err == nil {
			if r, err := filepath.Rel(wd, root); err == nil {
				root = r
			}
		}
	}
	return append(jp, filepath.Join(root, "vendor"), filepath.Join(e.dir, "vendor"), filepath.Join(root, "lib"), e.dir)
}

// roots are the directories an environment's imports may read below: its Tanka project
// (else its own directory), the working directory when that holds it (the checkout, in
// CI: libraries shared across projects), and the library directories the user named.
func (l *loader) roots(e *env) []string {
	roots := append([]string{}, l.opts.JPath...)
	dir, err := filepath.Abs(e.dir)
	if err != nil {
		return roots
	}
	roots = append(roots, cmp.Or(e.root, dir))
	if wd, ok := manifest.WorkDirHolding(dir); ok {
		roots = append(roots, wd)
	}
	return roots
}

// evalResult is what one entry point gave: one unit, or its inline environments.
type evalResult struct {
	units  []*render.Unit
	inline bool
}

func (l *loader) eval(ctx context.Context, e *env, tanka bool) (evalResult, error) {
	units, inline, err := l.evalUnits(ctx, e, tanka)
	return evalResult{units, inline}, err
}

func (l *loader) evalUnits(ctx context.Context, e *env, tanka bool) ([]*render.Unit, bool, error) {
	jp := l.jpath(e)
	vm := jsonnet.MakeVM()
	if l.opts.MaxStack > 0 {
		vm.MaxStack = l.opts.MaxStack
	}
	capt := &capture{ErrorFormatter: vm.ErrorFormatter}
	vm.ErrorFormatter = capt
	vm.Importer(newImporter(jp, tanka, l.roots(e)))
	for _, f := range nativeFuncs() {
		vm.NativeFunction(f)
	}
	var (
		chartsMu sync.Mutex
		charts   []render.Chart
	)
	for _, n := range l.opts.Natives {
		vm.NativeFunction(&jsonnet.NativeFunction{Name: n.Name, Params: toIdentifiers(n.Params), Func: func(args []any) (any, error) {
			v, cs, err := n.Func(ctx, args)
			chartsMu.Lock()
			charts = append(charts, cs...)
			chartsMu.Unlock()
			return v, err
		}})
	}
	if tanka {
		envJSON, err := e.envObject()
		if err != nil {
			return nil, false, err
		}
		vm.ExtCode("tanka.dev/environment", envJSON)
	}
	for k, v := range l.opts.ExtVars {
		vm.ExtVar(k, v)
	}
	for k, v := range l.opts.ExtCode {
		vm.ExtCode(k, v)
	}
	for k, v := range l.opts.TLAVars {
		vm.TLAVar(k, v)
	}
	for k, v := range l.opts.TLACode {
		vm.TLACode(k, v)
	}

	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := vm.EvaluateFile(e.main)
		if err != nil {
			err = evalError(capt.err, err)
		}
		done <- result{out, err}
	}()
	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		return nil, false, ctx.Err() // go-jsonnet cannot be stopped; its goroutine ends on its own
	}
	if res.err != nil {
		return nil, false, res.err
	}
	units, inline, err := l.units(e, tanka, res.out)
	for _, u := range units {
		u.Charts = append(u.Charts, charts...)
	}
	return units, inline, err
}

// units reads the JSON output of an entry point into its units.
func (l *loader) units(e *env, tanka bool, out string) ([]*render.Unit, bool, error) {
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false, fmt.Errorf("reading the output of %s: %w", e.main, err)
	}
	file := filepath.ToSlash(e.main)
	kind := render.KindJsonnet
	if tanka {
		kind = render.KindTanka
	}

	if tanka {
		var inline []inlineEnv
		findEnvs(v, "", &inline)
		if len(inline) > 0 {
			var units []*render.Unit
			for _, ie := range inline {
				spec := &tankaEnv{}
				b, _ := json.Marshal(ie.obj)
				if err := json.Unmarshal(b, spec); err != nil || spec.Metadata.Name == "" {
					return nil, false, &render.SourceError{Origin: render.Origin{File: file, Path: ie.path}, Err: fmt.Errorf("%w: an inline Tanka environment needs metadata.name", render.ErrInvalidObject)}
				}
				u := &render.Unit{Name: spec.Metadata.Name, Kind: kind, Source: e.main, Namespace: spec.Spec.Namespace}
				if err := extract(ie.obj["data"], ie.path+".data", file, &u.Objects); err != nil {
					return nil, false, err
				}
				applyDefaults(u, spec)
				units = append(units, u)
			}
			return units, true, nil
		}
	}
	u := &render.Unit{Name: e.name, Kind: kind, Source: e.main, Namespace: e.spec.namespace()}
	if err := extract(v, "", file, &u.Objects); err != nil {
		return nil, false, err
	}
	applyDefaults(u, e.spec)
	return []*render.Unit{u}, false, nil
}

func (t *tankaEnv) namespace() string {
	if t == nil {
		return ""
	}
	return t.Spec.Namespace
}

func applyDefaults(u *render.Unit, spec *tankaEnv) {
	if spec == nil {
		return
	}
	for _, o := range u.Objects {
		o.SetDefaultLabels(spec.Spec.ResourceDefaults.Labels)
		o.SetDefaultAnnotations(spec.Spec.ResourceDefaults.Annotations)
	}
}

// envObject is the value of std.extVar("tanka.dev/environment"): spec.json with the
// name Tanka gives it, or a bare environment for an inline one.
func (e *env) envObject() (string, error) {
	obj := map[string]any{}
	for k, v := range e.spec.raw {
		obj[k] = v
	}
	obj["apiVersion"] = tankaAPIVersion
	obj["kind"] = tankaEnvKind
	meta, _ := obj["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["name"] = e.tkName
	obj["metadata"] = meta
	if _, ok := obj["spec"]; !ok {
		obj["spec"] = map[string]any{}
	}
	b, err := json.Marshal(obj)
	return string(b), err
}

func toIdentifiers(ps []string) ast.Identifiers {
	ids := make(ast.Identifiers, len(ps))
	for i, p := range ps {
		ids[i] = ast.Identifier(p)
	}
	return ids
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
