package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestStatic(t *testing.T) {
	ctx := context.Background()
	cred := Credential{Username: "u", Password: "p"}
	s := Static("GHCR.io", cred, "--creds")
	if s.Name() != "--creds" {
		t.Errorf("Name() = %q", s.Name())
	}
	for _, tt := range []struct {
		host string
		ok   bool
	}{
		{"ghcr.io", true},
		{"https://ghcr.io/v2/", true},
		{"ghcr.io/owner/repo", true},
		{"ghcr.io.evil.com", false},
		{"evil.com/ghcr.io", false},
		{"ghcr.io:443", false},
		{"quay.io", false},
	} {
		got, ok, err := s.Lookup(ctx, tt.host)
		if err != nil || ok != tt.ok || (ok && got != cred) || (!ok && !got.IsEmpty()) {
			t.Errorf("Lookup(%q) = %v, %v, %v; want ok=%v", tt.host, got, ok, err, tt.ok)
		}
	}
	if _, _, err := s.Lookup(ctx, "user@ghcr.io"); !errors.Is(err, ErrInvalidHost) {
		t.Errorf("Lookup(invalid) error = %v, want ErrInvalidHost", err)
	}

	bad := Static("not a host", cred, "--creds")
	if _, _, err := bad.Lookup(ctx, "ghcr.io"); !errors.Is(err, ErrInvalidHost) {
		t.Errorf("Static with an invalid host: Lookup error = %v, want ErrInvalidHost", err)
	}
	if _, ok, err := Static("ghcr.io", Credential{}, "empty").Lookup(ctx, "ghcr.io"); ok || err != nil {
		t.Errorf("Static with an empty credential: ok=%v err=%v, want not found", ok, err)
	}
}

func TestChainOrder(t *testing.T) {
	ctx := context.Background()
	a := Credential{Username: "a", Password: "1"}
	b := Credential{Username: "b", Password: "2"}
	c := Credential{Username: "c", Password: "3"}
	var calls []string
	record := func(name string, cred Credential, hosts ...string) Source {
		return FuncSource(name, func(_ context.Context, host string) (Credential, bool, error) {
			calls = append(calls, name+"@"+host)
			if slices.Contains(hosts, host) {
				return cred, true, nil
			}
			return Credential{}, false, nil
		})
	}
	chain := Chain{
		record("first", a, "ghcr.io"),
		Chain{record("nested", b, "ghcr.io", "quay.io")},
		record("last", c, "ghcr.io", "quay.io", "index.docker.io"),
	}
	if got, want := chain.Names(), []string{"first", "nested", "last"}; !slices.Equal(got, want) {
		t.Errorf("Names() = %q, want %q", got, want)
	}
	if got, want := chain.Name(), "first, nested, last"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	for _, tt := range []struct {
		host     string
		want     Credential
		wantFrom string
		calls    []string
	}{
		{"GHCR.IO", a, "first", []string{"first@ghcr.io"}},
		{"quay.io/x/y", b, "nested", []string{"first@quay.io", "nested@quay.io"}},
		{"docker.io", c, "last", []string{"first@index.docker.io", "nested@index.docker.io", "last@index.docker.io"}},
		{"example.com", Credential{}, "", []string{"first@example.com", "nested@example.com", "last@example.com"}},
	} {
		calls = nil
		got, from, err := chain.Resolve(ctx, tt.host)
		if err != nil || got != tt.want || from != tt.wantFrom {
			t.Errorf("Resolve(%q) = %v, %q, %v; want %v, %q", tt.host, got, from, err, tt.want, tt.wantFrom)
		}
		if !slices.Equal(calls, tt.calls) {
			t.Errorf("Resolve(%q) asked %q, want %q", tt.host, calls, tt.calls)
		}
	}
}

func TestChainErrors(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("helper crashed")
	chain := Chain{
		Static("ghcr.io", Credential{Username: "u", Password: "p"}, "--creds"),
		Chain{FuncSource("broken", func(context.Context, string) (Credential, bool, error) {
			return Credential{}, false, boom
		})},
	}
	// The first source answers before the broken one is asked.
	if _, from, err := chain.Resolve(ctx, "ghcr.io"); err != nil || from != "--creds" {
		t.Errorf("Resolve(ghcr.io) = %q, %v", from, err)
	}
	_, _, err := chain.Resolve(ctx, "quay.io")
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "broken") || !strings.Contains(err.Error(), "quay.io") {
		t.Errorf("Resolve(quay.io) error = %v, want it to wrap the failure and name the source and host", err)
	}
	if strings.Count(err.Error(), "resolving credentials") != 1 {
		t.Errorf("nested chain error wrapped twice: %v", err)
	}
	if _, _, err := chain.Resolve(ctx, "bad host"); !errors.Is(err, ErrInvalidHost) {
		t.Errorf("Resolve(invalid) error = %v, want ErrInvalidHost", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := chain.Resolve(cancelled, "ghcr.io"); !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve(cancelled) error = %v, want context.Canceled", err)
	}
	if cred, from, err := (Chain{}).Resolve(ctx, "ghcr.io"); err != nil || !cred.IsEmpty() || from != "" {
		t.Errorf("empty chain: %v, %q, %v", cred, from, err)
	}
}

// A source that says ok with an empty credential does not end the search.
func TestChainSkipsEmptyAnswer(t *testing.T) {
	chain := Chain{
		FuncSource("empty", func(context.Context, string) (Credential, bool, error) { return Credential{}, true, nil }),
		Static("ghcr.io", Credential{RegistryToken: "t"}, "token"),
	}
	if cred, from, err := chain.Resolve(context.Background(), "ghcr.io"); err != nil || from != "token" || cred.RegistryToken != "t" {
		t.Errorf("Resolve = %v, %q, %v", cred, from, err)
	}
}

func TestFromEnv(t *testing.T) {
	ctx := context.Background()
	type want struct {
		host, user, password, from string
	}
	for _, tt := range []struct {
		name  string
		env   map[string]string
		names []string
		want  []want
	}{
		{
			name: "empty",
			want: []want{{host: "ghcr.io"}, {host: "registry.gitlab.com"}},
		},
		{
			name:  "GitHub with actor",
			env:   map[string]string{"GITHUB_TOKEN": "ghs_1", "GITHUB_ACTOR": "octocat"},
			names: []string{NameGitHubToken},
			want: []want{
				{"ghcr.io", "octocat", "ghs_1", NameGitHubToken},
				{"GHCR.IO/org/repo", "octocat", "ghs_1", NameGitHubToken},
				{"ghcr.io.evil.com", "", "", ""},
				{"docker.pkg.github.com", "", "", ""},
			},
		},
		{
			name:  "GitHub without actor",
			env:   map[string]string{"GITHUB_TOKEN": "ghs_1"},
			names: []string{NameGitHubToken},
			want:  []want{{"ghcr.io", "x-access-token", "ghs_1", NameGitHubToken}},
		},
		{
			name:  "GitLab registry user and password win over the job token",
			env:   map[string]string{"CI_REGISTRY": "registry.gitlab.com", "CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "pw", "CI_JOB_TOKEN": "jt"},
			names: []string{NameGitLabRegistry, NameGitLabJobToken},
			want: []want{
				{"registry.gitlab.com", "gitlab-ci-token", "pw", NameGitLabRegistry},
				{"ghcr.io", "", "", ""},
				{"gitlab.com", "", "", ""},
			},
		},
		{
			name:  "GitLab job token when the password is missing",
			env:   map[string]string{"CI_REGISTRY": "Gitlab.Example.com:5050", "CI_REGISTRY_USER": "someone", "CI_JOB_TOKEN": "jt"},
			names: []string{NameGitLabJobToken},
			want: []want{
				{"gitlab.example.com:5050", "gitlab-ci-token", "jt", NameGitLabJobToken},
				{"gitlab.example.com", "", "", ""},
			},
		},
		{
			name: "GitLab without CI_REGISTRY",
			env:  map[string]string{"CI_REGISTRY_USER": "u", "CI_REGISTRY_PASSWORD": "pw", "CI_JOB_TOKEN": "jt"},
			want: []want{{"registry.gitlab.com", "", "", ""}},
		},
		{
			name: "GitLab with an invalid CI_REGISTRY",
			env:  map[string]string{"CI_REGISTRY": "user@host", "CI_JOB_TOKEN": "jt"},
			want: []want{{"host", "", "", ""}},
		},
		{
			name:  "both CI systems",
			env:   map[string]string{"GITHUB_TOKEN": "ghs_1", "CI_REGISTRY": "registry.gitlab.com", "CI_JOB_TOKEN": "jt"},
			names: []string{NameGitHubToken, NameGitLabJobToken},
			want: []want{
				{"ghcr.io", "x-access-token", "ghs_1", NameGitHubToken},
				{"registry.gitlab.com", "gitlab-ci-token", "jt", NameGitLabJobToken},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			chain := FromEnv(mapEnv(tt.env))
			if got := chain.Names(); !slices.Equal(got, tt.names) {
				t.Errorf("Names() = %q, want %q", got, tt.names)
			}
			for _, w := range tt.want {
				cred, from, err := chain.Resolve(ctx, w.host)
				if err != nil || cred.Username != w.user || cred.Password != w.password || from != w.from {
					t.Errorf("Resolve(%q) = %v, %q, %v; want user %q, from %q", w.host, cred, from, err, w.user, w.from)
				}
			}
		})
	}
}

func TestFromEnvNilGetenv(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", "from-os")
	t.Setenv("GITHUB_ACTOR", "")
	cred, _, err := FromEnv(nil).Resolve(context.Background(), "ghcr.io")
	if err != nil || cred.Password != "from-os" {
		t.Errorf("FromEnv(nil) = %v, %v", cred, err)
	}
}
