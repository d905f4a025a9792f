package helm_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitless-dev/gitless/artifact/auth"
	"github.com/gitless-dev/gitless/internal/testenv/fstree"
	"github.com/gitless-dev/gitless/internal/testenv/peers"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/render"
	"github.com/gitless-dev/gitless/render/helm"
)

// pushChart pushes a chart with `helm push` to oci://HOST/charts.
func pushChart(t *testing.T, reg *registry.Registry, chartDir string) string {
	t.Helper()
	return peers.HelmPush(t, chartDir, "oci://"+reg.Host()+"/charts", reg.Username, reg.Password)
}

// serveRepo packages charts with `helm package` into a directory that an HTTP
// server on loopback serves with the index `helm repo index` makes; it returns the
// server (closed when the test ends) and the directory.
func serveRepo(t *testing.T, charts ...string) (*httptest.Server, string) {
	t.Helper()
	bin := peers.Bin(t, "helm")
	dir := t.TempDir()
	for _, c := range charts {
		abs, _ := filepath.Abs(c)
		peers.Run(t, bin, dir, nil, "package", abs, "--destination", dir)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	peers.Run(t, bin, dir, nil, "repo", "index", dir, "--url", srv.URL)
	return srv, dir
}

// writeTree writes files (slash paths) into a new directory.
func writeTree(t *testing.T, files map[string]string) string { return fstree.Write(t, files) }

// renderTree renders a YAML tree with HelmReleases expanded.
func renderTree(t *testing.T, e *helm.Engine, dir string) ([]*render.Unit, error) {
	t.Helper()
	opts := render.DefaultOptions()
	opts.Expanders = []render.Expander{e.Expander(helm.ExpandOptions{})}
	return render.Load(context.Background(), opts, dir)
}

func objectsOf(units []*render.Unit) []*render.Object {
	var all []*render.Object
	for _, u := range units {
		all = append(all, u.Objects...)
	}
	return all
}

const fleetRelease = `apiVersion: source.toolkit.fluxcd.io/v1
kind: OCIRepository
metadata:
  name: infra-controllers
  namespace: infra-system
spec:
  interval: 10m
  url: oci://HOST/charts/infra-controllers
  ref:
    semver: 0.3.x
  layerSelector:
    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip
    operation: copy
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: controllers
  namespace: infra-system
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: infra-controllers
  install:
    crds: CreateReplace
    remediation:
      retries: 3
  upgrade:
    crds: CreateReplace
  valuesFrom:
    - kind: ConfigMap
      name: infra-values
    - kind: Secret
      name: infra-secret-values
      valuesKey: level
      targetPath: logLevel
  values:
    replicaCount: 2
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: infra-values
  namespace: infra-system
data:
  values.yaml: |
    replicaCount: 5
    defaultWidget:
      size: medium
    watchNamespaces: [apps, infra-system]
---
apiVersion: v1
kind: Secret
metadata:
  name: infra-secret-values
  namespace: infra-system
stringData:
  level: debug
`

// A HelmRelease whose chart comes from an OCIRepository of the tree renders as
// helm template renders the chart with the values helm-controller merges
// (valuesFrom in order, targetPath, then spec.values), in the release namespace;
// the HelmRelease and its OCIRepository leave the tree, the values ConfigMap and
// Secret stay. The registry asks for a token: the chart is fetched with the
// credentials of the chain.
func TestHelmReleaseFromOCIRepository(t *testing.T) {
	reg := registry.NewT(t, registry.Options{Auth: registry.AuthToken})
	digest := pushChart(t, reg, infra)
	creds := auth.Chain{auth.Static(reg.Host(), auth.Credential{Username: reg.Username, Password: reg.Password}, "test credentials")}
	e := helm.New(helm.Options{Credentials: creds})
	dir := writeTree(t, map[string]string{"infra/release.yaml": strings.ReplaceAll(fleetRelease, "HOST", reg.Host())})

	units, err := renderTree(t, e, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := objectsOf(units)
	// what helm template gives for the same chart and the merged values
	want := helmTemplate(t, "controllers", infra, "--namespace", "infra-system", "--include-crds", "--skip-tests",
		"--kube-version", helm.DefaultKubeVersion, "--set", "replicaCount=2,defaultWidget.size=medium,logLevel=debug",
		"--set", "watchNamespaces={apps,infra-system}")
	for _, o := range want {
		if o.Namespace() == "" && o.Kind() != "CustomResourceDefinition" && !strings.HasPrefix(o.Kind(), "Cluster") {
			o.SetNamespace("infra-system")
		}
	}
	var rendered []*render.Object
	for _, o := range got {
		switch o.Kind() {
		case "HelmRelease", "OCIRepository":
			t.Errorf("%s left in the tree", o)
		case "ConfigMap", "Secret":
			if strings.HasPrefix(o.Name(), "infra-") {
				continue // the values sources stay
			}
		}
		rendered = append(rendered, o)
	}
	sameObjects(t, rendered, want)
	if len(units[0].Charts) != 1 || units[0].Charts[0].Name != "infra-controllers" || units[0].Charts[0].Version != "0.3.0" || units[0].Charts[0].Digest != digest {
		t.Errorf("charts %+v, want infra-controllers 0.3.0 %s", units[0].Charts, digest)
	}
	for _, o := range rendered {
		if !strings.Contains(o.Origin.String(), "HelmRelease infra-system/controllers: infra-controllers/") {
			t.Errorf("%s: origin %q does not name the HelmRelease and template", o, o.Origin)
		}
	}

	// anonymous: the registry refuses, and the error says so
	_, err = renderTree(t, helm.New(helm.Options{}), dir)
	if err == nil || !strings.Contains(err.Error(), "spec.chartRef") || !strings.Contains(err.Error(), "requires authentication") {
		t.Errorf("anonymous fetch: %v", err)
	}
}

// Charts are cached by digest: an OCIRepository pinned to a digest renders again
// from the cache with the registry gone; a tag needs the registry.
func TestChartCacheByDigest(t *testing.T) {
	reg, err := registry.Start(context.Background(), registry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	digest := pushChart(t, reg, infra)
	cache := t.TempDir()
	e := helm.New(helm.Options{CacheDir: cache})
	pinned := strings.Replace(strings.ReplaceAll(fleetRelease, "HOST", reg.Host()), "semver: 0.3.x", "digest: "+digest, 1)
	tagged := strings.Replace(strings.ReplaceAll(fleetRelease, "HOST", reg.Host()), "semver: 0.3.x", "tag: 0.3.0", 1)
	pinnedDir := writeTree(t, map[string]string{"r.yaml": pinned})
	taggedDir := writeTree(t, map[string]string{"r.yaml": tagged})
	first, err := renderTree(t, e, pinnedDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := renderTree(t, e, taggedDir); err != nil {
		t.Fatal(err)
	}
	reg.Close()
	again, err := renderTree(t, e, pinnedDir)
	if err != nil {
		t.Fatalf("rendering from the cache: %v", err)
	}
	if len(objectsOf(again)) != len(objectsOf(first)) {
		t.Errorf("%d objects from the cache, %d before", len(objectsOf(again)), len(objectsOf(first)))
	}
	if _, err := renderTree(t, e, taggedDir); err == nil || !strings.Contains(err.Error(), "cannot reach registry") {
		t.Errorf("a tag with the registry gone: %v", err)
	}
	// a cache entry that does not match its digest is not used
	filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.WriteFile(p, []byte("tampered"), 0o644)
		}
		return err
	})
	if _, err := renderTree(t, e, pinnedDir); err == nil {
		t.Error("rendered from a tampered cache")
	}
}

// An HTTP chart repository (index.yaml and a .tgz, as helm repo index serves them)
// and an OCI HelmRepository, both through spec.chart.spec.sourceRef; spec.chart's
// valuesFiles replace the chart's defaults; postRenderers patch the manifests (not
// the hooks); commonMetadata labels every manifest; install.createNamespace adds
// the Namespace; install.crds Skip leaves crds/ out.
func TestHelmReleaseFromHelmRepository(t *testing.T) {
	srv, _ := serveRepo(t, podinfo)
	reg := registry.NewT(t, registry.Options{})
	pushChart(t, reg, infra)

	tree := strings.NewReplacer("HTTPURL", srv.URL, "HOST", reg.Host()).Replace(`apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: podinfo, namespace: flux-system}
spec:
  url: HTTPURL
  secretRef: {name: repo-auth}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: charts, namespace: flux-system}
spec:
  type: oci
  url: oci://HOST/charts
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: flux-system}
spec:
  targetNamespace: web
  releaseName: frontend
  chart:
    spec:
      chart: podinfo
      version: ">=6.0.0 <7.0.0"
      sourceRef: {kind: HelmRepository, name: podinfo}
      valuesFiles: [values.yaml, values-prod.yaml]
  install:
    createNamespace: true
  values:
    hooks:
      preInstall: {job: {enabled: true}}
  postRenderers:
    - kustomize:
        patches:
          - target: {kind: Deployment, name: frontend-podinfo}
            patch: |
              - op: add
                path: /spec/template/spec/priorityClassName
                value: high
        images:
          - name: ghcr.io/stefanprodan/podinfo
            newTag: 6.14.1-patched
  commonMetadata:
    labels: {team: web}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: infra, namespace: flux-system}
spec:
  targetNamespace: infra-system
  chart:
    spec:
      chart: infra-controllers
      sourceRef: {kind: HelmRepository, name: charts}
  install:
    crds: Skip
`)
	e := helm.New(helm.Options{})
	units, err := renderTree(t, e, writeTree(t, map[string]string{"releases.yaml": tree}))
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]*render.Object{}
	for _, o := range objectsOf(units) {
		objs[o.Kind()+"/"+o.Namespace()+"/"+o.Name()] = o
	}
	dep := objs["Deployment/web/frontend-podinfo"]
	if dep == nil {
		t.Fatalf("no Deployment web/frontend-podinfo in %v", keys(objs))
	}
	y := yamlOf(t, dep)
	for _, want := range []string{"priorityClassName: high", "image: ghcr.io/stefanprodan/podinfo:6.14.1-patched", "team: web"} {
		if !strings.Contains(y, want) {
			t.Errorf("Deployment lacks %q:\n%s", want, y)
		}
	}
	if strings.Contains(y, "render.gitless.dev") {
		t.Errorf("the post-render annotation is left:\n%s", y)
	}
	for _, name := range []string{"Service/web/frontend-podinfo-redis", "HorizontalPodAutoscaler/web/frontend-podinfo", "Namespace//web", "Job/web/frontend-podinfo-pre-install"} {
		if objs[name] == nil {
			t.Errorf("no %s (values-prod.yaml, createNamespace, hooks) in %v", name, keys(objs))
		}
	}
	if job := objs["Job/web/frontend-podinfo-pre-install"]; job != nil && strings.Contains(yamlOf(t, job), "team: web") {
		t.Error("commonMetadata reached a hook: helm-controller post-renders manifests only")
	}
	for k := range objs {
		if strings.HasPrefix(k, "CustomResourceDefinition/") || strings.HasPrefix(k, "HelmRepository/") || strings.HasPrefix(k, "HelmRelease/") {
			t.Errorf("%s in the tree", k)
		}
	}
	if objs["Widget/infra-system/default"] == nil || objs["Deployment/infra-system/infra-system-infra-infra-controllers"] == nil {
		t.Errorf("the OCI HelmRepository's release is missing: %v", keys(objs))
	}
	if n := len(units[0].Charts); n != 2 {
		t.Errorf("%d charts recorded, want 2: %+v", n, units[0].Charts)
	}
}

func keys(m map[string]*render.Object) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func yamlOf(t *testing.T, o *render.Object) string {
	t.Helper()
	b, err := o.YAML()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// What render cannot honour is an error naming the field; bad sources and chart
// versions are errors naming them too.
func TestHelmReleaseErrors(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	pushChart(t, reg, infra)
	base := strings.ReplaceAll(fleetRelease, "HOST", reg.Host())
	cases := []struct {
		name, old, new string
		want           []string
		is             error
	}{
		{"source not in the tree", "name: infra-controllers\n  install:", "name: elsewhere\n  install:", []string{"spec.chartRef", "OCIRepository infra-system/elsewhere is not in the rendered tree"}, helm.ErrUnsupported},
		{"values from the cluster", "name: infra-values\n    - kind: Secret", "name: cluster-values\n    - kind: Secret", []string{"spec.valuesFrom[0]", "ConfigMap infra-system/cluster-values is not in the rendered tree"}, helm.ErrUnsupported},
		{"drift detection", "  interval: 1h\n  chartRef:", "  interval: 1h\n  driftDetection: {mode: enabled}\n  chartRef:", []string{"spec.driftDetection.mode"}, helm.ErrUnsupported},
		{"kubeConfig", "  interval: 1h\n  chartRef:", "  interval: 1h\n  kubeConfig: {secretRef: {name: x}}\n  chartRef:", []string{"spec.kubeConfig"}, helm.ErrUnsupported},
		{"tests", "  interval: 1h\n  chartRef:", "  interval: 1h\n  test: {enable: true}\n  chartRef:", []string{"spec.test.enable"}, helm.ErrUnsupported},
		{"unknown field", "  interval: 1h\n  chartRef:", "  interval: 1h\n  fancyNewField: true\n  chartRef:", []string{`unknown field "fancyNewField"`}, helm.ErrInvalid},
		{"cloud provider", "  url: oci://", "  provider: aws\n  url: oci://", []string{"spec.provider", `"aws"`}, helm.ErrUnsupported},
		{"unknown version", "semver: 0.3.x", "semver: 9.x", []string{"no version", `"9.x"`, "0.3.0"}, helm.ErrChartNotFound},
		{"unknown tag", "semver: 0.3.x", "tag: 0.4.0", []string{"infra-controllers:0.4.0", "not found"}, helm.ErrChartNotFound},
		{"unreachable", "oci://" + reg.Host(), "oci://127.0.0.1:1", []string{"cannot reach registry 127.0.0.1:1"}, nil},
		{"template fails", "    replicaCount: 2\n", "    replicaCount: 2\n    defaultWidget: null\n", []string{"infra-controllers/templates/widget.yaml:1:", "defaultWidget"}, nil},
		{"schema", "    replicaCount: 2\n", "    replicaCount: 0\n", []string{"replicaCount", "minimum"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(base, c.old) {
				t.Fatalf("%q not in the tree", c.old)
			}
			dir := writeTree(t, map[string]string{"release.yaml": strings.Replace(base, c.old, c.new, 1)})
			_, err := renderTree(t, helm.New(helm.Options{}), dir)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range append(c.want, "HelmRelease infra-system/controllers", "release.yaml:") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("error %q is not %v", err, c.is)
			}
		})
	}
}

// The install options that change the objects, and Flux's release name rules.
func TestHelmReleaseInstallOptions(t *testing.T) {
	reg := registry.NewT(t, registry.Options{})
	pushChart(t, reg, infra)
	base := strings.ReplaceAll(fleetRelease, "HOST", reg.Host())
	cases := []struct {
		name, old, new string
		check          func(t *testing.T, objs map[string]*render.Object)
	}{
		{"disableHooks", "    crds: CreateReplace\n", "    crds: CreateReplace\n    disableHooks: true\n", func(t *testing.T, objs map[string]*render.Object) {
			if objs["Job/infra-system/controllers-infra-controllers-preflight"] != nil {
				t.Error("the hook is rendered")
			}
		}},
		{"disableSchemaValidation", "    replicaCount: 2\n", "    replicaCount: 0\n  install:\n    disableSchemaValidation: true\n", nil},
		{"skipCRDs", "    crds: CreateReplace\n", "    skipCRDs: true\n", func(t *testing.T, objs map[string]*render.Object) {
			if objs["CustomResourceDefinition//widgets.infra.example.com"] != nil {
				t.Error("the CRD is rendered")
			}
		}},
		{"createNamespace with the Namespace in the tree", "    crds: CreateReplace\n", "    crds: CreateReplace\n    createNamespace: true\n", func(t *testing.T, objs map[string]*render.Object) {
			if objs["Namespace//infra-system"] == nil {
				t.Errorf("no Namespace in %v", keys(objs))
			}
		}},
		{"targetNamespace and a long name", "  name: controllers\n  namespace: infra-system\n", "  name: controllers-of-the-infrastructure-layer-of-this-fleet\n  namespace: infra-system\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree := strings.Replace(base, c.old, c.new, 1)
			if c.name == "disableSchemaValidation" {
				tree = strings.Replace(tree, "  install:\n    crds: CreateReplace\n    remediation:\n      retries: 3\n", "", 1)
			}
			if c.name == "targetNamespace and a long name" {
				tree = strings.Replace(tree, "  interval: 1h\n  chartRef:", "  interval: 1h\n  targetNamespace: infra\n  chartRef:", 1)
			}
			files := map[string]string{"r.yaml": tree}
			if strings.HasPrefix(c.name, "createNamespace") {
				files["ns.yaml"] = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: infra-system\n"
			}
			// a default namespace for objects without one (a Namespace is cluster-scoped)
			opts := render.DefaultOptions()
			opts.Namespace = "elsewhere"
			opts.Expanders = []render.Expander{helm.New(helm.Options{}).Expander(helm.ExpandOptions{Namespace: opts.Namespace})}
			units, err := render.Load(context.Background(), opts, writeTree(t, files))
			if err != nil {
				t.Fatal(err)
			}
			if err := render.Check(context.Background(), units, render.Options{Namespace: "elsewhere"}); err != nil {
				t.Fatal(err) // a second Namespace would be a duplicate
			}
			objs := map[string]*render.Object{}
			for _, o := range objectsOf(units) {
				objs[o.Kind()+"/"+o.Namespace()+"/"+o.Name()] = o
			}
			switch c.name {
			case "disableSchemaValidation":
				if y := yamlOf(t, objs["Deployment/infra-system/controllers-infra-controllers"]); !strings.Contains(y, "replicas: 0") {
					t.Errorf("replicas:\n%s", y)
				}
			case "targetNamespace and a long name":
				// Flux: targetNamespace-name, past 53 characters the first 40 and a hash
				name := "infra-controllers-of-the-infrastructure-layer-of-this-fleet"
				sum := sha256.Sum256([]byte(name))
				short := name[:40] + "-" + hex.EncodeToString(sum[:])[:12]
				if objs["Widget/infra/default"] == nil || objs["ConfigMap/infra/"+short+"-config"] == nil {
					t.Errorf("release %s in namespace infra not found in %v", short, keys(objs))
				}
			default:
				c.check(t, objs)
			}
		})
	}
}

// The digest an HTTP repository's index gives is checked.
func TestHelmRepositoryDigestChecked(t *testing.T) {
	srv, repoDir := serveRepo(t, podinfo)
	// another chart under the indexed name
	_, other := serveRepo(t, infra)
	b, err := os.ReadFile(filepath.Join(other, "infra-controllers-0.3.0.tgz"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(repoDir, "podinfo-6.14.1.tgz"), b, 0o644)
	tree := strings.ReplaceAll(`apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: podinfo, namespace: web}
spec: {url: URL}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: podinfo, namespace: web}
spec:
  chart: {spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: podinfo}}}
`, "URL", srv.URL)
	_, err = renderTree(t, helm.New(helm.Options{}), writeTree(t, map[string]string{"r.yaml": tree}))
	if err == nil || !strings.Contains(err.Error(), "the index of "+srv.URL+" says sha256:") {
		t.Fatalf("a chart that does not match the index: %v", err)
	}
}

// Two sources rendered together, each with its own HelmRepository of the same name
// (staging's and prod's flux-system/demo, other registries): each HelmRelease takes the
// chart from its own source's repository, not from whichever was read last.
func TestHelmReleaseSourcesArePerUnit(t *testing.T) {
	var hosts []string
	for _, version := range []string{"1.0.0", "2.0.0"} {
		chart := writeTree(t, map[string]string{
			"Chart.yaml":        "apiVersion: v2\nname: demo\nversion: " + version + "\n",
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: demo}\ndata: {version: {{ .Chart.Version | quote }}}\n",
		})
		reg := registry.NewT(t, registry.Options{})
		pushChart(t, reg, chart)
		hosts = append(hosts, reg.Host())
	}
	unit := func(env, host string) string {
		return writeTree(t, map[string]string{"release.yaml": strings.NewReplacer("ENV", env, "HOST", host).Replace(`apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata: {name: demo, namespace: flux-system}
spec: {type: oci, url: oci://HOST/charts}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: demo-ENV, namespace: flux-system}
spec:
  targetNamespace: ENV
  chart:
    spec: {chart: demo, sourceRef: {kind: HelmRepository, name: demo}}
`)})
	}
	staging, prod := unit("staging", hosts[0]), unit("prod", hosts[1])
	opts := render.DefaultOptions()
	opts.Separate = true
	opts.Expanders = []render.Expander{helm.New(helm.Options{}).Expander(helm.ExpandOptions{})}
	units, err := render.Load(context.Background(), opts, staging, prod)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, o := range objectsOf(units) {
		if o.Kind() == "HelmRepository" {
			t.Errorf("%s left in the tree", o)
		}
		if o.Kind() == "ConfigMap" {
			v, _ := o.Value()
			got[o.Namespace()] = v["data"].(map[string]any)["version"].(string)
		}
	}
	if got["staging"] != "1.0.0" || got["prod"] != "2.0.0" {
		t.Fatalf("chart versions by namespace %v, want staging 1.0.0 (its own repository) and prod 2.0.0", got)
	}
	// A third source whose HelmRelease names demo without one of its own: which of the
	// two it meant is not guessed.
	lonely := writeTree(t, map[string]string{"release.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: demo-dev, namespace: flux-system}
spec:
  targetNamespace: dev
  chart:
    spec: {chart: demo, sourceRef: {kind: HelmRepository, name: demo}}
`})
	if _, err := render.Load(context.Background(), opts, staging, prod, lonely); err == nil || !strings.Contains(err.Error(), "is in several sources") {
		t.Fatalf("an ambiguous source: %v", err)
	}
}
