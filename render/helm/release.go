package helm

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/strvals"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/manifest"
	"github.com/gitless-dev/gitless/render"
)

// Flux's API groups and the kinds render reads.
const (
	HelmGroup   = "helm.toolkit.fluxcd.io"
	SourceGroup = "source.toolkit.fluxcd.io"
)

// ExpandOptions configures [Engine.Expander].
type ExpandOptions struct {
	// Namespace is the namespace of HelmReleases and sources that have none and
	// whose unit has no default (render's Options.Namespace).
	Namespace string
}

// Expander returns the render.Expander that replaces every Flux HelmRelease of
// the rendered tree (helm.toolkit.fluxcd.io, any version) with the objects of its
// chart, as helm-controller would install them, and removes the HelmRepository and
// OCIRepository objects that the HelmReleases took their charts from. See
// docs/render.md for what is honoured; every other field that changes what is
// installed is an error naming it.
func (e *Engine) Expander(opts ExpandOptions) render.Expander {
	return &expander{e: e, opts: opts}
}

type expander struct {
	e    *Engine
	opts ExpandOptions
}

// placed is an object with the unit it is in, and its effective namespace.
type placed struct {
	unit *render.Unit
	obj  *render.Object
	ns   string
}

func (x *expander) Expand(ctx context.Context, units []*render.Unit) error {
	var all []*render.Object
	for _, u := range units {
		all = append(all, u.Objects...)
	}
	scopes := manifest.NewScopes(all)
	index := treeIndex{} // group/kind/namespace/name; namespace "" when cluster-scoped
	var releases []placed
	for _, u := range units {
		for _, o := range u.Objects {
			p := placed{unit: u, obj: o}
			if scopes.Namespaced(o) {
				p.ns = cmp.Or(o.Namespace(), u.Namespace, x.opts.Namespace)
			}
			k := key(o.Group(), o.Kind(), p.ns, o.Name())
			index[k] = append(index[k], p)
			if o.Group() == HelmGroup && o.Kind() == "HelmRelease" {
				releases = append(releases, p)
			}
		}
	}
	if len(releases) == 0 {
		return nil
	}
	replace := map[*render.Object][]*render.Object{}
	used := map[*render.Object]bool{}
	for _, hr := range releases {
		objs, chart, sources, err := x.expand(ctx, hr, index, all)
		if err != nil {
			return &render.SourceError{Origin: hr.obj.Origin, Object: hr.obj.String(), Err: err}
		}
		replace[hr.obj] = objs
		for _, s := range sources {
			used[s] = true
		}
		if !slices.Contains(hr.unit.Charts, chart) {
			hr.unit.Charts = append(hr.unit.Charts, chart)
		}
	}
	for _, u := range units {
		var out []*render.Object
		for _, o := range u.Objects {
			switch {
			case replace[o] != nil:
				out = append(out, replace[o]...)
			case used[o]:
			default:
				out = append(out, o)
			}
		}
		u.Objects = out
	}
	return nil
}

func key(group, kind, ns, name string) string { return group + "/" + kind + "/" + ns + "/" + name }

// treeIndex holds the objects of every unit by key. Units rendered together may each
// hold an object of the same key (two environments' HelmRepository flux-system/charts).
type treeIndex map[string][]placed

// get finds the object k names for the HelmRelease hr: the one of hr's own unit, else
// the only one of the tree; several in other units, none in hr's, is an error naming them.
func (t treeIndex) get(hr placed, k string) (placed, bool, error) {
	cands := t[k]
	for _, c := range cands {
		if c.unit == hr.unit {
			return c, true, nil
		}
	}
	switch len(cands) {
	case 0:
		return placed{}, false, nil
	case 1:
		return cands[0], true, nil
	}
	var where []string
	for _, c := range cands {
		where = append(where, c.obj.Origin.String())
	}
	return placed{}, false, fmt.Errorf("%w: %s is in several sources (%s), none of them the HelmRelease's", ErrInvalid, strings.TrimPrefix(k, "/"), strings.Join(where, ", "))
}

// helmRelease is the part of a HelmRelease's spec render reads. Decoding refuses
// unknown fields: a field render does not know may change what is installed.
type helmRelease struct {
	Chart *struct {
		Metadata json.RawMessage `json:"metadata"` // of the HelmChart helm-controller makes
		Spec     struct {
			Chart                    string          `json:"chart"`
			Version                  string          `json:"version"`
			SourceRef                crossRef        `json:"sourceRef"`
			Interval                 string          `json:"interval"`
			ReconcileStrategy        string          `json:"reconcileStrategy"`
			ValuesFiles              []string        `json:"valuesFiles"`
			ValuesFile               string          `json:"valuesFile"`
			IgnoreMissingValuesFiles bool            `json:"ignoreMissingValuesFiles"`
			Verify                   json.RawMessage `json:"verify"`
		} `json:"spec"`
	} `json:"chart"`
	ChartRef           *crossRef       `json:"chartRef"`
	Interval           string          `json:"interval"`
	KubeConfig         json.RawMessage `json:"kubeConfig"`
	Suspend            bool            `json:"suspend"`
	ReleaseName        string          `json:"releaseName"`
	TargetNamespace    string          `json:"targetNamespace"`
	StorageNamespace   string          `json:"storageNamespace"`
	DependsOn          json.RawMessage `json:"dependsOn"`
	Timeout            string          `json:"timeout"`
	MaxHistory         *int            `json:"maxHistory"`
	ServiceAccountName string          `json:"serviceAccountName"`
	PersistentClient   *bool           `json:"persistentClient"`
	DriftDetection     *struct {
		Mode   string          `json:"mode"`
		Ignore json.RawMessage `json:"ignore"`
	} `json:"driftDetection"`
	Install *struct {
		Timeout                  string          `json:"timeout"`
		Remediation              json.RawMessage `json:"remediation"`
		DisableTakeOwnership     bool            `json:"disableTakeOwnership"`
		DisableWait              bool            `json:"disableWait"`
		DisableWaitForJobs       bool            `json:"disableWaitForJobs"`
		DisableHooks             bool            `json:"disableHooks"`
		DisableOpenAPIValidation bool            `json:"disableOpenAPIValidation"`
		DisableSchemaValidation  bool            `json:"disableSchemaValidation"`
		Replace                  bool            `json:"replace"`
		SkipCRDs                 bool            `json:"skipCRDs"`
		CRDs                     string          `json:"crds"`
		CreateNamespace          bool            `json:"createNamespace"`
		ServerSideApply          *bool           `json:"serverSideApply"`
		Strategy                 json.RawMessage `json:"strategy"`
	} `json:"install"`
	Upgrade json.RawMessage `json:"upgrade"`
	Test    *struct {
		Enable         bool            `json:"enable"`
		IgnoreFailures bool            `json:"ignoreFailures"`
		Timeout        string          `json:"timeout"`
		Filters        json.RawMessage `json:"filters"`
	} `json:"test"`
	Rollback   json.RawMessage `json:"rollback"`
	Uninstall  json.RawMessage `json:"uninstall"`
	ValuesFrom []struct {
		Kind       string `json:"kind"`
		Name       string `json:"name"`
		ValuesKey  string `json:"valuesKey"`
		TargetPath string `json:"targetPath"`
		Optional   bool   `json:"optional"`
	} `json:"valuesFrom"`
	Values         map[string]any `json:"values"`
	PostRenderers  []postRenderer `json:"postRenderers"`
	CommonMetadata *struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	} `json:"commonMetadata"`
}

type crossRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
}

type postRenderer struct {
	Kustomize *struct {
		Patches               []json.RawMessage `json:"patches"`
		PatchesStrategicMerge []json.RawMessage `json:"patchesStrategicMerge"`
		PatchesJson6902       []json.RawMessage `json:"patchesJson6902"`
		Images                []json.RawMessage `json:"images"`
	} `json:"kustomize"`
}

// decodeStrict decodes an object's field (e.g. "spec") into v, refusing unknown
// fields with an error naming them.
func decodeStrict(o *render.Object, field string, v any) error {
	val, err := o.Value()
	if err != nil {
		return err
	}
	b, err := json.Marshal(val[field])
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := strings.TrimPrefix(err.Error(), "json: ")
		return fmt.Errorf("%w: %s: %s", ErrInvalid, field, msg)
	}
	return nil
}

// unsupported is the error for a field render cannot honour.
func unsupported(field, why string) error {
	return fmt.Errorf("%w: %s: %s", ErrUnsupported, field, why)
}

// expand renders one HelmRelease: its objects, its chart, and the source objects
// it took the chart from.
func (x *expander) expand(ctx context.Context, hr placed, index treeIndex, tree []*render.Object) ([]*render.Object, render.Chart, []*render.Object, error) {
	var spec helmRelease
	if err := decodeStrict(hr.obj, "spec", &spec); err != nil {
		return nil, render.Chart{}, nil, err
	}
	if err := refuseUnsupported(&spec); err != nil {
		return nil, render.Chart{}, nil, err
	}
	if hr.ns == "" {
		return nil, render.Chart{}, nil, fmt.Errorf("%w: metadata.namespace: the HelmRelease has no namespace, and its unit no default one", ErrInvalid)
	}
	c, sources, err := x.chart(ctx, hr, &spec, index)
	if err != nil {
		return nil, render.Chart{}, nil, err
	}

	// values: valuesFrom in order, then spec.values, as helm-controller merges them
	vals := map[string]any{}
	for i, ref := range spec.ValuesFrom {
		field := fmt.Sprintf("spec.valuesFrom[%d]", i)
		if err := x.mergeValuesFrom(vals, ref.Kind, ref.Name, cmp.Or(ref.ValuesKey, "values.yaml"), ref.TargetPath, ref.Optional, hr, index, field); err != nil {
			return nil, render.Chart{}, nil, err
		}
	}
	if spec.Values != nil {
		vals = loader.MergeMaps(vals, spec.Values)
	}

	releaseNS := cmp.Or(spec.TargetNamespace, hr.ns)
	name := spec.ReleaseName
	if name == "" {
		name = hr.obj.Name()
		if spec.TargetNamespace != "" {
			name = spec.TargetNamespace + "-" + name
		}
		name = shortenName(name)
	}
	r := Release{Name: name, Namespace: releaseNS, Values: vals, IncludeCRDs: true}
	if in := spec.Install; in != nil {
		r.NoHooks = in.DisableHooks
		r.SkipSchemaValidation = in.DisableSchemaValidation
		policy := in.CRDs
		if policy == "" && in.SkipCRDs {
			policy = "Skip"
		}
		switch policy {
		case "Skip":
			r.IncludeCRDs = false
		case "", "Create", "CreateReplace":
		default:
			return nil, render.Chart{}, nil, fmt.Errorf("%w: spec.install.crds: %q (want Skip, Create or CreateReplace)", ErrInvalid, in.CRDs)
		}
	}
	if spec.Chart != nil {
		r.ChartValuesFiles = spec.Chart.Spec.ValuesFiles
		if spec.Chart.Spec.ValuesFile != "" {
			r.ChartValuesFiles = append(r.ChartValuesFiles, spec.Chart.Spec.ValuesFile)
		}
		r.IgnoreMissingValuesFiles = spec.Chart.Spec.IgnoreMissingValuesFiles
	}
	if pr := x.postRenderers(&spec); pr != nil {
		r.postRender = pr
	}
	objs, err := x.e.Template(ctx, c, r)
	if err != nil {
		return nil, render.Chart{}, nil, err
	}
	what := "HelmRelease " + hr.ns + "/" + hr.obj.Name()
	for _, o := range objs {
		o.Origin = render.Origin{File: hr.obj.Origin.File, Line: hr.obj.Origin.Line, Path: what + ": " + o.Origin.File}
	}
	if spec.Install != nil && spec.Install.CreateNamespace {
		if len(index[key("", "Namespace", "", releaseNS)]) == 0 && !slices.ContainsFunc(objs, func(o *render.Object) bool {
			return o.Group() == "" && o.Kind() == "Namespace" && o.Name() == releaseNS
		}) {
			ns, err := manifest.NewObjectFromValue(map[string]any{
				"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": releaseNS},
			}, render.Origin{File: hr.obj.Origin.File, Line: hr.obj.Origin.Line, Path: what + ": spec.install.createNamespace"})
			if err != nil {
				return nil, render.Chart{}, nil, err
			}
			objs = append(objs, ns)
		}
	}
	// namespaced objects without a namespace go to the release's, where
	// helm-controller installs them
	scopes := manifest.NewScopes(append(slices.Clone(tree), objs...))
	for _, o := range objs {
		if o.Namespace() == "" && scopes.Namespaced(o) {
			o.SetNamespace(releaseNS)
		}
	}
	return objs, c.Info, sources, nil
}

// refuseUnsupported is the list of what render cannot honour.
func refuseUnsupported(s *helmRelease) error {
	switch {
	case len(s.KubeConfig) > 0 && string(s.KubeConfig) != "null":
		return unsupported("spec.kubeConfig", "the objects are applied to the cluster that pulls the artifact")
	case s.Suspend:
		return unsupported("spec.suspend", "a suspended release keeps what its cluster has; leave it out of the tree instead")
	case s.ServiceAccountName != "":
		return unsupported("spec.serviceAccountName", "impersonation is set on the gitless-puller source (serviceAccountName) instead")
	case s.DriftDetection != nil && s.DriftDetection.Mode != "" && s.DriftDetection.Mode != "disabled":
		return unsupported("spec.driftDetection.mode", "gitless-puller corrects drift of every object it applies; remove the field")
	case s.Test != nil && s.Test.Enable:
		return unsupported("spec.test.enable", "Helm tests are not run: test hooks are left out of the render")
	case s.Chart != nil && len(s.Chart.Spec.Verify) > 0 && string(s.Chart.Spec.Verify) != "null":
		return unsupported("spec.chart.spec.verify", "chart signatures are not checked by render")
	case s.Chart == nil && s.ChartRef == nil:
		return fmt.Errorf("%w: spec.chart or spec.chartRef is required", ErrInvalid)
	case s.Chart != nil && s.ChartRef != nil:
		return fmt.Errorf("%w: spec.chart and spec.chartRef are both set", ErrInvalid)
	}
	for i, p := range s.PostRenderers {
		if p.Kustomize == nil {
			return unsupported(fmt.Sprintf("spec.postRenderers[%d]", i), "only kustomize post-renderers exist")
		}
	}
	return nil
}

// shortenName is helm-controller's: a release name longer than 53 characters is
// cut to 40 and given 12 hex digits of its SHA-256.
func shortenName(name string) string {
	if len(name) <= 53 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:40] + "-" + hex.EncodeToString(sum[:])[:12]
}

// chart fetches the chart a HelmRelease names, from a source of the tree.
func (x *expander) chart(ctx context.Context, hr placed, spec *helmRelease, index treeIndex) (*Chart, []*render.Object, error) {
	if spec.ChartRef != nil {
		ref := spec.ChartRef
		if ref.Kind != "OCIRepository" {
			return nil, nil, unsupported("spec.chartRef.kind", fmt.Sprintf("%s: charts come from an OCIRepository, or a HelmRepository through spec.chart", ref.Kind))
		}
		src, ok, err := index.get(hr, key(SourceGroup, ref.Kind, cmp.Or(ref.Namespace, hr.ns), ref.Name))
		if err != nil {
			return nil, nil, fmt.Errorf("spec.chartRef: %w", err)
		}
		if !ok {
			return nil, nil, notInTree("spec.chartRef", ref.Kind, cmp.Or(ref.Namespace, hr.ns), ref.Name)
		}
		c, err := x.ociRepositoryChart(ctx, src)
		if err != nil {
			return nil, nil, fmt.Errorf("spec.chartRef: %s %s/%s (%s): %w", ref.Kind, src.ns, ref.Name, src.obj.Origin, err)
		}
		return c, []*render.Object{src.obj}, nil
	}
	cs := spec.Chart.Spec
	ref := cs.SourceRef
	if cs.Chart == "" {
		return nil, nil, fmt.Errorf("%w: spec.chart.spec.chart is required", ErrInvalid)
	}
	if ref.Kind != "HelmRepository" {
		return nil, nil, unsupported("spec.chart.spec.sourceRef.kind", fmt.Sprintf("%s: charts come from a HelmRepository here, or an OCIRepository through spec.chartRef", ref.Kind))
	}
	src, ok, err := index.get(hr, key(SourceGroup, ref.Kind, cmp.Or(ref.Namespace, hr.ns), ref.Name))
	if err != nil {
		return nil, nil, fmt.Errorf("spec.chart.spec.sourceRef: %w", err)
	}
	if !ok {
		return nil, nil, notInTree("spec.chart.spec.sourceRef", ref.Kind, cmp.Or(ref.Namespace, hr.ns), ref.Name)
	}
	c, err := x.helmRepositoryChart(ctx, src, cs.Chart, cmp.Or(cs.Version, "*"))
	if err != nil {
		return nil, nil, fmt.Errorf("spec.chart.spec.sourceRef: %s %s/%s (%s): %w", ref.Kind, src.ns, ref.Name, src.obj.Origin, err)
	}
	return c, []*render.Object{src.obj}, nil
}

func notInTree(field, kind, ns, name string) error {
	return fmt.Errorf("%w: %s: %s %s/%s is not in the rendered tree (render fetches charts only from sources in the tree)", ErrUnsupported, field, kind, ns, name)
}

type repositorySpec struct {
	URL             string          `json:"url"`
	Type            string          `json:"type"`
	Provider        string          `json:"provider"`
	SecretRef       json.RawMessage `json:"secretRef"`
	CertSecretRef   json.RawMessage `json:"certSecretRef"`
	ProxySecretRef  json.RawMessage `json:"proxySecretRef"`
	PassCredentials bool            `json:"passCredentials"`
	Insecure        bool            `json:"insecure"`
	Interval        string          `json:"interval"`
	Timeout         string          `json:"timeout"`
	Suspend         bool            `json:"suspend"`
	AccessFrom      json.RawMessage `json:"accessFrom"`
}

// helmRepositoryChart fetches a chart version from a HelmRepository (HTTP, or OCI
// with spec.type: oci).
func (x *expander) helmRepositoryChart(ctx context.Context, src placed, name, version string) (*Chart, error) {
	var s repositorySpec
	if err := decodeStrict(src.obj, "spec", &s); err != nil {
		return nil, err
	}
	if err := refuseSource(s.Provider, s.CertSecretRef, s.ProxySecretRef, nil, nil); err != nil {
		return nil, err
	}
	e := x.e.forSource(s.Insecure)
	if s.Type == "oci" {
		if !strings.HasPrefix(s.URL, render.OCIScheme) {
			return nil, fmt.Errorf("%w: spec.url %q: an OCI HelmRepository's URL starts with oci://", ErrInvalid, s.URL)
		}
		return e.ociChart(ctx, strings.TrimSuffix(s.URL, "/")+"/"+name, version)
	}
	if s.Type != "" && s.Type != "default" {
		return nil, fmt.Errorf("%w: spec.type %q (want default or oci)", ErrInvalid, s.Type)
	}
	if version == "*" {
		version = ""
	}
	return e.repoChart(ctx, s.URL, name, version)
}

type ociRepositorySpec struct {
	URL string `json:"url"`
	Ref *struct {
		Tag          string `json:"tag"`
		SemVer       string `json:"semver"`
		SemverFilter string `json:"semverFilter"`
		Digest       string `json:"digest"`
	} `json:"ref"`
	LayerSelector *struct {
		MediaType string `json:"mediaType"`
		Operation string `json:"operation"`
	} `json:"layerSelector"`
	Provider           string          `json:"provider"`
	SecretRef          json.RawMessage `json:"secretRef"`
	ServiceAccountName string          `json:"serviceAccountName"`
	CertSecretRef      json.RawMessage `json:"certSecretRef"`
	ProxySecretRef     json.RawMessage `json:"proxySecretRef"`
	Verify             json.RawMessage `json:"verify"`
	Insecure           bool            `json:"insecure"`
	Ignore             string          `json:"ignore"`
	Interval           string          `json:"interval"`
	Timeout            string          `json:"timeout"`
	Suspend            bool            `json:"suspend"`
}

// ociRepositoryChart fetches the chart an OCIRepository points at.
func (x *expander) ociRepositoryChart(ctx context.Context, src placed) (*Chart, error) {
	var s ociRepositorySpec
	if err := decodeStrict(src.obj, "spec", &s); err != nil {
		return nil, err
	}
	if err := refuseSource(s.Provider, s.CertSecretRef, s.ProxySecretRef, s.Verify, &s.ServiceAccountName); err != nil {
		return nil, err
	}
	ref, err := artifact.ParseReference(s.URL)
	if err != nil || !strings.HasPrefix(s.URL, render.OCIScheme) {
		return nil, fmt.Errorf("%w: spec.url %q: want oci://REGISTRY/REPOSITORY", ErrInvalid, s.URL)
	}
	if ref.Tag != "" || ref.Digest != "" {
		return nil, fmt.Errorf("%w: spec.url %q: give the tag or digest in spec.ref", ErrInvalid, s.URL)
	}
	layerType := ChartLayerMediaType
	if ls := s.LayerSelector; ls != nil {
		if ls.Operation != "" && ls.Operation != "copy" {
			return nil, unsupported("spec.layerSelector.operation", fmt.Sprintf("%q: a chart is read as the layer it is (copy)", ls.Operation))
		}
		layerType = cmp.Or(ls.MediaType, layerType)
	}
	e := x.e.forSource(s.Insecure)
	var tag string
	switch r := s.Ref; {
	case r != nil && r.Digest != "":
		d, err := parseDigest(r.Digest)
		if err != nil {
			return nil, fmt.Errorf("%w: spec.ref.digest: %v", ErrInvalid, err)
		}
		ref = ref.WithDigest(d)
	case r != nil && r.SemVer != "":
		if r.SemverFilter != "" {
			return nil, unsupported("spec.ref.semverFilter", "pick the version with spec.ref.semver alone")
		}
		if tag, err = e.ociVersion(ctx, ref, r.SemVer); err != nil {
			return nil, err
		}
	case r != nil && r.Tag != "":
		tag = r.Tag
	default:
		tag = "latest"
	}
	if tag != "" {
		ref = ref.WithTag(tag)
	}
	if layerType == ChartLayerMediaType {
		layerType = "" // the chart layer, or its legacy media type
	}
	return e.fetchOCI(ctx, ref, layerType)
}

// refuseSource refuses source fields render cannot honour. Credentials
// (secretRef) are not read from the tree: gitless's own chain is used.
func refuseSource(provider string, certSecretRef, proxySecretRef, verify json.RawMessage, sa *string) error {
	set := func(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" }
	switch {
	case provider != "" && provider != "generic":
		return unsupported("spec.provider", fmt.Sprintf("%q: cloud credentials are not fetched; give registry credentials to gitless (docker config, --creds, CI variables)", provider))
	case set(certSecretRef):
		return unsupported("spec.certSecretRef", "client certificates are not supported")
	case set(proxySecretRef):
		return unsupported("spec.proxySecretRef", "proxies come from the environment (HTTPS_PROXY)")
	case set(verify):
		return unsupported("spec.verify", "chart signatures are not checked by render")
	case sa != nil && *sa != "":
		return unsupported("spec.serviceAccountName", "cloud credentials are not fetched; give registry credentials to gitless")
	}
	return nil
}

// mergeValuesFrom merges the values in a ConfigMap or Secret of the tree, as
// helm-controller does: the whole document at the root, or (targetPath) the value
// at that path, typed as --set types it unless quoted.
func (x *expander) mergeValuesFrom(vals map[string]any, kind, name, valuesKey, targetPath string, optional bool, hr placed, index treeIndex, field string) error {
	if kind != "ConfigMap" && kind != "Secret" {
		return fmt.Errorf("%w: %s.kind %q (want ConfigMap or Secret)", ErrInvalid, field, kind)
	}
	src, ok, err := index.get(hr, key("", kind, hr.ns, name))
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if !ok {
		if optional {
			return nil
		}
		return fmt.Errorf("%w: %s: %s %s/%s is not in the rendered tree (values are not read from the cluster)", ErrUnsupported, field, kind, hr.ns, name)
	}
	v, err := src.obj.Value()
	if err != nil {
		return err
	}
	data, found, err := dataKey(v, kind, valuesKey)
	if err != nil {
		return fmt.Errorf("%s: %s %s/%s: %w", field, kind, hr.ns, name, err)
	}
	if !found {
		if optional {
			return nil
		}
		return fmt.Errorf("%w: %s: %s %s/%s has no key %q", ErrInvalid, field, kind, hr.ns, name, valuesKey)
	}
	if targetPath != "" {
		s := string(data)
		if len(s) > 1 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
			err = strvals.ParseIntoString(targetPath+"="+s[1:len(s)-1], vals)
		} else {
			err = strvals.ParseInto(targetPath+"="+s, vals)
		}
		if err != nil {
			return fmt.Errorf("%w: %s.targetPath %q: %v", ErrInvalid, field, targetPath, err)
		}
		return nil
	}
	m, err := loader.LoadValues(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: %s: key %q of %s %s/%s: %v", ErrInvalid, field, valuesKey, kind, hr.ns, name, err)
	}
	for k, v := range loader.MergeMaps(vals, m) {
		vals[k] = v
	}
	return nil
}

// dataKey reads a key of a ConfigMap (data, binaryData) or a Secret (data, base64;
// stringData).
func dataKey(obj map[string]any, kind, k string) ([]byte, bool, error) {
	get := func(field string) (string, bool) {
		m, _ := obj[field].(map[string]any)
		s, ok := m[k].(string)
		return s, ok
	}
	if kind == "ConfigMap" {
		if s, ok := get("data"); ok {
			return []byte(s), true, nil
		}
		if s, ok := get("binaryData"); ok {
			b, err := base64.StdEncoding.DecodeString(s)
			return b, true, err
		}
		return nil, false, nil
	}
	if s, ok := get("stringData"); ok {
		return []byte(s), true, nil
	}
	if s, ok := get("data"); ok {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, true, fmt.Errorf("key %q is not base64", k)
		}
		return b, true, nil
	}
	return nil, false, nil
}
