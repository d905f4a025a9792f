package redact

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/gitless-dev/gitless/manifest"
)

// maxScan bounds what AddTree reads of one file.
const maxScan = 8 << 20

// AddTree adds the secret values an extracted tree holds, before anything parses it
// for real (so that the build's own errors can be scrubbed): the data and stringData
// of every Secret document in a YAML or JSON file, and the literals, env files and
// files of every kustomization's secretGenerator. Files that do not parse are
// skipped: the build reports them. Only files that mention "Secret" or
// "secretGenerator" are parsed, and aliases are not followed.
func (s *Set) AddTree(ctx context.Context, dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	fsys := root.FS()
	// A file that generators name many times (a hostile kustomization may list one
	// 8 MiB file a thousand times) is read and added once.
	seen := map[string]bool{}
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		name := path.Base(p)
		kust := name == "kustomization.yaml" || name == "kustomization.yml" || name == "Kustomization"
		ext := path.Ext(name)
		if !kust && ext != ".yaml" && ext != ".yml" && ext != ".json" {
			return nil
		}
		data, err := readCapped(fsys, p)
		if err != nil {
			return nil // the build reports what cannot be read
		}
		if bytes.Contains(data, []byte("secretGenerator")) && kust {
			s.addGenerators(ctx, fsys, path.Dir(p), data, seen)
		}
		if bytes.Contains(data, []byte("Secret")) {
			s.addDocuments(data)
		}
		return nil
	})
}

func readCapped(fsys fs.FS, p string) ([]byte, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxScan))
}

// addDocuments adds the values of the Secrets among the YAML documents of data.
func (s *Set) addDocuments(data []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return
		}
		root := &n
		if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
			root = root.Content[0]
		}
		s.addSecretNode(root)
		// A List's items.
		if items := manifest.MappingValue(root, "items"); items != nil && items.Kind == yaml.SequenceNode {
			for _, it := range items.Content {
				s.addSecretNode(it)
			}
		}
	}
}

// addSecretNode adds the data and stringData values of a Secret mapping, every
// scalar under them as written, and each data value decoded.
func (s *Set) addSecretNode(m *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	av, k := manifest.MappingValue(m, "apiVersion"), manifest.MappingValue(m, "kind")
	if av == nil || k == nil || !IsSecret(av.Value, k.Value) {
		return
	}
	for _, f := range []string{"data", "stringData"} {
		v := manifest.MappingValue(m, f)
		if v == nil {
			continue
		}
		if v.Kind != yaml.MappingNode {
			s.addScalars(v)
			continue
		}
		for i := 1; i < len(v.Content); i += 2 {
			val := v.Content[i]
			switch {
			case val.Kind == yaml.ScalarNode && f == "data":
				s.AddData(val.Value)
			case val.Kind == yaml.ScalarNode:
				s.AddStringData(val.Value)
			default:
				s.addScalars(val)
			}
		}
	}
}

// addScalars adds every scalar under n as written (aliases are not followed).
func (s *Set) addScalars(n *yaml.Node) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		s.Add(n.Value)
		return
	}
	if n.Kind == yaml.AliasNode {
		return
	}
	for _, c := range n.Content {
		s.addScalars(c)
	}
}

// addGenerators adds the inputs of a kustomization's secretGenerators: each literal
// (whole and its value), each line of its env files (whole and its value) and the
// content of its files, read from dir inside fsys; files in seen are not read again.
func (s *Set) addGenerators(ctx context.Context, fsys fs.FS, dir string, data []byte, seen map[string]bool) {
	var k struct {
		SecretGenerator []struct {
			Literals []string `yaml:"literals"`
			Files    []string `yaml:"files"`
			Envs     []string `yaml:"envs"`
			Env      string   `yaml:"env"`
		} `yaml:"secretGenerator"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		return
	}
	for _, g := range k.SecretGenerator {
		for _, l := range g.Literals {
			s.addKeyValue(l)
		}
		envs := g.Envs
		if g.Env != "" {
			envs = append(envs, g.Env)
		}
		for _, e := range envs {
			p := path.Join(dir, e)
			if seen[p] || ctx.Err() != nil {
				continue
			}
			seen[p] = true
			b, err := readCapped(fsys, p)
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(bytes.NewReader(b))
			sc.Buffer(nil, maxScan)
			for sc.Scan() {
				if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
					s.addKeyValue(line)
				}
			}
		}
		for _, f := range g.Files {
			if _, p, ok := strings.Cut(f, "="); ok {
				f = p
			}
			p := path.Join(dir, f)
			if seen[p] || ctx.Err() != nil {
				continue
			}
			seen[p] = true
			if b, err := readCapped(fsys, p); err == nil {
				s.Add(string(b))
				s.Add(strings.TrimSpace(string(b)))
			}
		}
	}
}

// addKeyValue adds "KEY=VALUE" whole and VALUE (unquoted, as kustomize unquotes it);
// a line without "=" is all secret.
func (s *Set) addKeyValue(l string) {
	s.Add(l)
	if _, v, ok := strings.Cut(l, "="); ok {
		s.Add(v)
		if uq, err := unquote(v); err == nil {
			s.Add(uq)
		}
	}
}

func unquote(v string) (string, error) {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1], nil
	}
	return v, io.EOF
}
