package jsonnet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/google/go-jsonnet"
	"github.com/google/go-jsonnet/ast"
	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// nativeFuncs are the std.native functions of Tanka that need no outside tool.
// helmTemplate comes from render/helm through Options.Natives; kustomizeBuild is
// not offered.
func nativeFuncs() []*jsonnet.NativeFunction {
	str := func(args []any, i int) (string, error) {
		s, ok := args[i].(string)
		if !ok {
			return "", fmt.Errorf("argument %d must be a string, not %T", i+1, args[i])
		}
		return s, nil
	}
	return []*jsonnet.NativeFunction{
		{Name: "parseJson", Params: ast.Identifiers{"json"}, Func: func(args []any) (any, error) {
			s, err := str(args, 0)
			if err != nil {
				return nil, err
			}
			var v any
			err = json.Unmarshal([]byte(s), &v)
			return v, err
		}},
		{Name: "parseYaml", Params: ast.Identifiers{"yaml"}, Func: func(args []any) (any, error) {
			s, err := str(args, 0)
			if err != nil {
				return nil, err
			}
			return parseYAMLDocs(s)
		}},
		{Name: "manifestJsonFromJson", Params: ast.Identifiers{"json", "indent"}, Func: func(args []any) (any, error) {
			s, err := str(args, 0)
			if err != nil {
				return nil, err
			}
			n, ok := args[1].(float64)
			if !ok {
				return nil, fmt.Errorf("indent must be a number")
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, []byte(s), "", string(bytes.Repeat([]byte{' '}, int(n)))); err != nil {
				return nil, err
			}
			return buf.String() + "\n", nil
		}},
		{Name: "manifestYamlFromJson", Params: ast.Identifiers{"json"}, Func: func(args []any) (any, error) {
			s, err := str(args, 0)
			if err != nil {
				return nil, err
			}
			b, err := yaml.JSONToYAML([]byte(s))
			return string(b), err
		}},
		{Name: "sha256", Params: ast.Identifiers{"str"}, Func: func(args []any) (any, error) {
			s, err := str(args, 0)
			if err != nil {
				return nil, err
			}
			sum := sha256.Sum256([]byte(s))
			return hex.EncodeToString(sum[:]), nil
		}},
		{Name: "escapeStringRegex", Params: ast.Identifiers{"str"}, Func: func(args []any) (any, error) {
			s, err := str(args, 0)
			if err != nil {
				return nil, err
			}
			return regexp.QuoteMeta(s), nil
		}},
		{Name: "regexMatch", Params: ast.Identifiers{"regex", "string"}, Func: func(args []any) (any, error) {
			re, err := str(args, 0)
			if err != nil {
				return nil, err
			}
			s, err := str(args, 1)
			if err != nil {
				return nil, err
			}
			return regexp.MatchString(re, s)
		}},
		{Name: "regexSubst", Params: ast.Identifiers{"regex", "src", "repl"}, Func: func(args []any) (any, error) {
			re, err := str(args, 0)
			if err != nil {
				return nil, err
			}
			src, err := str(args, 1)
			if err != nil {
				return nil, err
			}
			repl, err := str(args, 2)
			if err != nil {
				return nil, err
			}
			r, err := regexp.Compile(re)
			if err != nil {
				return nil, err
			}
			return r.ReplaceAllString(src, repl), nil
		}},
	}
}

// parseYAMLDocs returns every non-empty document of a YAML stream as JSON data, as
// Tanka's parseYaml does.
func parseYAMLDocs(s string) (any, error) {
	dec := yamlv3.NewDecoder(strings.NewReader(s))
	docs := []any{}
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		b, err := json.Marshal(v) // to JSON's types: float64, map[string]any, ...
		if err != nil {
			return nil, err
		}
		var j any
		if err := json.Unmarshal(b, &j); err != nil {
			return nil, err
		}
		docs = append(docs, j)
	}
}
