package install_test

import (
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/puller/config"
	"github.com/gitless-dev/gitless/puller/install"
)

// A locked-down configuration gives an install without cluster-wide rights: per tenant
// namespace its account, its Role and the right to impersonate it by name; a source
// naming its own account gets only that right. Without the lockdown the puller is bound
// to cluster-admin. A source the lockdown refuses is refused here too, named.
func TestInstallFollowsTheTenancy(t *testing.T) {
	src := func(name, ns, sa string) puller.Source {
		return puller.Source{Name: name, URL: "oci://ghcr.io/acme/" + name, Ref: puller.Ref{Tag: "v1"}, TargetNamespace: ns, ServiceAccountName: sa, InsecureSkipVerify: true}
	}
	files := func(t *testing.T, defaultSA string, srcs ...puller.Source) (string, error) {
		t.Helper()
		fs, err := install.Files(install.Options{Image: "example.com/puller:v1", Config: &config.PullerConfig{
			APIVersion: config.APIVersion, Kind: config.Kind, DefaultServiceAccount: defaultSA, Sources: srcs}})
		var all strings.Builder
		for _, f := range fs {
			all.WriteString("# file " + f.Name + "\n" + string(f.Content))
		}
		return all.String(), err
	}
	locked, err := files(t, "deployer", src("a", "team-a", ""), src("b", "team-b", ""), src("a2", "team-a", ""), src("infra", "", "gitless-system/platform"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# file tenants.yaml", "name: team-a\n", "name: team-b\n", "resourceNames:\n      - deployer", "resourceNames:\n      - platform", "name: gitless-puller-impersonate-platform"} {
		if !strings.Contains(locked, want) {
			t.Errorf("locked-down install lacks %q", want)
		}
	}
	if strings.Contains(locked, "kind: Cluster") || strings.Count(locked, "kind: Namespace\n") != 3 {
		t.Errorf("locked-down install: want no cluster-wide RBAC and three namespaces (the puller's, team-a, team-b):\n%s", locked)
	}
	open, err := files(t, "", src("a", "team-a", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(open, "name: cluster-admin") || strings.Contains(open, "# file tenants.yaml") {
		t.Errorf("install without lockdown: want cluster-admin and no tenants.yaml:\n%s", open)
	}
	// Without lockdown, a source that names its account may act as that account only:
	// no right to impersonate every service account (which the cluster's controllers'
	// accounts are), which would outlive the removal of the cluster-admin binding.
	named, err := files(t, "", src("a", "team-a", ""), src("b", "team-b", "team-b/deployer"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(named, "\nkind: ClusterRole\n") || !strings.Contains(named, "# file tenants.yaml") ||
		!strings.Contains(named, "name: gitless-puller-impersonate-deployer\n  namespace: team-b") || !strings.Contains(named, "resourceNames:\n      - deployer") {
		t.Errorf("install without lockdown, a source naming its account: want only a Role to impersonate it, by name:\n%s", named)
	}
	// A tenant in the puller's own namespace would get the tenant's Role there (its
	// Secrets, its configuration, pods running as the puller): refused, named.
	if _, err := files(t, "deployer", src("inside", "gitless-system", "")); err == nil || !strings.Contains(err.Error(), "source inside") || !strings.Contains(err.Error(), "puller's own namespace") {
		t.Errorf("a locked-down source in the puller's namespace: %v", err)
	}
	// One account named by a source and taken by default by another: still a tenant's
	// account, with its Role, whatever the order.
	both, err := files(t, "deployer", src("named", "team-c", "deployer"), src("default", "team-c", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(both, "kind: ServiceAccount\nmetadata:\n  name: deployer\n  namespace: team-c") {
		t.Errorf("the tenant account of team-c was not generated:\n%s", both)
	}
	if _, err := files(t, "deployer", src("loose", "", "")); err == nil || !strings.Contains(err.Error(), "source loose") || !strings.Contains(err.Error(), "targetNamespace") {
		t.Errorf("a locked-down source without targetNamespace: %v", err)
	}
}

// Two replicas (leader election) are spread over nodes, so that one node's loss does not
// take the leader and its standby together. No disruption budget: readiness follows the
// sources' syncs, and a failing source would block every drain.
func TestInstallSpreadsReplicas(t *testing.T) {
	for _, replicas := range []int{1, 2} {
		fs, err := install.Files(install.Options{Image: "example.com/puller:v1", Replicas: replicas, LeaderElect: replicas > 1,
			Config: &config.PullerConfig{APIVersion: config.APIVersion, Kind: config.Kind}})
		if err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		for _, f := range fs {
			all.Write(f.Content)
		}
		out := all.String()
		spread := strings.Contains(out, "topologyKey: kubernetes.io/hostname")
		if spread != (replicas > 1) || strings.Contains(out, "kind: PodDisruptionBudget") || strings.Contains(out, "\nstatus:") {
			t.Errorf("%d replicas: spread %v, want %v; no budget, no status:\n%s", replicas, spread, replicas > 1, out)
		}
	}
}
