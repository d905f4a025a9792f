package manifest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"runtime"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sync/errgroup"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// DefaultMaxErrors caps the errors a check reports at once.
const DefaultMaxErrors = 20

// Index finds objects with the same identity: two that the API server would take for
// one. The zero value is not usable; make one with NewIndex.
type Index struct {
	scopes *Scopes
	seen   map[ObjectID]*Object
}

// NewIndex returns an empty index that tells namespaced kinds by scopes.
func NewIndex(scopes *Scopes) *Index {
	return &Index{scopes: scopes, seen: map[ObjectID]*Object{}}
}

// Add records o, and returns a *DuplicateError (matching ErrDuplicate) when an object
// with its identity was added before.
func (x *Index) Add(o *Object) error {
	id := x.scopes.ID(o)
	if prev := x.seen[id]; prev != nil {
		return &DuplicateError{ID: id, First: prev.Origin, Second: o.Origin}
	}
	x.seen[id] = o
	return nil
}

// File is one file of a tree to check: its slash path relative to the tree's root,
// and its content.
type File struct {
	Path string
	Data []byte
}

// CheckOptions configures [CheckFiles].
type CheckOptions struct {
	// MaxErrors caps the errors reported; 0 means DefaultMaxErrors.
	MaxErrors int
	// Parallelism bounds the files parsed at once; 0 means GOMAXPROCS.
	Parallelism int
}

// CheckFiles checks the YAML files (.yaml, .yml) of a tree the way render checks its
// sources and gitless-puller will read the tree, without building it:
//
//   - outside any directory with a kustomization file, every document of every YAML
//     file must be a Kubernetes object ([NewObject]: apiVersion, kind and metadata.name
//     non-empty strings, no key twice, no alias bomb; a List gives its items), and no
//     two objects may have the same group, kind, namespace and name;
//   - in a directory with a kustomization file, the files its resources list must be
//     objects the same way, without duplicates among them; the kustomization file and
//     the other YAML files there (patches, generator and transformer configurations)
//     must parse as YAML; every local entry of its resources must be a file or a
//     directory of the tree (ErrMissingResource): one missing, or outside the tree,
//     would fail the build where the artifact is applied.
//
// Other files are not read. Every error is reported, not only the first (up to
// MaxErrors): each names the file, and the line and document where it has them. The
// result is nil, or errors.Join of *SourceError and *DuplicateError values, in path
// order.
func CheckFiles(ctx context.Context, files []File, opts CheckOptions) error {
	if opts.MaxErrors <= 0 {
		opts.MaxErrors = DefaultMaxErrors
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.GOMAXPROCS(0)
	}
	sorted := make([]File, 0, len(files))
	for _, f := range files {
		if IsYAMLName(f.Path) {
			sorted = append(sorted, f)
		}
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	// Each kustomization's resources, read once for both uses.
	resources := map[string][]string{}
	for _, f := range files {
		if isKustomizationName(f.Path) {
			resources[f.Path] = kustomizationResources(f.Data)
		}
	}
	sets := planSets(sorted, resources)

	type parsed struct {
		objs []*Object
		err  error
	}
	results := make([]parsed, len(sorted))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Parallelism)
	for i, f := range sorted {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if sets[i] == syntaxOnly {
				results[i].err = CheckSyntax(f.Data, f.Path)
			} else if objs, ok := quickObjects(f.Data, f.Path); ok {
				results[i].objs = objs
			} else {
				results[i].objs, results[i].err = checkYAML(f.Data, f.Path, opts.MaxErrors)
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}

	var errs []error
	add := func(err error) bool {
		errs = append(errs, err)
		return len(errs) >= opts.MaxErrors
	}
	for _, err := range missingResources(files, resources) {
		if add(err) {
			return errors.Join(errs...)
		}
	}
	var all []*Object
	for i := range results {
		// A file's problems count one by one.
		var fileErrs []error
		if j, ok := results[i].err.(interface{ Unwrap() []error }); ok {
			fileErrs = j.Unwrap()
		} else if results[i].err != nil {
			fileErrs = []error{results[i].err}
		}
		for _, err := range fileErrs {
			if add(err) {
				return errors.Join(errs...)
			}
		}
		all = append(all, results[i].objs...)
	}
	scopes := NewScopes(all)
	indexes := map[string]*Index{}
	for i, r := range results {
		x := indexes[sets[i]]
		if x == nil {
			x = NewIndex(scopes)
			indexes[sets[i]] = x
		}
		for _, o := range r.objs {
			if err := x.Add(o); err != nil && add(err) {
				return errors.Join(errs...)
			}
		}
	}
	return errors.Join(errs...)
}

// syntaxOnly marks the files that need only parse.
const syntaxOnly = "\x00"

// planSets says, for each file (sorted by path), which set of objects it belongs to:
// "/" for the plain files outside any kustomization, the kustomization's directory
// for the resources it lists, syntaxOnly for the other files.
// resources holds each kustomization file's resources entries.
func planSets(files []File, resources map[string][]string) []string {
	isFile := make(map[string]bool, len(files))
	kdirs := map[string]File{} // directory → its kustomization file
	for _, f := range files {
		isFile[f.Path] = true
		if isKustomizationName(f.Path) {
			d := dirOf(f.Path)
			if _, ok := kdirs[d]; !ok {
				kdirs[d] = f
			}
		}
	}
	resourceOf := map[string]string{} // file → the kustomization directory listing it
	for d, k := range kdirs {
		for _, r := range resources[k.Path] {
			p := path.Join(d, r)
			if isFile[p] && !isKustomizationName(p) {
				if prev, ok := resourceOf[p]; !ok || len(d) > len(prev) {
					resourceOf[p] = d
				}
			}
		}
	}
	sets := make([]string, len(files))
	for i, f := range files {
		governed := false
		for d := dirOf(f.Path); ; d = dirOf(d) {
			if _, ok := kdirs[d]; ok {
				governed = true
				break
			}
			if d == "" {
				break
			}
		}
		switch k, listed := resourceOf[f.Path]; {
		case !governed:
			sets[i] = "/"
		case listed:
			sets[i] = "kustomization " + k
		default:
			sets[i] = syntaxOnly
		}
	}
	return sets
}

// missingResources returns an error for each local entry of resources (a kustomization
// file's) that names no file or directory among files, in path order. Entries
// kustomize would fetch (URLs, git addresses) are left to the build.
func missingResources(files []File, resources map[string][]string) []error {
	have := map[string]bool{"": true}
	for _, f := range files {
		have[f.Path] = true
		for d := dirOf(f.Path); d != "" && !have[d]; d = dirOf(d) {
			have[d] = true
		}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(resources)) {
		for _, r := range resources[k] {
			if RemoteEntry(r) {
				continue
			}
			p := path.Join(dirOf(k), r)
			switch {
			case p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(r):
				errs = append(errs, &SourceError{Origin: Origin{File: k}, Err: fmt.Errorf("%w: resources entry %q is outside the tree", ErrMissingResource, r)})
			case !have[strings.TrimPrefix(p, "./")]:
				errs = append(errs, &SourceError{Origin: Origin{File: k}, Err: fmt.Errorf("%w: resources entry %q: no file or directory %s", ErrMissingResource, r, p)})
			}
		}
	}
	return errs
}

// RemoteEntry reports whether kustomize might fetch the kustomization entry s rather
// than read a local path: a URL with a scheme, a go-getter style "git::..." address, a
// user before an "@" in the first path segment ("user@host:path", and "user@host/path",
// which kustomize reads as an scp-style address too), or GitHub's short forms
// ("github.com/org/repo", "gh:org/repo"): kustomize tries those as a git repository
// before a directory of that name, and its git fetch passes the address's ?ref= to git
// as an argument (an option such as --upload-pack runs a command).
func RemoteEntry(s string) bool {
	s = strings.TrimSpace(s)
	l := strings.ToLower(s)
	first, _, _ := strings.Cut(s, "/")
	return strings.Contains(s, "://") || strings.Contains(s, "::") || strings.Contains(first, "@") ||
		strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:") || strings.HasPrefix(l, "gh:")
}

// dirOf is the directory of a slash path, "" for the root.
func dirOf(p string) string {
	d := path.Dir(p)
	if d == "." || d == "/" {
		return ""
	}
	return d
}

// kustomizationResources returns the local resource entries of a kustomization
// (resources, and the legacy bases); nil when it does not parse (kustomize says why
// at build time).
func kustomizationResources(data []byte) []string {
	var k struct {
		Resources []string `yaml:"resources"`
		Bases     []string `yaml:"bases"`
	}
	if yaml.Unmarshal(data, &k) != nil {
		return nil
	}
	return append(k.Resources, k.Bases...)
}
