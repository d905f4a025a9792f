package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/internal/clikit"
)

// provenanceFlags say where an artifact comes from; what is not given is taken from
// the CI's variables, then from git in the source directory.
type provenanceFlags struct {
	source      string
	revision    string
	created     string
	annotations []string
}

func (p *provenanceFlags) metadata(ctx context.Context, env Env, dir string) (artifact.Metadata, error) {
	m, err := artifact.ProvenanceFromEnv(env.Getenv)
	if err != nil {
		return m, clikit.Usage(err)
	}
	if p.source != "" {
		m.Source = p.source
	}
	if p.revision != "" {
		m.Revision = p.revision
	}
	if p.created != "" {
		t, err := artifact.ParseCreated(p.created)
		if err != nil {
			return m, clikit.Usagef("--created: %v", err)
		}
		m.Created = t
	}
	if env.Git != nil && (m.Source == "" || m.Revision == "" || m.Created.IsZero()) {
		fromGit(ctx, env, dir, &m)
	}
	// A clone URL may carry a token (git remote.origin.url in GitLab CI does).
	m.Source = artifact.SourceURL(m.Source)
	// One line each: a newline would start a line of its own in a CI log (where
	// "::error::..." is a workflow command) and in every tool that prints them.
	for _, f := range []struct{ name, v string }{{"source (--source)", m.Source}, {"revision (--revision)", m.Revision}} {
		if hasControl(f.v) {
			return m, clikit.Usagef("the %s %q has a control character (a newline?)", f.name, f.v)
		}
	}
	for _, a := range p.annotations {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return m, clikit.Usagef("--annotation %q: want KEY=VALUE", a)
		}
		if m.Annotations == nil {
			m.Annotations = map[string]string{}
		}
		m.Annotations[k] = v
	}
	return m, nil
}

// fromGit fills empty provenance fields from the git checkout holding dir, if any.
func fromGit(ctx context.Context, env Env, dir string, m *artifact.Metadata) {
	git := func(args ...string) string {
		out, err := env.Git(ctx, dir, args...)
		if err != nil {
			return ""
		}
		return strings.TrimSpace(out)
	}
	if m.Revision == "" {
		if sha := git("rev-parse", "HEAD"); sha != "" {
			ref := git("rev-parse", "--abbrev-ref", "HEAD")
			if ref == "HEAD" {
				ref = ""
			}
			m.Revision = artifact.FluxRevision(ref, sha)
		}
	}
	if m.Source == "" {
		m.Source = git("config", "--get", "remote.origin.url")
	}
	if m.Created.IsZero() {
		if ts := git("log", "-1", "--format=%ct"); ts != "" {
			if t, err := artifact.ParseCreated(ts); err == nil {
				m.Created = t
			}
		}
	}
}

func describeMeta(m artifact.Metadata) string {
	created := "none"
	if !m.Created.IsZero() {
		created = m.Created.Format("2006-01-02T15:04:05Z07:00")
	}
	return fmt.Sprintf("source=%s revision=%s created=%s", printable(orNone(m.Source)), printable(orNone(m.Revision)), created)
}

// printable is s for a terminal or a CI log: quoted when it holds a control character
// (an artifact's annotations are anyone's who could push it).
func printable(s string) string {
	if hasControl(s) {
		return strconv.Quote(s)
	}
	return s
}

// hasControl reports whether s holds a control character (a newline, an escape).
func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
