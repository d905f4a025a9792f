package clikit

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// Formats are the values of -o/--output.
var Formats = []string{"text", "json", "yaml"}

// Output is -o/--output: the format of a command's result on stdout, text (for people)
// or json or yaml (for scripts; both the same fields).
//
// Commands whose -o used to name a file or directory (build, pull, render, as in
// flux build/pull artifact) set PathFlag to the flag that names it now: for one
// release, -o PATH still works there, with a warning, since a path is never a format
// name.
type Output struct {
	// PathFlag is the flag (without dashes) an -o PATH stands for; "" for none.
	PathFlag string

	format string
	json   bool // the deprecated --json
}

// AddFlags adds -o/--output; with PathFlag, also the deprecated --json.
func (o *Output) AddFlags(fs *pflag.FlagSet) {
	help := "output format: text, json or yaml"
	if o.PathFlag != "" {
		help += " (-o PATH, the old form, is --" + o.PathFlag + " PATH)"
		fs.BoolVar(&o.json, "json", false, "print the result as JSON (deprecated: -o json)")
		_ = fs.MarkHidden("json")
	}
	fs.StringVarP(&o.format, "output", "o", "text", help)
}

// Resolve checks the flag. With PathFlag, an -o that is not a format fills *path (an
// error when --PATHFLAG was given too), with a deprecation warning on warn; so does
// --json for -o json.
func (o *Output) Resolve(path *string, warn io.Writer) error {
	if !slices.Contains(Formats, o.format) {
		if o.PathFlag == "" || path == nil {
			return Usagef("--output %q: want text, json or yaml", o.format)
		}
		if *path != "" {
			return Usagef("-o %q is neither text, json nor yaml, and --%s is given", o.format, o.PathFlag)
		}
		if notAPath(o.format) {
			return Usagef("--output %q: want text, json or yaml (a file or directory is --%s PATH)", o.format, o.PathFlag)
		}
		fmt.Fprintf(warn, "Warning: -o PATH is deprecated: use --%s %s (-o is the output format: text, json or yaml)\n", o.PathFlag, o.format)
		*path, o.format = o.format, "text"
	}
	if o.json {
		fmt.Fprintln(warn, "Warning: --json is deprecated: use -o json")
		if o.format == "yaml" {
			return Usagef("--json and -o yaml disagree")
		}
		o.format = "json"
	}
	return nil
}

// otherFormats are output names of kubectl and flux, and near misses of ours: an -o of
// one of them is a format this command lacks, not the old -o PATH (a directory named
// "wide" is given as --out wide or -o ./wide). Words that are as likely a directory's
// name (name, table, template, txt) stay paths.
var otherFormats = []string{"yml", "jsn", "wide", "go-template", "jsonpath",
	"custom-columns", "go-template-file", "jsonpath-file", "custom-columns-file"}

// notAPath reports whether an -o value is a format name (any case) rather than a path.
func notAPath(v string) bool {
	l := strings.ToLower(v)
	if i := strings.IndexByte(l, '='); i > 0 {
		l = l[:i] // -o jsonpath={.x}, -o go-template=...
	}
	return slices.Contains(Formats, l) || slices.Contains(otherFormats, l)
}

// Structured reports whether the result goes out as JSON or YAML.
func (o *Output) Structured() bool { return o.format == "json" || o.format == "yaml" }

// Format is the resolved format.
func (o *Output) Format() string { return o.format }

// Write writes v in the structured format (JSON indented by two spaces, or YAML with
// the same field names).
func (o *Output) Write(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if o.format == "yaml" {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
