// Package ci runs the project's CI integrations in tests the way CI runs them, on the
// host and without containers:
//
//   - [RunAct] runs a GitHub Actions workflow with nektos/act in host mode
//     (-P ubuntu-latest=-self-hosted), offline: actions/checkout@v4 copies the working
//     tree, local actions (uses: ./actions/push) run as they would on GitHub;
//   - [RunGitLab] runs a .gitlab-ci.yml pipeline with gitlab-ci-local's shell executor
//     (jobs with image: run on the host), includes and spec: inputs resolved as GitLab does;
//   - [Actionlint] lints workflows and, through uses: ./path, the actions they call;
//   - [Release] builds the release assets with hack/release.sh (stamped static binaries,
//     archives, checksums.txt), once per test process and version.
//
// act and actionlint are built by hack/build-peers.sh, gitlab-ci-local installed by
// hack/npm-deps.sh (both cached outside the repository; make test runs them). Without them
// the tests skip, or fail under GITLESS_REQUIRE_PEERS=1 / GITLESS_REQUIRE_NPM=1.
//
// Example:
//
//	dist := ci.Release(t, "v0.1.0", "linux/amd64")
//	repo := ci.NewRepo(t, map[string]string{".github/workflows/push.yml": wf, "deploy/cm.yaml": cm}, "actions")
//	res := ci.RunAct(t, repo.Dir, ci.ActOptions{Workflow: ".github/workflows/push.yml",
//		Path: []string{dist.BinDir("linux", "amd64")}, Secrets: map[string]string{"GITHUB_TOKEN": "t"}})
//	if res.Code != 0 { t.Fatal(res.Log) }
package ci
