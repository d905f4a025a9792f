package kustomize

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"

	"github.com/gitless-dev/gitless/manifest"
)

// ErrRefused is returned for a kustomization that uses what gitless does not allow:
// remote resources or files, Helm charts.
var ErrRefused = errors.New("refused")

// FileNames are the names of a kustomization file, in kustomize's order.
var FileNames = manifest.KustomizationFiles

// kustomize keeps the OpenAPI schema of the build in a package variable, so two
// builds must not run at once.
var buildMu sync.Mutex

// Options returns the krusty options gitless builds with: load restrictions
// root-only, plugins disabled (builtins only, statically linked; no exec, container
// or Helm), and kustomize's legacy resource order, as the kustomize CLI sorts.
func Options() *krusty.Options {
	o := krusty.MakeDefaultOptions()
	o.LoadRestrictions = types.LoadRestrictionsRootOnly
	o.PluginConfig = types.DisabledPluginConfig()
	o.Reorder = krusty.ReorderOptionLegacy
	o.AddManagedbyLabel = false
	return o
}

// BuildOptions bound a build. The zero value bounds nothing.
type BuildOptions struct {
	// Budget, when set, caps the bytes the build reads from files (every read: a file
	// a generator names ten times counts ten times) and the YAML it gives, shared
	// with every other build given the same Budget. A build over it fails with
	// ErrTooLarge. Set it where the tree is not trusted (the puller).
	Budget *Budget
	// Root, when set, lets a kustomization read files anywhere below Root, not only
	// below its own directory (Flux builds an artifact's kustomizations so: an overlay
	// may name ../../base/ns.yaml), and nowhere else: every path the build touches is
	// checked to be below Root, its links resolved (ErrRefused). Unset, kustomize's
	// root-only restriction applies.
	Root string
}

// run runs kustomize under buildMu. A panic of kustomize (kyaml panics on some
// malformed input: a patch whose metadata.annotations is a list) is an error of the
// build rather than the end of the process: the puller serves other sources, and the
// value is not quoted (it may be part of a Secret).
func run(opts *krusty.Options, fs filesys.FileSystem, path string) (m resmap.ResMap, err error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	// A kustomization's openapi field loads its schema into kyaml's process-wide
	// state, which nothing else resets: the next build (another source's) and every
	// scope lookup would use it, and a malformed one makes them panic.
	defer openapi.ResetOpenAPI()
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("%w: kustomize failed on malformed input (it panicked: %T)", ErrPanicked, r)
		}
	}()
	return krusty.MakeKustomizer(opts).Run(fs, path)
}

// ErrPanicked is the error of a build that kustomize ended in a panic.
var ErrPanicked = errors.New("kustomize panicked")

// Build runs kustomize build on dir and returns the YAML stream it gives. The
// kustomization and every local base it reaches are checked first ([CheckLocal]).
// A done ctx stops the build at its next file read.
func Build(ctx context.Context, dir string, opts BuildOptions) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var fs filesys.FileSystem = budgetFS{FileSystem: filesys.MakeFsOnDisk(), ctx: ctx, budget: opts.Budget}
	kopts := Options()
	if opts.Root != "" {
		root, err := manifest.RealPath(opts.Root)
		if err != nil {
			return nil, err
		}
		if real, err := manifest.RealPath(abs); err != nil || !manifest.Within(root, real) {
			return nil, fmt.Errorf("kustomize build %s: %w: not below %s", dir, ErrRefused, opts.Root)
		}
		fs = confinedFS{FileSystem: fs, root: root}
		kopts.LoadRestrictions = types.LoadRestrictionsNone
	}
	if err := CheckLocal(dir); err != nil {
		return nil, err
	}
	m, err := run(kopts, fs, abs)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	out, err := m.AsYaml()
	if err == nil {
		err = opts.Budget.take(len(out), "the YAML it gives")
	}
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	return out, ctx.Err()
}

// BuildFiles runs kustomize build on an in-memory tree: files by slash path, the
// kustomization.yaml at the top. Nothing on disk or on the network is read: every
// resource must be one of files, and no entry may be a URL. Options are Build's.
func BuildFiles(ctx context.Context, files map[string][]byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var k types.Kustomization
	if err := k.Unmarshal(files[FileNames[0]]); err != nil {
		return nil, fmt.Errorf("%s: %w", FileNames[0], err)
	}
	err := checkFields(FileNames[0], &k, func(field, e string) error {
		if _, ok := files[path.Clean(e)]; !ok {
			return refuse(FileNames[0], field, e, "not one of the files given")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	fs := filesys.MakeFsInMemory()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		abs := path.Join("/", p)
		if err := fs.MkdirAll(path.Dir(abs)); err != nil {
			return nil, err
		}
		if err := fs.WriteFile(abs, files[p]); err != nil {
			return nil, err
		}
	}
	m, err := run(Options(), fs, "/")
	if err != nil {
		return nil, fmt.Errorf("kustomize build: %w", err)
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build: %w", err)
	}
	return out, ctx.Err()
}

// File returns the kustomization file of dir, or "".
func File(dir string) string { return manifest.KustomizationFile(dir) }

// BuildObjects is Build read into objects, each with the origin "DIR (kustomize
// build)".
func BuildObjects(ctx context.Context, dir string, opts BuildOptions) ([]*manifest.Object, error) {
	out, err := Build(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	file := filepath.ToSlash(dir)
	objs, err := manifest.ParseYAML(out, file, manifest.ParseYAMLOptions{})
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		o.Origin = manifest.Origin{File: file, Path: "kustomize build"}
	}
	return objs, nil
}

// CheckLocal reads the kustomization in dir and those of the local bases and
// components it reaches, and refuses (ErrRefused) any resource, component, generator,
// transformer or validator that is not a local path (git and HTTP URLs, which kustomize
// would fetch), any file to load that is an HTTP URL, and Helm charts.
func CheckLocal(dir string) error {
	return checkLocal(dir, map[string]bool{})
}

func checkLocal(dir string, seen map[string]bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if seen[abs] {
		return nil // kustomize reports cycles itself
	}
	seen[abs] = true
	file := File(dir)
	if file == "" {
		return fmt.Errorf("%s: no kustomization file (%s)", dir, strings.Join(FileNames, ", "))
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	return checkFields(file, &k, func(field, e string) error {
		if manifest.RemoteEntry(e) {
			return refuse(file, field, e, "remote resources are not allowed; vendor them into the source tree")
		}
		p := filepath.Join(dir, e)
		fi, err := os.Stat(p)
		if err != nil {
			return refuse(file, field, e, "no such file or directory in the tree")
		}
		if fi.IsDir() {
			return checkLocal(p, seen)
		}
		return nil
	})
}

func refuse(file, field, entry, why string) error {
	return fmt.Errorf("%s: %s entry %q: %w: %s", file, field, entry, ErrRefused, why)
}

// checkFields checks the entries of a kustomization: root calls each entry that
// kustomize may open as a new root (a resource, component, generator, transformer
// or validator; inline configurations are left out); entries loaded as files must
// not be URLs; Helm charts are refused.
func checkFields(file string, k *types.Kustomization, root func(field, entry string) error) error {
	k.FixKustomization()
	roots := map[string][]string{
		"resources": k.Resources, "components": k.Components, "generators": k.Generators,
		"transformers": k.Transformers, "validators": k.Validators,
	}
	for _, field := range []string{"resources", "components", "generators", "transformers", "validators"} {
		for _, e := range roots[field] {
			if strings.Contains(e, "\n") {
				continue // an inline configuration
			}
			if err := root(field, e); err != nil {
				return err
			}
		}
	}
	// entries kustomize loads as files: only http(s) URLs would be fetched
	files := map[string][]string{"crds": k.Crds, "configurations": k.Configurations}
	for _, p := range k.Patches {
		files["patches"] = append(files["patches"], p.Path)
	}
	for _, p := range k.PatchesJson6902 {
		files["patchesJson6902"] = append(files["patchesJson6902"], p.Path)
	}
	for _, p := range k.PatchesStrategicMerge {
		files["patchesStrategicMerge"] = append(files["patchesStrategicMerge"], string(p))
	}
	for _, r := range k.Replacements {
		files["replacements"] = append(files["replacements"], r.Path)
	}
	for _, g := range k.ConfigMapGenerator {
		files["configMapGenerator"] = append(files["configMapGenerator"], sourcePaths(g.FileSources, g.EnvSources)...)
	}
	for _, g := range k.SecretGenerator {
		files["secretGenerator"] = append(files["secretGenerator"], sourcePaths(g.FileSources, g.EnvSources)...)
	}
	if p := k.OpenAPI["path"]; p != "" {
		files["openapi"] = append(files["openapi"], p)
	}
	for _, field := range slices.Sorted(maps.Keys(files)) {
		for _, e := range files[field] {
			if manifest.RemoteEntry(e) {
				return refuse(file, field, e, "remote files are not allowed; vendor them into the source tree")
			}
		}
	}
	if len(k.HelmCharts) > 0 {
		return refuse(file, "helmCharts", k.HelmCharts[0].Name, "kustomize does not run Helm; render the chart as a helm source of its own")
	}
	return nil
}

// sourcePaths returns the paths of generator file sources ("[key=]path") and env files.
func sourcePaths(fileSources, envSources []string) []string {
	var ps []string
	for _, f := range fileSources {
		if _, p, ok := strings.Cut(f, "="); ok {
			f = p
		}
		ps = append(ps, f)
	}
	return append(ps, envSources...)
}
