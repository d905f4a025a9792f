// Package auth finds the credentials gitless sends to an OCI registry, and
// says where it found them.
//
// A Source answers for registry hosts: static credentials from a flag
// (Static, ParseUserToken), the variables a CI job provides (FromEnv:
// GitHub Actions' GITHUB_TOKEN for ghcr.io, GitLab CI's CI_REGISTRY_* and
// CI_JOB_TOKEN for its registry), a kubernetes.io/dockerconfigjson document
// such as a pull Secret (ParseDockerConfigJSON, ParseDockerCfg,
// ReadDockerConfigFile), or docker's own configuration with its credential
// helpers (DockerConfig). A Chain asks its sources in order and the first
// with a credential for the host wins; Resolve also returns the name of
// that source, and Names lists every source consulted.
//
// Credentials are scoped to the host they name. Hosts are compared after
// NormalizeHost (scheme and path dropped, lower case, Docker Hub's aliases
// made one, ports kept), so credentials for ghcr.io are never returned for
// ghcr.io.evil.com, evil.com/ghcr.io or ghcr.io:8443.
//
// Secrets never appear in errors, in fmt output (of any verb) of the
// package's types, in slog attributes or in JSON: a Credential prints
// "<redacted>" in their place and a Source prints its name.
//
// Typical CI use, with artifact/remote (which records the source that answered for
// each host, so that a 401 or 403 says whose credentials the registry refused):
//
//	chain, err := auth.Default(ctx, auth.DefaultOptions{Creds: flagCreds, CredsName: "--creds", Host: "ghcr.io"})
//	if err != nil {
//		return err
//	}
//	c := remote.New(remote.Options{Credentials: chain})
//	_, err = c.Push(ctx, ref, layer, meta, remote.DefaultPushOptions())
//	// a 401 is a *remote.AuthError: "... registry ghcr.io did not accept the
//	// credentials (401 Unauthorized); credentials from GITHUB_TOKEN (env) were used"
//
// With oras-go directly, ToORAS converts what Chain.Resolve returns.
//
// Decisions:
//
//   - A bare token ("--creds TOKEN") is rejected: ParseUserToken wants
//     "user:token", because registries differ in the user name a token needs
//     and a guessed one fails as an unexplained 401.
//   - Ports are kept: "ghcr.io:443" and "ghcr.io" are different hosts. Only
//     Docker Hub's aliases are merged, into "index.docker.io".
//   - In a dockerconfigjson entry "auth" wins over "username"/"password", as
//     in docker/cli; entries with nothing in them are skipped; of several keys
//     for one host, the one docker would look up wins, else the first sorted.
//   - A source that fails stops Chain.Resolve with its error rather than
//     being skipped: a broken credential helper is reported, not papered over
//     with a less specific credential.
//
// In the cluster, the puller parses a pull Secret's .dockerconfigjson with
// ParseDockerConfigJSON(data, "Secret ns/name") and uses that Source alone.
package auth
