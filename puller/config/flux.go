package config

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/gitless-dev/gitless/puller"
	"github.com/gitless-dev/gitless/verify"
)

// FluxInput is one stream of Flux objects (YAML documents, or JSON objects) and the
// name errors give it (a file's path).
type FluxInput struct {
	Name string
	Data []byte
}

// FromFluxOptions configures FromFlux.
type FromFluxOptions struct {
	// Namespace is the puller's namespace (default DefaultNamespace): Secrets and
	// ConfigMaps the Flux objects name in another namespace are written NAMESPACE/NAME
	// where the puller takes that form, and noted where it does not.
	Namespace string
	// KeysDir is where the Secrets of public keys that OCIRepositories' verify.secretRef
	// name are mounted in the puller's pod, one directory per Secret named
	// NAMESPACE-NAME (default /etc/gitless/keys).
	KeysDir string
}

// ErrFlux matches every error of FromFlux: a Flux object it cannot turn into a source.
var ErrFlux = errors.New("cannot convert the Flux objects")

// FluxError names the Flux object and field that cannot be converted.
type FluxError struct {
	Object string // "Kustomization flux-system/apps"
	Field  string // "spec.decryption"
	Err    error
}

func (e *FluxError) Error() string {
	if e.Field == "" {
		return e.Object + ": " + e.Err.Error()
	}
	return e.Object + ": " + e.Field + ": " + e.Err.Error()
}
func (e *FluxError) Unwrap() error        { return e.Err }
func (e *FluxError) Is(target error) bool { return target == ErrFlux }

// FromFlux turns Flux's OCIRepository and Kustomization objects (a YAML or JSON
// stream, as `flux export` or a fleet repository holds them) into a puller
// configuration: one source per Kustomization of an OCIRepository. The OCIRepository's
// interval becomes the source's (the registry's polling), the Kustomization's its
// driftInterval (Flux applies the set again at each). Notes say what must be done
// beside the file (a Secret to mount or move, a suspension to repeat); every field
// that has no equivalent is an error, all of them named together, so that nothing is
// dropped without a word. The result passes Validate.
func FromFlux(inputs []FluxInput, opts FromFluxOptions) (*PullerConfig, []string, error) {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.KeysDir == "" {
		opts.KeysDir = "/etc/gitless/keys"
	}
	repos := map[string]fluxObject{}
	var kustomizations []fluxObject
	var notes []string
	var errs []error
	var add func(m map[string]any, where string)
	add = func(m map[string]any, where string) {
		o := newFluxObject(m)
		group, _, _ := strings.Cut(o.apiVersion, "/")
		switch {
		case strings.HasSuffix(o.kind, "List") && m["items"] != nil:
			items, ok := m["items"].([]any)
			if !ok {
				errs = append(errs, &FluxError{Object: where, Field: "items", Err: errors.New("want a list")})
				return
			}
			for i, it := range items {
				if im, ok := it.(map[string]any); ok {
					add(im, fmt.Sprintf("%s, items[%d]", where, i))
				}
			}
		case group == "source.toolkit.fluxcd.io" && o.kind == "OCIRepository":
			if old, ok := repos[o.key()]; ok && !reflect.DeepEqual(old.spec, o.spec) {
				errs = append(errs, &FluxError{Object: o.String(), Err: fmt.Errorf("given twice, differently (%s): which to convert is not for the converter to guess", where)})
				return
			}
			repos[o.key()] = o
		case group == "kustomize.toolkit.fluxcd.io" && o.kind == "Kustomization":
			kustomizations = append(kustomizations, o)
		default:
			notes = append(notes, fmt.Sprintf("%s (%s): not an OCIRepository or Kustomization of Flux; left out", o, where))
		}
	}
	for _, in := range inputs {
		if len(in.Data) > MaxSize {
			return nil, nil, &FluxError{Object: in.Name, Err: fmt.Errorf("larger than %d bytes", MaxSize)}
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(in.Data), 4096)
		for doc := 1; ; doc++ {
			var m map[string]any
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, nil, &FluxError{Object: fmt.Sprintf("%s: document %d", in.Name, doc), Err: err}
			}
			if m != nil {
				add(m, fmt.Sprintf("%s: document %d", in.Name, doc))
			}
		}
	}
	if len(errs) > 0 {
		return nil, notes, errors.Join(errs...)
	}
	if len(kustomizations) == 0 {
		return nil, notes, &FluxError{Object: "the input", Err: errors.New("no Kustomization of Flux in it")}
	}
	c := &PullerConfig{APIVersion: APIVersion, Kind: Kind, Namespace: opts.Namespace, Sources: []puller.Source{}}
	names := map[string]string{}
	asPuller := 0
	for _, k := range kustomizations {
		src, n, err := fromFlux(k, repos, opts)
		notes = append(notes, n...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, ok := names[src.Name]; ok {
			errs = append(errs, &FluxError{Object: k.String(), Err: fmt.Errorf("its name is also %s's: sources have one name space; rename one", other)})
			continue
		}
		names[src.Name] = k.String()
		if src.ServiceAccountName == "" {
			asPuller++
		}
		if src.crossNamespace {
			c.AllowCrossNamespaceRefs = true
		}
		c.Sources = append(c.Sources, src.Source)
	}
	if len(errs) > 0 {
		return nil, notes, errors.Join(errs...)
	}
	for _, s := range c.Sources {
		for _, d := range s.DependsOn {
			if _, ok := names[d]; !ok {
				errs = append(errs, &FluxError{Object: names[s.Name], Field: "spec.dependsOn", Err: fmt.Errorf("%s is not among the Kustomizations converted", d)})
			}
		}
	}
	if len(errs) > 0 {
		return nil, notes, errors.Join(errs...)
	}
	if asPuller > 0 {
		notes = append(notes, fmt.Sprintf("Kustomizations without serviceAccountName (%d): their sources apply as the puller itself, as kustomize-controller does unless it runs with --default-service-account; if yours did, set defaultServiceAccount (docs/puller-config.md, tenancy)", asPuller))
	}
	if c.AllowCrossNamespaceRefs {
		notes = append(notes, fmt.Sprintf("allowCrossNamespaceRefs is set: the sources name Secrets outside the puller's namespace %s, as Flux's objects did", opts.Namespace))
	}
	if err := c.Validate(); err != nil {
		return nil, notes, fmt.Errorf("the converted configuration: %w", err)
	}
	return c, dedupe(notes), nil
}

// dedupe drops the repetitions of notes (an OCIRepository shared by Kustomizations
// is noted once), keeping the order.
func dedupe(notes []string) []string {
	seen := map[string]bool{}
	return slices.DeleteFunc(notes, func(n string) bool {
		dup := seen[n]
		seen[n] = true
		return dup
	})
}

// fluxObject is a decoded Flux object.
type fluxObject struct {
	apiVersion, kind, namespace, name string
	spec                              map[string]any
	// revision is an OCIRepository's status.artifact.revision, what Flux fetched last
	// ("TAG@sha256:..." or "sha256:...").
	revision string
}

func newFluxObject(m map[string]any) fluxObject {
	o := fluxObject{}
	o.apiVersion, _ = m["apiVersion"].(string)
	o.kind, _ = m["kind"].(string)
	meta, _ := m["metadata"].(map[string]any)
	o.name, _ = meta["name"].(string)
	o.namespace, _ = meta["namespace"].(string)
	if o.namespace == "" {
		o.namespace = "flux-system"
	}
	o.spec, _ = m["spec"].(map[string]any)
	status, _ := m["status"].(map[string]any)
	art, _ := status["artifact"].(map[string]any)
	o.revision, _ = art["revision"].(string)
	return o
}

func (o fluxObject) key() string    { return o.namespace + "/" + o.name }
func (o fluxObject) String() string { return o.kind + " " + o.key() }

// convertedSource is a source and whether it names objects in other namespaces.
type convertedSource struct {
	puller.Source
	crossNamespace bool
}

// fields reads a Flux object's spec: each accessor marks its field as read, and rest
// reports the fields no accessor read.
type fields struct {
	obj  fluxObject
	m    map[string]any
	path string
	read map[string]bool
	errs *[]error // shared by a spec and its sub-fields
}

func newFields(obj fluxObject, m map[string]any, path string) *fields {
	return &fields{obj: obj, m: m, path: path, read: map[string]bool{}, errs: new([]error)}
}

func (f *fields) fail(field string, format string, a ...any) {
	*f.errs = append(*f.errs, &FluxError{Object: f.obj.String(), Field: f.path + "." + field, Err: fmt.Errorf(format, a...)})
}

func (f *fields) has(k string) bool {
	f.read[k] = true
	_, ok := f.m[k]
	return ok
}

func (f *fields) str(k string) string {
	f.read[k] = true
	v, ok := f.m[k]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		f.fail(k, "want a string, not %v", v)
	}
	return s
}

func (f *fields) boolean(k string) bool {
	f.read[k] = true
	v, ok := f.m[k]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		f.fail(k, "want true or false, not %v", v)
	}
	return b
}

func (f *fields) duration(k string) metav1.Duration {
	s := f.str(k)
	if s == "" {
		return metav1.Duration{}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		f.fail(k, "%v", err)
	}
	return metav1.Duration{Duration: d}
}

func (f *fields) sub(k string) *fields {
	f.read[k] = true
	m, _ := f.m[k].(map[string]any)
	if _, ok := f.m[k]; ok && m == nil {
		f.fail(k, "want a mapping")
	}
	return &fields{obj: f.obj, m: m, path: f.path + "." + k, read: map[string]bool{}, errs: f.errs}
}

// localRef reads field k as Flux's {name: NAME} reference and returns the name.
func (f *fields) localRef(k string) string {
	ref := f.sub(k)
	name := ref.str("name")
	ref.rest(nil)
	return name
}

// into decodes field k into v (a struct of the puller's own, with the same field names
// as Flux's), refusing fields v does not have.
func (f *fields) into(k string, v any) {
	f.read[k] = true
	raw, ok := f.m[k]
	if !ok {
		return
	}
	b, err := json.Marshal(raw)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
	}
	if err != nil {
		f.fail(k, "%v", err)
	}
}

// rest fails every field not read, with why (a hint) when there is one.
func (f *fields) rest(why map[string]string) {
	keys := make([]string, 0, len(f.m))
	for k := range f.m {
		if !f.read[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if w, ok := why[k]; ok {
			f.fail(k, "not supported: %s", w)
		} else {
			f.fail(k, "not supported by the puller")
		}
	}
}

// unsupportedKustomization says why the Kustomization fields the puller lacks are not
// there, and what to do instead.
var unsupportedKustomization = map[string]string{
	"decryption":       "decrypt in CI, or use an external secret store: read access to the registry would be read access to the Secrets",
	"components":       "list them in the artifact's kustomization",
	"healthCheckExprs": "the puller's readiness rules are kstatus's; use healthChecks",
	"kubeConfig":       "run a puller in the target cluster",
}

var unsupportedOCIRepository = map[string]string{
	"ignore":             "put the rules in the artifact's .sourceignore",
	"layerSelector":      "the puller reads the one content layer of Flux's media type",
	"proxySecretRef":     "set HTTPS_PROXY in the puller's environment",
	"serviceAccountName": "name the pull secret with secretRef",
}

func fromFlux(k fluxObject, repos map[string]fluxObject, opts FromFluxOptions) (convertedSource, []string, error) {
	var notes []string
	out := convertedSource{Source: puller.Source{Name: k.name}}
	src := &out.Source
	spec := newFields(k, k.spec, "spec")

	ref := spec.sub("sourceRef")
	kind, name, ns := ref.str("kind"), ref.str("name"), ref.str("namespace")
	ref.str("apiVersion")
	ref.rest(nil)
	if kind != "OCIRepository" {
		return out, nil, &FluxError{Object: k.String(), Field: "spec.sourceRef.kind", Err: fmt.Errorf("%q: the puller reads OCI artifacts only; push the source with gitless push", kind)}
	}
	if ns == "" {
		ns = k.namespace
	}
	repo, ok := repos[ns+"/"+name]
	if !ok {
		return out, nil, &FluxError{Object: k.String(), Field: "spec.sourceRef", Err: fmt.Errorf("OCIRepository %s/%s is not among the objects given", ns, name)}
	}

	src.Path = strings.TrimPrefix(strings.TrimPrefix(spec.str("path"), "./"), "/")
	if src.Path == "." {
		src.Path = ""
	}
	src.DriftInterval = spec.duration("interval")
	src.RetryInterval = spec.duration("retryInterval")

	src.Timeout = spec.duration("timeout")
	if src.Timeout.Duration == 0 && src.DriftInterval.Duration > 0 {
		// Flux's default: the interval less 30 s, at least 30 s.
		src.Timeout.Duration = max(src.DriftInterval.Duration-30*time.Second, 30*time.Second)
	}
	src.Prune = spec.boolean("prune")
	if src.Prune {
		notes = append(notes, fmt.Sprintf("%s: prune keeps Namespaces and CRDs unless pruneNamespacesAndCRDs: true (Flux deletes them)", k))
	}
	src.Wait = spec.boolean("wait")
	src.Force = spec.boolean("force")
	src.TargetNamespace = spec.str("targetNamespace")
	src.NamePrefix, src.NameSuffix = spec.str("namePrefix"), spec.str("nameSuffix")
	if sa := spec.str("serviceAccountName"); sa != "" {
		src.ServiceAccountName = k.namespace + "/" + sa // Flux's lives in the Kustomization's namespace
	}
	if spec.boolean("suspend") {
		src.Suspend = true
		notes = append(notes, fmt.Sprintf("%s: suspended in Flux, so suspend: true (remove it to let the source sync)", k))
	}
	switch dp := spec.str("deletionPolicy"); {
	case dp == "Orphan", (dp == "" || dp == "MirrorPrune") && !src.Prune:
		// What the puller does: a source removed from the configuration leaves its
		// objects.
	case dp == "", dp == "MirrorPrune", dp == "Delete", dp == "WaitForTermination":
		notes = append(notes, fmt.Sprintf("%s: deletionPolicy %s: the objects of a source removed from the configuration stay unless the configuration sets pruneRemovedSources: true (for every source)", k, cmp.Or(dp, "MirrorPrune")))
	default:
		spec.fail("deletionPolicy", "%q: not one of Flux's (MirrorPrune, Delete, WaitForTermination, Orphan)", dp)
	}
	spec.into("healthChecks", &src.HealthChecks)
	for i := range src.HealthChecks {
		if src.HealthChecks[i].APIVersion == "" {
			// Flux's reading of a health check without one.
			src.HealthChecks[i].APIVersion = "apps/v1"
			notes = append(notes, fmt.Sprintf("%s: healthChecks[%d] has no apiVersion: apps/v1 written, as Flux reads it", k, i))
		}
	}
	spec.into("commonMetadata", &src.CommonMetadata)
	spec.into("patches", &src.Patches)
	spec.into("images", &src.Images)
	var deps []struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
	}
	spec.into("dependsOn", &deps)
	for _, d := range deps {
		if d.Namespace != "" && d.Namespace != k.namespace {
			spec.fail("dependsOn", "%s/%s: sources have one name space; a dependency in another namespace is named by its name alone", d.Namespace, d.Name)
		}
		src.DependsOn = append(src.DependsOn, d.Name)
	}
	if spec.has("postBuild") {
		pb := spec.sub("postBuild")
		src.PostBuild = &puller.PostBuild{}
		pb.into("substitute", &src.PostBuild.Substitute)
		pb.into("substituteFrom", &src.PostBuild.SubstituteFrom)
		pb.rest(nil)
		for _, r := range src.PostBuild.SubstituteFrom {
			if k.namespace != opts.Namespace {
				notes = append(notes, fmt.Sprintf("%s: postBuild.substituteFrom %s %s is read from the puller's namespace %s (Flux read it from %s): copy it there", k, r.Kind, r.Name, opts.Namespace, k.namespace))
			}
		}
	}
	spec.rest(unsupportedKustomization)

	// The OCIRepository.
	rs := newFields(repo, repo.spec, "spec")
	src.URL = rs.str("url")
	src.Interval = rs.duration("interval")
	if rs.has("ref") {
		r := rs.sub("ref")
		src.Ref = puller.Ref{Tag: r.str("tag"), SemVer: r.str("semver"), Digest: r.str("digest")}
		r.rest(map[string]string{"semverFilter": "a semver range alone selects the tag"})
		// Flux takes the digest over the semver range over the tag; the puller takes one.
		switch was := src.Ref; {
		case was.Digest != "" && (was.SemVer != "" || was.Tag != ""):
			src.Ref = puller.Ref{Digest: was.Digest}
			notes = append(notes, fmt.Sprintf("%s: ref has a digest and more: the digest is kept, as Flux uses it", repo))
		case was.SemVer != "" && was.Tag != "":
			src.Ref = puller.Ref{SemVer: was.SemVer}
			notes = append(notes, fmt.Sprintf("%s: ref has a semver range and a tag: the range is kept, as Flux uses it", repo))
		}
	}
	src.Insecure = rs.boolean("insecure")
	if rs.has("secretRef") {
		name := rs.localRef("secretRef")
		// The puller reads a pullSecret NAME in the source's namespace: its service
		// account's, else the puller's.
		home := opts.Namespace
		if sa, _, ok := strings.Cut(src.ServiceAccountName, "/"); ok {
			home = sa
		}
		src.PullSecret = name
		if src.ServiceAccountName != "" {
			notes = append(notes, fmt.Sprintf("%s: the pull secret %s/%s is read as the service account %s (Flux's source-controller read it as itself): let that account get it", k, repo.namespace, name, src.ServiceAccountName))
		}
		if repo.namespace != home {
			src.PullSecret = repo.namespace + "/" + name
			out.crossNamespace = true
		}
	}
	if rs.has("certSecretRef") {
		src.CertSecretRef = &puller.LocalObjectReference{Name: rs.localRef("certSecretRef")}
		if repo.namespace != opts.Namespace {
			notes = append(notes, fmt.Sprintf("%s: certSecretRef %s is read from the puller's namespace %s (Flux read it from %s): copy it there", repo, src.CertSecretRef.Name, opts.Namespace, repo.namespace))
		}
	}
	if rs.boolean("suspend") {
		// Flux keeps applying (and correcting drift from) the artifact a suspended
		// OCIRepository fetched last: pinned to it, the source does the same.
		if _, d, _ := strings.Cut("@"+repo.revision, "@sha256:"); len(d) == 64 && !src.Suspend {
			src.Ref = puller.Ref{Digest: "sha256:" + d}
			notes = append(notes, fmt.Sprintf("%s: suspended in Flux, which keeps applying the artifact it fetched last: ref pinned to its digest sha256:%s (status.artifact.revision); restore the ref to follow it again", repo, d))
		} else if !src.Suspend {
			src.Suspend = true
			notes = append(notes, fmt.Sprintf("%s: suspended in Flux, and the object has no status.artifact.revision to pin the source to: source %s has suspend: true (remove it, or pin ref.digest to the artifact Flux applies)", repo, k.name))
		}
	}
	switch p := rs.str("provider"); p {
	case "", "generic": // Flux's default, in every object it stores
	default:
		rs.fail("provider", "not supported (%q): the puller reads credentials from dockerconfigjson Secrets (pullSecret), not cloud workload identity", p)
	}
	rs.duration("timeout") // the source's timeout bounds the whole sync
	if rs.has("verify") {
		v := rs.sub("verify")
		if p := v.str("provider"); p != "cosign" && p != "" { // Flux's default is cosign
			v.fail("provider", "%q: the puller verifies cosign signatures", p)
		}
		pol := &verify.Policy{}
		if v.has("secretRef") {
			name := v.localRef("secretRef")
			dir := opts.KeysDir + "/" + repo.namespace + "-" + name
			pol.Keys = []string{dir + "/cosign.pub"}
			// Flux's source-controller verifies key signatures offline, without a
			// transparency-log proof.
			pol.InsecureIgnoreTlog = true
			mount := fmt.Sprintf("mount Secret %s/%s", repo.namespace, name)
			if repo.namespace != opts.Namespace {
				// A pod mounts Secrets of its own namespace only.
				mount = fmt.Sprintf("copy Secret %s/%s into the puller's namespace %s, mount it", repo.namespace, name, opts.Namespace)
			}
			notes = append(notes, fmt.Sprintf("%s: %s in the puller's pod at %s and list each of its *.pub keys under verify.keys (written: %s), or put the PEM itself under verify.keys", repo, mount, dir, pol.Keys[0]),
				fmt.Sprintf("%s: insecureIgnoreTlog: true, as Flux verifies key signatures without the transparency log; drop it if the signatures are in Rekor", repo))
		}
		var ids []struct {
			Issuer  string `json:"issuer"`
			Subject string `json:"subject"`
		}
		v.into("matchOIDCIdentity", &ids)
		if len(pol.Keys) > 0 && len(ids) > 0 {
			// Flux verifies with the keys alone when it has keys.
			notes = append(notes, fmt.Sprintf("%s: verify.matchOIDCIdentity left out: Flux ignores it when verify.secretRef gives keys", repo))
			ids = nil
		}
		for _, id := range ids {
			pol.Identities = append(pol.Identities, verify.Identity{IssuerRegexp: id.Issuer, SubjectRegexp: id.Subject})
		}
		if len(ids) > 0 {
			notes = append(notes, fmt.Sprintf("%s: the puller anchors identity regular expressions (^(?:EXPR)$); Flux's match anywhere in the value", repo))
		}
		if !v.has("secretRef") && len(ids) == 0 {
			v.fail("matchOIDCIdentity", "keyless verification without an identity trusts any signer: name the issuer and subject")
		}
		v.rest(nil)
		src.Verify = pol
	} else {
		src.InsecureSkipVerify = true
		notes = append(notes, fmt.Sprintf("%s: no verify in Flux, so insecureSkipVerify: true; sign the artifacts and give a policy", repo))
	}
	rs.rest(unsupportedOCIRepository)

	if errs := slices.Concat(*spec.errs, *rs.errs); len(errs) > 0 {
		return out, notes, errors.Join(errs...)
	}
	if err := src.Validate(); err != nil {
		return out, notes, &FluxError{Object: k.String(), Err: err}
	}
	return out, notes, nil
}
