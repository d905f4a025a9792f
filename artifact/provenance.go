package artifact

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ProvenanceFromEnv fills what it can of the provenance from the variables GitHub
// Actions and GitLab CI set: the source URL, the revision in Flux's form
// (<ref>@sha1:<sha>), the build URL, and the created time from SOURCE_DATE_EPOCH (or
// GitLab's CI_COMMIT_TIMESTAMP). Missing variables leave fields empty.
func ProvenanceFromEnv(getenv func(string) string) (Metadata, error) {
	var m Metadata
	switch {
	case getenv("GITHUB_ACTIONS") == "true" || getenv("GITHUB_SHA") != "":
		server := strings.TrimSuffix(getenv("GITHUB_SERVER_URL"), "/")
		if server == "" {
			server = "https://github.com"
		}
		if repo := getenv("GITHUB_REPOSITORY"); repo != "" {
			m.Source = server + "/" + repo
			if id := getenv("GITHUB_RUN_ID"); id != "" {
				m.BuildURL = m.Source + "/actions/runs/" + id
			}
		}
		if sha := getenv("GITHUB_SHA"); sha != "" {
			m.Revision = FluxRevision(getenv("GITHUB_REF_NAME"), sha)
		}
	case getenv("GITLAB_CI") == "true" || getenv("CI_COMMIT_SHA") != "":
		m.Source = getenv("CI_PROJECT_URL")
		m.BuildURL = getenv("CI_JOB_URL")
		if sha := getenv("CI_COMMIT_SHA"); sha != "" {
			ref := getenv("CI_COMMIT_REF_NAME")
			m.Revision = FluxRevision(ref, sha)
		}
		if ts := getenv("CI_COMMIT_TIMESTAMP"); ts != "" {
			t, err := time.Parse(time.RFC3339, ts)
			if err != nil {
				return m, fmt.Errorf("CI_COMMIT_TIMESTAMP %q: %w", ts, err)
			}
			m.Created = t.UTC()
		}
	}
	if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
		t, err := ParseCreated(s)
		if err != nil {
			return m, fmt.Errorf("SOURCE_DATE_EPOCH: %w", err)
		}
		m.Created = t
	}
	return m, nil
}

// FluxRevision formats a revision the way Flux does: "<ref>@sha1:<sha>", or
// "sha1:<sha>" without a ref. A 64-hex SHA is labelled sha256.
func FluxRevision(ref, sha string) string {
	algo := "sha1"
	if len(sha) == 64 {
		algo = "sha256"
	}
	if ref == "" {
		return algo + ":" + sha
	}
	return ref + "@" + algo + ":" + sha
}

// ParseCreated reads a created time given as Unix seconds or RFC 3339.
func ParseCreated(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return time.Time{}, fmt.Errorf("negative time %d", n)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither Unix seconds nor RFC 3339", s)
	}
	return t.UTC(), nil
}

// SourceURL returns a source URL fit to publish in an artifact's annotations: without
// the user information a clone URL may carry (https://oauth2:TOKEN@host/..., GitLab
// CI's gitlab-ci-token:TOKEN@), its query and fragment. An scp-like address
// (git@host:path) keeps its user unless it carries a password too.
func SourceURL(s string) string {
	if !strings.Contains(s, "://") {
		if i := strings.LastIndex(s, "@"); i >= 0 && strings.Contains(s[:i], ":") {
			return s[i+1:]
		}
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// Not a URL after all: drop everything up to the host, where credentials are.
		scheme, rest, _ := strings.Cut(s, "://")
		if i := strings.LastIndex(rest, "@"); i >= 0 {
			rest = rest[i+1:]
		}
		return scheme + "://" + rest
	}
	u.User = nil
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = "", false, "", ""
	return u.String()
}
