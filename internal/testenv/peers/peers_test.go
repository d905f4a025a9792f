package peers_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/kube"
	"github.com/gitless-dev/gitless/internal/testenv/peers"
)

// Under make test (GITLESS_REQUIRE_PEERS=1, GITLESS_REQUIRE_KUBE=1, GITLESS_REQUIRE_NPM=1)
// every tool the tests rely on must be there, so that no interop test can skip in CI:
// each peer the Makefile's peers-test target builds, the control plane's binaries and the
// cdk8s packages. This test fails the run otherwise, whichever tests happen to look for
// the tool.
func TestRequiredToolsArePresent(t *testing.T) {
	mk, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`hack/build-peers\.sh ([a-z0-9 -]+?) >/dev/null`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile's peers-test target does not build peers with hack/build-peers.sh")
	}
	want := strings.Fields(string(m[1]))
	for _, tool := range []string{"cosign", "cosign2", "source-controller", "kubectl", "kustomize", "helm"} {
		if !strings.Contains(" "+string(m[1])+" ", " "+tool+" ") {
			t.Errorf("peers-test does not build %s, which the tests run", tool)
		}
	}
	if !peers.Required() {
		t.Skip("GITLESS_REQUIRE_PEERS is not set: missing peers make their tests skip")
	}
	if missing := peers.Missing(want...); len(missing) > 0 {
		t.Fatalf("%s=1 but %v are not in %s", peers.EnvRequire, missing, peers.Dir())
	}
	if os.Getenv(kube.EnvRequire) == "1" {
		if _, err := kube.Assets(); err != nil {
			t.Fatalf("%s=1 but the control plane binaries are missing: %v", kube.EnvRequire, err)
		}
	}
	if os.Getenv("GITLESS_REQUIRE_NPM") == "1" {
		nm := os.Getenv("GITLESS_CDK8S_NODE_MODULES")
		for _, pkg := range []string{"cdk8s", "cdk8s-cli", "constructs"} {
			if _, err := os.Stat(filepath.Join(nm, pkg, "package.json")); nm == "" || err != nil {
				t.Fatalf("GITLESS_REQUIRE_NPM=1 but %s is not in GITLESS_CDK8S_NODE_MODULES=%q", pkg, nm)
			}
		}
	}
}
