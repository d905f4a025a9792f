package auth

import "os"

// Names of the sources FromEnv returns.
const (
	NameGitHubToken    = "GITHUB_TOKEN (env)"
	NameGitLabRegistry = "CI_REGISTRY_USER/CI_REGISTRY_PASSWORD (env)"
	NameGitLabJobToken = "CI_JOB_TOKEN (env)"
	gitHubRegistry     = "ghcr.io"
	gitHubDefaultUser  = "x-access-token"
	gitLabJobTokenUser = "gitlab-ci-token"
)

// FromEnv returns the credentials a CI job's environment provides, read once
// through getenv (os.Getenv if nil):
//
//   - GitHub Actions: GITHUB_TOKEN for ghcr.io, with GITHUB_ACTOR as the user
//     name, or "x-access-token" when GITHUB_ACTOR is unset.
//   - GitLab CI: for the host of CI_REGISTRY ("registry.gitlab.com",
//     "gitlab.example.com:5050"), CI_REGISTRY_USER with CI_REGISTRY_PASSWORD
//     when both are set, else CI_JOB_TOKEN with the user "gitlab-ci-token".
//     Nothing when CI_REGISTRY is unset or not a valid host.
//
// Each credential is scoped to its host and is a Source of its own in the
// returned Chain, named after its variables ("GITHUB_TOKEN (env)", ...);
// variables that are not set contribute nothing, so an empty environment
// gives an empty Chain.
func FromEnv(getenv func(string) string) Chain {
	if getenv == nil {
		getenv = os.Getenv
	}
	var c Chain
	if token := getenv("GITHUB_TOKEN"); token != "" {
		user := getenv("GITHUB_ACTOR")
		if user == "" {
			user = gitHubDefaultUser
		}
		c = append(c, Static(gitHubRegistry, Credential{Username: user, Password: token}, NameGitHubToken))
	}
	if host, err := NormalizeHost(getenv("CI_REGISTRY")); err == nil {
		user, password := getenv("CI_REGISTRY_USER"), getenv("CI_REGISTRY_PASSWORD")
		if user != "" && password != "" {
			c = append(c, Static(host, Credential{Username: user, Password: password}, NameGitLabRegistry))
		}
		if token := getenv("CI_JOB_TOKEN"); token != "" {
			c = append(c, Static(host, Credential{Username: gitLabJobTokenUser, Password: token}, NameGitLabJobToken))
		}
	}
	return c
}
