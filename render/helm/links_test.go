package helm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/internal/testenv/fstree"
	"github.com/gitless-dev/gitless/render/helm"
)

// Helm's loader follows a chart's links anywhere; render reads only those that stay in
// the chart (or the checkout): .Files.Get of a link to the CI's secrets is refused.
func TestChartLinkOutsideIsRefused(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "environ")
	os.WriteFile(secret, []byte("GITHUB_TOKEN=s3cret-marker"), 0o644)
	chart := fstree.Write(t, map[string]string{
		"Chart.yaml":              "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"templates/cm.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {env: {{ .Files.Get \"files/env\" | quote }}}\n",
		"files/shared/values.txt": "fine",
	})
	if err := os.Symlink(filepath.Join(chart, "files", "shared", "values.txt"), filepath.Join(chart, "files", "env")); err != nil {
		t.Skip(err)
	}
	if _, err := helm.LoadChart(chart); err != nil {
		t.Fatalf("a link inside the chart: %v", err)
	}
	os.Remove(filepath.Join(chart, "files", "env"))
	os.Symlink(secret, filepath.Join(chart, "files", "env"))
	_, err := helm.LoadChart(chart)
	if err == nil || !strings.Contains(err.Error(), "outside the source") || !strings.Contains(err.Error(), "files/env") {
		t.Fatalf("a link out of the chart: %v", err)
	}
}

// A chart's links stay in the chart: not into the checkout around it (a workspace file
// another CI step left, .git/config with the job's token), even when the render runs
// in that checkout.
func TestChartLinkIntoTheCheckoutIsRefused(t *testing.T) {
	checkout := fstree.Write(t, map[string]string{
		".git/config":                    "[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic s3cret-marker\n",
		"gha-creds-1.json":               `{"private_key": "s3cret-marker"}`,
		"deploy/chart/Chart.yaml":        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"deploy/chart/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {cfg: {{ .Files.Get \"files/cfg\" | quote }}}\n",
	})
	os.MkdirAll(filepath.Join(checkout, "deploy/chart/files"), 0o755)
	t.Chdir(checkout) // the CI job runs in its checkout
	for _, target := range []string{"../../../.git/config", "../../../gha-creds-1.json"} {
		link := filepath.Join(checkout, "deploy/chart/files/cfg")
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Skip(err)
		}
		if _, err := helm.LoadChart("deploy/chart"); err == nil || !strings.Contains(err.Error(), "files/cfg") {
			t.Errorf("a link to %s: %v", target, err)
		}
	}
}
