package cli

import (
	"errors"
	"fmt"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/render"
)

// hints says what the user can pass to get past err: the flag names that the
// libraries, which have no flags, leave out of their errors.
func hints(err error) []string {
	var out []string
	add := func(h string) {
		for _, o := range out {
			if o == h {
				return
			}
		}
		out = append(out, h)
	}
	var ts *artifact.TotalSizeError
	var fe *render.FormatError
	var pc *render.PathConflictError
	if errors.Is(err, artifact.ErrEmptySource) || errors.Is(err, render.ErrEmpty) {
		add("accept an empty set with --allow-empty (a puller then prunes everything)")
	}
	var ae *remote.AuthError
	var tc *artifact.TagConflictError
	if errors.As(err, &ae) && ae.Source == "" {
		add("registry credentials come from --creds, --docker-config, CI variables (GITHUB_TOKEN for ghcr.io; CI_REGISTRY_USER and CI_REGISTRY_PASSWORD, or CI_JOB_TOKEN, for the GitLab registry), then the docker config and its credential helpers")
	}
	switch {
	case errors.As(err, &tc) && tc.Concurrent:
		add("two pushes set the tag at once; the registry kept the other one's")
	case errors.As(err, &tc):
		add("a moving tag is listed with --moving-tag GLOB; --allow-overwrite moves any tag")
	}
	if errors.Is(err, artifact.ErrSymlink) {
		add("follow links that stay inside the directory with --resolve-symlinks")
	}
	if errors.As(err, &ts) {
		add("raise the cap with --max-size")
	}
	if errors.Is(err, manifest.ErrNotObject) {
		add("leave such files out with --ignore or a " + manifest.IgnoreFileName + " entry")
	}
	if errors.Is(err, manifest.ErrChartInTree) {
		add("render the chart as a source of its own (--kind helm), or leave it out with --ignore or a " + manifest.IgnoreFileName + " entry")
	}
	if errors.Is(err, render.ErrNoSynthOutput) {
		add("or let gitless run it: --synth")
	}
	if errors.As(err, &pc) {
		add(fmt.Sprintf("tell them apart with --format '{{.metadata.namespace}}/%s'", pc.Format))
	} else if errors.As(err, &fe) {
		add("the file name format is --format")
	}
	return out
}
