package render

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitless-dev/gitless/manifest"
)

// Kind is the kind of a source.
type Kind string

// The source kinds.
const (
	// KindYAML is a directory (recursive) or file of plain YAML manifests.
	KindYAML Kind = "yaml"
	// KindJsonnet is a .jsonnet file (or a directory with main.jsonnet) outside a
	// Tanka project.
	KindJsonnet Kind = "jsonnet"
	// KindTanka is a Tanka environment, or a directory holding several.
	KindTanka Kind = "tanka"
	// KindCDK8s is a cdk8s app (a directory with cdk8s.yaml) or its output directory.
	KindCDK8s Kind = "cdk8s"
	// KindKustomize is a directory with a kustomization file, built with kustomize.
	KindKustomize Kind = "kustomize"
	// KindHelm is a Helm chart: a directory with Chart.yaml, a .tgz, or an
	// oci:// reference. Its loader is in render/helm.
	KindHelm Kind = "helm"
)

// Kinds lists every kind, in the order detection tries them.
var Kinds = []Kind{KindHelm, KindKustomize, KindCDK8s, KindTanka, KindJsonnet, KindYAML}

// ParseKind reads a kind name; "" and "auto" mean: detect.
func ParseKind(s string) (Kind, error) {
	switch k := Kind(strings.ToLower(s)); k {
	case "", "auto":
		return "", nil
	case KindYAML, KindJsonnet, KindTanka, KindCDK8s, KindKustomize, KindHelm:
		return k, nil
	case "yml":
		return KindYAML, nil
	case "tk":
		return KindTanka, nil
	}
	return "", fmt.Errorf("%w: source kind %q (want yaml, jsonnet, tanka, cdk8s, kustomize or helm)", ErrUnsupported, s)
}

// OCIScheme starts a source that is a chart in an OCI registry.
const OCIScheme = "oci://"

// Files that mark a source kind.
const (
	CDK8sConfigFile   = "cdk8s.yaml"
	TankaMainFile     = "main.jsonnet"
	TankaSpecFile     = "spec.json"
	JsonnetfileFile   = "jsonnetfile.json"
	TankaRCFile       = "tkrc.yaml"
	HelmChartFile     = manifest.HelmChartFile
	cdk8sOutputSuffix = ".k8s.yaml"
)

// Detect tells the kind of the source at path, by these rules, first match wins:
//
//   - an oci:// reference, a .tgz file or a directory with Chart.yaml: helm;
//   - a .jsonnet or .libsonnet file: tanka when a Tanka project root (a directory with
//     jsonnetfile.json or tkrc.yaml) is above it, else jsonnet;
//   - a directory with a kustomization file: kustomize;
//   - a directory with cdk8s.yaml, or whose YAML files are all *.k8s.yaml: cdk8s;
//   - a directory with main.jsonnet: tanka when a project root is at or above it,
//     else jsonnet;
//   - a Tanka project root, or a directory inside one that holds environments
//     (main.jsonnet files) below it: tanka;
//   - anything else: yaml.
func Detect(path string) (Kind, error) {
	if strings.HasPrefix(path, OCIScheme) {
		return KindHelm, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("source %s: %w", path, ErrNotFound)
		}
		return "", fmt.Errorf("source %s: %w", path, err)
	}
	if !fi.IsDir() {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".tgz":
			return KindHelm, nil
		case ".jsonnet", ".libsonnet":
			if _, ok := FindTankaRoot(filepath.Dir(path)); ok {
				return KindTanka, nil
			}
			return KindJsonnet, nil
		}
		return KindYAML, nil
	}
	if isFile(filepath.Join(path, HelmChartFile)) {
		return KindHelm, nil
	}
	if manifest.KustomizationFile(path) != "" {
		return KindKustomize, nil
	}
	if exists(filepath.Join(path, CDK8sConfigFile)) || isCDK8sOutput(path) {
		return KindCDK8s, nil
	}
	_, inTanka := FindTankaRoot(path)
	if exists(filepath.Join(path, TankaMainFile)) {
		if inTanka {
			return KindTanka, nil
		}
		return KindJsonnet, nil
	}
	if inTanka && hasTankaEnvironments(path) {
		return KindTanka, nil
	}
	return KindYAML, nil
}

// FindTankaRoot finds the Tanka project root of dir the way Tanka does: the nearest
// directory at or above dir with tkrc.yaml, else the nearest with jsonnetfile.json.
func FindTankaRoot(dir string) (string, bool) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for _, marker := range []string{TankaRCFile, JsonnetfileFile} {
		for d := abs; ; {
			if isFile(filepath.Join(d, marker)) {
				return d, true
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return "", false
}

// skipWhenSearching are directories never searched for environments or manifests'
// kind markers: dependencies, not sources.
func skipWhenSearching(name string) bool {
	return strings.HasPrefix(name, ".") || name == "vendor" || name == "node_modules"
}

// hasTankaEnvironments reports whether any directory below dir (not vendor/,
// node_modules/ or hidden ones) holds a main.jsonnet.
func hasTankaEnvironments(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return filepath.SkipDir
		}
		if d.IsDir() && p != dir && skipWhenSearching(d.Name()) {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == TankaMainFile {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// isCDK8sOutput reports whether dir holds YAML files (at its top or one level down,
// the layouts cdk8s writes) and all of them end in .k8s.yaml.
func isCDK8sOutput(dir string) bool {
	n := 0
	ok := true
	var visit func(d string, depth int)
	visit = func(d string, depth int) {
		des, err := os.ReadDir(d)
		if err != nil {
			ok = false
			return
		}
		for _, de := range des {
			switch {
			case de.IsDir() && depth == 0 && !skipWhenSearching(de.Name()):
				visit(filepath.Join(d, de.Name()), 1)
			case de.IsDir():
				ok = false
			case manifest.IsYAMLName(de.Name()):
				if !strings.HasSuffix(de.Name(), cdk8sOutputSuffix) {
					ok = false
				}
				n++
			}
		}
	}
	visit(dir, 0)
	return ok && n > 0
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
