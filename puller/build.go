package puller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/manifest/kustomize"
	"github.com/gitless-dev/gitless/puller/apply"
)

// Builder turns the directory of an extracted artifact into objects.
type Builder interface {
	Build(ctx context.Context, dir string) ([]*unstructured.Unstructured, error)
}

// KustomizeBuilder builds the way render's output and plain trees are meant to be
// built: kustomize build (manifest/kustomize: krusty, files loaded from anywhere below
// Root and nowhere else when it is set, as Flux builds an artifact; no plugins, exec,
// containers, Helm or remote bases) when dir has
// a kustomization file; otherwise the plain YAML files below dir that push's ignore
// rules keep ([manifest.Walk]: those the kustomization render generates for such a
// tree would list), with every directory below that has its own kustomization built
// as kustomize would. Every document is checked ([manifest.ParseYAML]: a mapping with
// apiVersion, kind and metadata.name, no key twice, no alias bomb) and the set too (no
// two objects with one identity, not empty unless AllowEmpty); puller/apply then
// checks it against the cluster. Nothing of render, no Jsonnet engine and no cdk8s
// synth is reachable from here.
type KustomizeBuilder struct {
	// AllowEmpty accepts a directory with no objects.
	AllowEmpty bool
	// MaxBuildBytes caps what the kustomize builds of one Build read from files and
	// give, together (kustomize.Budget): a generator or base that reads the same files
	// over and over fails the build instead of taking the puller's memory. 0: no cap.
	// The puller sets it to the artifact's cap on file content (limits.extract
	// .maxTotalSize): a build may take in as much as an artifact may hold.
	MaxBuildBytes int64
	// TargetNamespace, when set, is given to the set as Flux gives it: the namespace of
	// a kustomization around everything built, so that kustomize's namespace
	// transformer does what it does under Flux (a Namespace object of the set renamed to
	// it, the subjects of RoleBindings that name the set's service accounts moved).
	TargetNamespace string
	// NamePrefix, NameSuffix, Patches and Images are written into the kustomization
	// file at the top of dir before it is built, as Flux's generator writes its
	// Kustomization's fields of these names: the prefix and suffix replace the file's,
	// an image replaces the file's entry of the same name, the patches come after the
	// file's. Build edits that file in place: dir is a copy (the puller's extraction).
	// A directory without one is built first and given them in a kustomization around
	// everything built, as the one Flux generates.
	NamePrefix, NameSuffix string
	Patches                []Patch
	Images                 []Image
	// Root is the top of the artifact, below which a kustomization may read files (an
	// overlay naming ../../base/ns.yaml), and outside which nothing is read (the puller
	// sets it to the extraction directory); "": kustomize's root-only rule, as the
	// kustomize CLI builds.
	Root string
}

// Build implements Builder.
func (b KustomizeBuilder) Build(ctx context.Context, dir string) ([]*unstructured.Unstructured, error) {
	// Each file's YAML tree, about ten times the size of its text, is let go as soon as
	// its objects are maps: the tree is checked on the objects' heads.
	var (
		out    []*unstructured.Unstructured
		heads  []*manifest.Object
		scopes = manifest.NewScopes(nil)
	)
	kopts := kustomize.BuildOptions{Root: b.Root}
	if b.MaxBuildBytes > 0 {
		kopts.Budget = kustomize.NewBudget(b.MaxBuildBytes)
	}
	edited := false
	if f := kustomize.File(dir); f != "" && b.kustomizes() {
		if err := b.editKustomization(f); err != nil {
			return nil, err
		}
		edited = true
	}
	err := loadTree(ctx, dir, kopts, func(objs []*manifest.Object) error {
		for _, o := range objs {
			scopes.Learn(o)
			u, err := unstructuredOf(o)
			if err != nil {
				return err
			}
			out = append(out, u)
			heads = append(heads, o.Head())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 && !b.AllowEmpty {
		return nil, fmt.Errorf("%w in %s", manifest.ErrEmpty, dir)
	}
	// What is not written into the kustomization is given in one around the set.
	wrap := b
	if edited {
		wrap = KustomizeBuilder{TargetNamespace: b.TargetNamespace}
	}
	if (wrap.TargetNamespace != "" || wrap.kustomizes()) && len(out) > 0 {
		if out, heads, err = wrap.around(ctx, out); err != nil {
			return nil, err
		}
	}
	var errs []error
	index := manifest.NewIndex(scopes)
	for _, o := range heads {
		if err := index.Add(o); err != nil {
			if errs = append(errs, err); len(errs) == manifest.DefaultMaxErrors {
				break
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// unstructuredOf returns o's content as an unstructured object.
func unstructuredOf(o *manifest.Object) (*unstructured.Unstructured, error) {
	v, err := o.Value()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o, err)
	}
	obj, ok := jsonValue(v).(map[string]any)
	if !ok {
		// Something JSON has no direct form for: let encoding/json decide.
		data, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o, err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(data); err != nil {
			return nil, fmt.Errorf("%s: %w", o, err)
		}
		obj = u.Object
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// loadTree reads dir's objects, a file or a kustomize build at a time, and passes them
// to visit: kustomize build of dir, or its plain files and the builds of the
// kustomizations below it.
func loadTree(ctx context.Context, dir string, kopts kustomize.BuildOptions, visit func([]*manifest.Object) error) error {
	if kustomize.File(dir) != "" {
		objs, err := kustomize.BuildObjects(ctx, dir, kopts)
		if err != nil {
			return err
		}
		return visit(objs)
	}
	layout, err := manifest.Walk(ctx, dir, manifest.WalkOptions{})
	if err != nil {
		return err
	}
	if len(layout.Charts) > 0 {
		return fmt.Errorf("%s: %w: the puller applies manifests; render the chart in CI", layout.Charts[0], manifest.ErrChartInTree)
	}
	for _, f := range layout.Files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		got, err := manifest.ParseYAML(data, filepath.ToSlash(f), manifest.ParseYAMLOptions{})
		if err != nil {
			return err
		}
		if err := visit(got); err != nil {
			return err
		}
	}
	for _, rel := range layout.Kustomizations {
		got, err := kustomize.BuildObjects(ctx, filepath.Join(dir, filepath.FromSlash(rel)), kopts)
		if err != nil {
			return err
		}
		if err := visit(got); err != nil {
			return err
		}
	}
	return nil
}

// jsonValue converts what a YAML decoder gives into the types of JSON-decoded
// unstructured data (int64, float64, string, bool, nil, maps with string keys, slices),
// in place. It returns nil for anything else, and the caller falls back to JSON.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, float64:
		return x
	case int:
		return int64(x)
	case map[string]any:
		for k, e := range x {
			c := jsonValue(e)
			if c == nil && e != nil {
				return nil
			}
			x[k] = c
		}
		return x
	case []any:
		for i, e := range x {
			c := jsonValue(e)
			if c == nil && e != nil {
				return nil
			}
			x[i] = c
		}
		return x
	}
	return nil
}

// kustomizes tells whether any of the kustomize fields but the namespace is set.
func (b KustomizeBuilder) kustomizes() bool {
	return b.NamePrefix != "" || b.NameSuffix != "" || len(b.Patches) > 0 || len(b.Images) > 0
}

// editKustomization writes the prefix, suffix, images and patches into the
// kustomization file f, as Flux's generator does.
func (b KustomizeBuilder) editKustomization(f string) error {
	fail := func(err error) error {
		return fmt.Errorf("setting namePrefix, nameSuffix, patches or images in %s: %w", filepath.Base(f), err)
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return fail(err)
	}
	var k map[string]any
	if err := yaml.Unmarshal(data, &k); err != nil {
		return fail(err)
	}
	if k == nil {
		k = map[string]any{}
	}
	if b.NamePrefix != "" {
		k["namePrefix"] = b.NamePrefix
	}
	if b.NameSuffix != "" {
		k["nameSuffix"] = b.NameSuffix
	}
	for _, field := range []string{"images", "patches"} {
		if v, ok := k[field]; ok && v != nil {
			if _, ok := v.([]any); !ok {
				return fail(fmt.Errorf("its %s is not a list", field))
			}
		}
	}
	if len(b.Images) > 0 {
		images, _ := k["images"].([]any)
	next:
		for _, im := range b.Images {
			var m map[string]any
			if err := remarshal(im, &m); err != nil {
				return fail(err)
			}
			for i, old := range images {
				if o, _ := old.(map[string]any); o != nil && o["name"] == im.Name {
					images[i] = m
					continue next
				}
			}
			images = append(images, m)
		}
		k["images"] = images
	}
	if len(b.Patches) > 0 {
		patches, _ := k["patches"].([]any)
		for _, p := range b.Patches {
			var m map[string]any
			if err := remarshal(p, &m); err != nil {
				return fail(err)
			}
			patches = append(patches, m)
		}
		k["patches"] = patches
	}
	out, err := yaml.Marshal(k)
	if err != nil {
		return fail(err)
	}
	return os.WriteFile(f, out, 0o644)
}

// remarshal converts v to out through JSON.
func remarshal(v, out any) error {
	j, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(j, out)
}

// around runs kustomize's transformers over objs, as Flux does for a Kustomization's
// targetNamespace, namePrefix, nameSuffix, patches and images (it writes them into
// the kustomization it builds): a kustomization with these fields around all of them,
// built in memory.
func (b KustomizeBuilder) around(ctx context.Context, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, []*manifest.Object, error) {
	var stream bytes.Buffer
	for _, u := range objs {
		data, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", apply.RefOf(u), err)
		}
		stream.WriteString("---\n")
		stream.Write(data)
	}
	k := map[string]any{"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": []string{"objects.yaml"}}
	var what []string
	if b.TargetNamespace != "" {
		k["namespace"] = b.TargetNamespace
		what = append(what, "targetNamespace "+b.TargetNamespace)
	}
	if b.NamePrefix != "" {
		k["namePrefix"] = b.NamePrefix
		what = append(what, "namePrefix "+b.NamePrefix)
	}
	if b.NameSuffix != "" {
		k["nameSuffix"] = b.NameSuffix
		what = append(what, "nameSuffix "+b.NameSuffix)
	}
	if len(b.Patches) > 0 {
		k["patches"] = b.Patches
		what = append(what, "patches")
	}
	if len(b.Images) > 0 {
		k["images"] = b.Images
		what = append(what, "images")
	}
	doing := "setting " + strings.Join(what, ", ")
	kdata, err := yaml.Marshal(k)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", doing, err)
	}
	built, err := kustomize.BuildFiles(ctx, map[string][]byte{"kustomization.yaml": kdata, "objects.yaml": stream.Bytes()})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", doing, err)
	}
	parsed, err := manifest.ParseYAML(built, doing, manifest.ParseYAMLOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", doing, err)
	}
	out := make([]*unstructured.Unstructured, 0, len(parsed))
	heads := make([]*manifest.Object, 0, len(parsed))
	for _, o := range parsed {
		u, err := unstructuredOf(o)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, u)
		heads = append(heads, o.Head())
	}
	return out, heads, nil
}
