package render

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gitless-dev/gitless/render/internal/parallel"
)

// Unit is what one source (or one Tanka environment) renders to: a set of objects
// that gets its own directory and kustomization.yaml in the output tree.
type Unit struct {
	// Name is the unit's directory in the output when there are several units, a
	// slash path: a Tanka environment's path below the source given, an inline
	// environment's name, a nested kustomization's path, ... "" for the source itself.
	Name string
	// Kind is the kind of source the unit was read from.
	Kind Kind
	// Source is the file or directory the unit was read from.
	Source string
	// Namespace is the unit's default namespace (Tanka's spec.namespace), given to
	// namespaced objects without one before Options.Namespace is.
	Namespace string
	// Objects in source order.
	Objects []*Object
	// Charts are the Helm charts the unit's objects were rendered from (render/helm
	// fills it), recorded in the artifact's provenance.
	Charts []Chart
}

// Chart identifies a Helm chart that objects were rendered from: what a pushed
// artifact records about it (gitless push --render puts them in an annotation).
type Chart struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Digest is the chart's sha256 digest: of the OCI manifest for a chart from an
	// OCI registry, of the .tgz for a packaged chart, and of the files (see
	// render/helm) for a chart directory.
	Digest string `json:"digest"`
	// Source is where the chart came from: an oci:// reference, a repository URL,
	// or a path as the user gave it.
	Source string `json:"source,omitempty"`
}

// Expander rewrites units after every source is loaded and before they are
// checked, seeing all units at once: render/helm's expands Flux HelmReleases into
// the objects of their charts.
type Expander interface {
	Expand(ctx context.Context, units []*Unit) error
}

// Request is what a [Loader] is asked to load.
type Request struct {
	// Path is the source, as the user named it.
	Path string
	// Kind is the detected or requested kind.
	Kind Kind
	// Exclude holds absolute paths never to read (the output directory).
	Exclude []string
	// Progress, when not nil, is told when a unit is loaded.
	Progress func(Progress)
	// MaxBuildBytes is Options.MaxBuildBytes, resolved (no cap when not positive).
	MaxBuildBytes int64
}

// DefaultMaxBuildBytes is the default of Options.MaxBuildBytes: 512 MiB, five times
// what push packages by default (--max-size), since kustomize reads a file once per
// reference.
const DefaultMaxBuildBytes = 512 << 20

// Loader reads one kind of source into units. Loaders for yaml, kustomize and cdk8s
// are in this package ([DefaultOptions] sets them); the Jsonnet and Tanka loader is in
// render/jsonnet, so that programs that only build manifests do not link a Jsonnet
// engine.
type Loader interface {
	Load(ctx context.Context, req Request) ([]*Unit, error)
}

// LoaderFunc adapts a function to [Loader].
type LoaderFunc func(ctx context.Context, req Request) ([]*Unit, error)

func (f LoaderFunc) Load(ctx context.Context, req Request) ([]*Unit, error) { return f(ctx, req) }

// Progress is reported while rendering.
type Progress struct {
	Stage   string // "loading" (a source), "loaded" (one unit), "written" (the whole tree)
	Unit    string // the unit's source or name
	Kind    Kind
	Objects int
	Elapsed time.Duration
}

// DefaultFormat is the file name of each object, tk export's default: apiVersion,
// kind and name, with "/" in values replaced by "-".
const DefaultFormat = "{{.apiVersion}}.{{.kind}}-{{.metadata.name}}"

// Options configures [Render], [Load] and [Plan].
type Options struct {
	// Kind of every source; "" detects each one's ([Detect]).
	Kind Kind
	// Loaders by kind. DefaultOptions fills yaml, kustomize and cdk8s.
	Loaders map[Kind]Loader
	// Namespace is given to namespaced objects that have none (and whose unit has no
	// default of its own).
	Namespace string
	// Format is the text/template of each object's file name, without the .yaml
	// extension, executed on the object's data. "/" in the template makes
	// directories; "/" in values becomes "-". Empty means DefaultFormat.
	Format string
	// Separate gives each unit its own kustomization.yaml and no kustomization.yaml
	// at the top of the tree; objects are then unique per unit only. Without it (the
	// default) the top kustomization.yaml includes every unit, and objects must be
	// unique across the whole tree.
	Separate bool
	// AllowEmpty accepts a unit with no objects. Without it an empty unit is an error
	// (ErrEmpty): an empty set would make a puller prune everything.
	AllowEmpty bool
	// Ignore holds gitignore-style patterns of files that YAML sources leave out, on
	// top of the defaults and .gitlessignore files (as push packages a directory).
	Ignore []string
	// Synth runs SynthCommand in a cdk8s app before reading its output.
	Synth bool
	// SynthCommand is the command that synthesizes a cdk8s app, run in the app's
	// directory. Default: npx --no cdk8s synth.
	SynthCommand []string
	// Parallelism bounds the sources loaded at once. 0 means GOMAXPROCS.
	Parallelism int
	// MaxBuildBytes caps what one kustomize build reads from files and the YAML it
	// gives (kustomize reads a file again for every reference to it: a tree can ask
	// for gigabytes from megabytes); over it the build fails with kustomize.ErrTooLarge.
	// 0 means DefaultMaxBuildBytes; negative, no cap.
	MaxBuildBytes int64
	// Progress, when not nil, is called as units are loaded and the tree is written.
	// It may be called from several goroutines at once.
	Progress func(Progress)
	// Expanders run, in order, on the loaded units of all sources (see [Expander]).
	Expanders []Expander
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// DefaultOptions returns options with the loaders of this package.
func DefaultOptions() Options {
	return Options{Loaders: map[Kind]Loader{
		KindYAML:      builtinLoader(KindYAML),
		KindKustomize: builtinLoader(KindKustomize),
		KindCDK8s:     builtinLoader(KindCDK8s),
	}}
}

// builtinLoader stands for a loader of this package in Options.Loaders; Render and
// Load bind it to the options they run with.
type builtinLoader Kind

func (b builtinLoader) Load(context.Context, Request) ([]*Unit, error) {
	return nil, fmt.Errorf("%w: the %s loader runs through render.Render or render.Load", ErrUnsupported, Kind(b))
}

func (o Options) bind(b builtinLoader) Loader {
	switch Kind(b) {
	case KindYAML:
		return LoaderFunc(o.loadYAML)
	case KindKustomize:
		return LoaderFunc(loadKustomize)
	case KindCDK8s:
		return LoaderFunc(o.loadCDK8s)
	}
	return b
}

// withDefaults fills what is zero, and makes the default loaders see these options.
func (o Options) withDefaults() Options {
	if o.Format == "" {
		o.Format = DefaultFormat
	}
	if o.Parallelism <= 0 {
		o.Parallelism = runtime.GOMAXPROCS(0)
	}
	if len(o.SynthCommand) == 0 {
		o.SynthCommand = []string{"npx", "--no", "cdk8s", "synth"}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	loaders := make(map[Kind]Loader, len(o.Loaders))
	for k, l := range o.Loaders {
		if b, ok := l.(builtinLoader); ok {
			l = o.bind(b)
		}
		loaders[k] = l
	}
	o.Loaders = loaders
	return o
}

// Result says what [Render] wrote.
type Result struct {
	// Out is the output directory.
	Out string `json:"out"`
	// Units in output order.
	Units []UnitResult `json:"units"`
	// Objects is the number of objects written.
	Objects int `json:"objects"`
	// Files lists every file written, slash paths relative to Out, sorted.
	Files []string `json:"files"`
	// Charts lists the Helm charts rendered, once each, sorted by name, version and
	// digest.
	Charts []Chart `json:"charts,omitempty"`
}

// UnitResult describes one unit of a rendered tree.
type UnitResult struct {
	Dir     string  `json:"dir"` // slash path relative to the output; "" for the top
	Kind    Kind    `json:"kind"`
	Source  string  `json:"source"`
	Objects int     `json:"objects"`
	Charts  []Chart `json:"charts,omitempty"`
}

// Render loads sources, checks and names their objects, and writes the tree to out:
// into a new directory next to out first, which then replaces out, so that on any
// error out is left as it was. out must not exist, be empty, or be a tree that Render
// wrote before.
func Render(ctx context.Context, out string, opts Options, sources ...string) (*Result, error) {
	opts = opts.withDefaults()
	absOut, err := filepath.Abs(out)
	if err != nil {
		return nil, err
	}
	if err := checkOutput(absOut); err != nil {
		return nil, err
	}
	units, err := load(ctx, opts, []string{absOut}, sources)
	if err != nil {
		return nil, err
	}
	tree, err := Plan(ctx, units, opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := tree.Write(ctx, out); err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		opts.Progress(Progress{Stage: "written", Unit: out, Objects: tree.Objects, Elapsed: time.Since(start)})
	}
	res := tree.Result()
	res.Out = out
	return res, nil
}

// Load reads the sources into units, several at once, without writing anything.
func Load(ctx context.Context, opts Options, sources ...string) ([]*Unit, error) {
	return load(ctx, opts.withDefaults(), nil, sources)
}

func load(ctx context.Context, opts Options, exclude, sources []string) ([]*Unit, error) {
	if len(sources) == 0 {
		return nil, errors.New("no source to render")
	}
	perSource := make([][]*Unit, len(sources))
	err := parallel.Do(ctx, len(sources), opts.Parallelism, func(i int) (err error) {
		perSource[i], err = loadOne(ctx, opts, exclude, sources[i])
		return err
	})
	if err != nil {
		return nil, err
	}
	var units []*Unit
	for i, us := range perSource {
		if len(sources) > 1 {
			prefix := sourceName(sources[i])
			for _, u := range us {
				u.Name = strings.TrimSuffix(prefix+"/"+u.Name, "/")
			}
		}
		units = append(units, us...)
	}
	for _, e := range opts.Expanders {
		if err := e.Expand(ctx, units); err != nil {
			return nil, err
		}
	}
	return units, nil
}

func loadOne(ctx context.Context, opts Options, exclude []string, src string) ([]*Unit, error) {
	kind := opts.Kind
	if kind == "" {
		var err error
		if kind, err = Detect(src); err != nil {
			return nil, err
		}
	}
	l := opts.Loaders[kind]
	if l == nil {
		return nil, fmt.Errorf("rendering %s: %w: no loader for %s sources in this program", src, ErrUnsupported, kind)
	}
	opts.Logger.Debug("loading", "source", src, "kind", kind)
	if opts.Progress != nil {
		opts.Progress(Progress{Stage: "loading", Unit: src, Kind: kind})
	}
	start := time.Now()
	maxBuild := opts.MaxBuildBytes
	if maxBuild == 0 {
		maxBuild = DefaultMaxBuildBytes
	}
	units, err := l.Load(ctx, Request{Path: src, Kind: kind, Exclude: exclude, Progress: opts.Progress, MaxBuildBytes: maxBuild})
	if err != nil {
		return nil, fmt.Errorf("rendering %s source %s: %w", kind, src, err)
	}
	for _, u := range units {
		if u.Kind == "" {
			u.Kind = kind
		}
		if u.Source == "" {
			u.Source = src
		}
		opts.Logger.Debug("loaded", "source", u.Source, "unit", u.Name, "objects", len(u.Objects), "elapsed", time.Since(start))
	}
	return units, nil
}

// sourceName is the directory a source's units go to when several sources are
// rendered together: its base name, without a .jsonnet/.yaml extension.
func sourceName(src string) string {
	base := filepath.Base(filepath.Clean(src))
	for _, ext := range []string{".jsonnet", ".yaml", ".yml"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}
