package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"sigs.k8s.io/yaml"
)

// durationKeys are a source's fields written as durations, shortened by Marshal.
var durationKeys = map[string]bool{"interval": true, "driftInterval": true, "retryInterval": true, "timeout": true}

// Marshal writes c as YAML (what convert-flux prints, and install puts in its ConfigMap) in its fields' order (name and url first, as the docs
// write a source) rather than sorted, with a source's durations as written by hand
// ("1m", not "1m0s"), and every string quoted where YAML 1.1 would read it otherwise.
func Marshal(c *PullerConfig) ([]byte, error) {
	j, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	var n yamlv3.Node
	if err := yamlv3.Unmarshal(escapeForYAML(j), &n); err != nil {
		return nil, err
	}
	var walk func(n *yamlv3.Node)
	walk = func(n *yamlv3.Node) {
		n.Style &^= yamlv3.FlowStyle
		if n.Kind == yamlv3.ScalarNode && n.Tag == "!!str" {
			switch {
			case PlainYAMLString(n.Value):
				n.Style &^= yamlv3.DoubleQuotedStyle
			case strings.Contains(n.Value, "\n") && !strings.ContainsFunc(strings.ReplaceAll(n.Value, "\n", ""), unusual) &&
				strings.TrimLeft(n.Value, " ") == n.Value:
				n.Style = yamlv3.LiteralStyle // a PEM key, a script: as written
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&n)
	if len(n.Content) == 1 {
		root := n.Content[0]
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value != "sources" {
				continue
			}
			for _, src := range root.Content[i+1].Content {
				for k := 0; k+1 < len(src.Content); k += 2 {
					if key, v := src.Content[k], src.Content[k+1]; durationKeys[key.Value] && v.Kind == yamlv3.ScalarNode {
						v.Value = shortDuration(v.Value)
					}
				}
			}
		}
	}
	var out bytes.Buffer
	enc := yamlv3.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// unusual reports whether r is a character YAML does not take as it is in a plain or
// quoted scalar, or reads as a line break: C0 and C1 controls, DEL, the byte-order mark
// and the non-characters.
func unusual(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff
}

// escapeForYAML writes the unusual characters JSON leaves as they are (DEL, C1
// controls, U+FEFF, U+FFFE, U+FFFF) as \u escapes, which YAML's parser takes in a
// double-quoted string and refuses raw.
func escapeForYAML(j []byte) []byte {
	var b strings.Builder
	for _, r := range string(j) {
		if r >= 0x20 && unusual(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return []byte(b.String())
}

// PlainYAMLString tells whether v, written unquoted, reads back as the string v in the
// puller's and kubectl's YAML (YAML 1.1: "yes", "on", "1.0" and "08" would not).
func PlainYAMLString(v string) bool {
	var back any
	if err := yaml.Unmarshal([]byte("v: "+v), &back); err != nil {
		return false
	}
	m, _ := back.(map[string]any)
	s, ok := m["v"].(string)
	return ok && s == v && !strings.ContainsFunc(v, unusual)
}

// shortDuration drops the zero units a Go duration's String writes: "1h0m0s" is "1h".
func shortDuration(s string) string {
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
