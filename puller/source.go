package puller

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/opencontainers/go-digest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/verify"
)

// Source is one artifact the puller keeps applied: an entry of the config file
// (docs/puller-config.md), or the flags of `gitless-puller sync`.
type Source struct {
	// Name identifies the source: the ApplySet parent is "gitless-" + Name in the
	// puller's namespace, and dependsOn refers to it. A DNS-1123 label.
	Name string `json:"name"`
	// URL is the repository, oci://REGISTRY/REPOSITORY. It may carry the ref as a tag
	// (":TAG") or digest ("@sha256:..."), instead of Ref.
	URL string `json:"url"`
	// Ref says which artifact of the repository: one of a tag, a semver range (the
	// highest matching tag) or a digest. Default: the tag "latest".
	Ref Ref `json:"ref,omitzero"`
	// Path is the directory inside the artifact to build; "" or "." is the top.
	Path string `json:"path,omitempty"`
	// Verify is the signature policy (the verify package's). Required, unless
	// InsecureSkipVerify.
	Verify *verify.Policy `json:"verify,omitempty"`
	// InsecureSkipVerify applies artifacts without checking any signature. For
	// development only; the status says so.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// PullSecret names a kubernetes.io/dockerconfigjson Secret, read through the API
	// with the source's identity: "NAME" in the source's namespace (its service
	// account's, else the puller's), or "NAMESPACE/NAME" (another namespace only with
	// Tenancy.AllowCrossNamespaceRefs). Its credentials are used only for the registry
	// hosts they name.
	PullSecret string `json:"pullSecret,omitempty"`
	// PullSecretFile is a dockerconfigjson file (a mounted Secret), the alternative to
	// PullSecret.
	PullSecretFile string `json:"pullSecretFile,omitempty"`
	// Insecure allows plain HTTP to a registry that is not on loopback.
	Insecure bool `json:"insecure,omitempty"`
	// TargetNamespace, when set, is the namespace of every namespaced object.
	TargetNamespace string `json:"targetNamespace,omitempty"`
	// Prune deletes objects that left the set.
	Prune bool `json:"prune,omitempty"`
	// PruneNamespacesAndCRDs lets pruning delete Namespaces and CRDs (and so
	// everything in them).
	PruneNamespacesAndCRDs bool `json:"pruneNamespacesAndCRDs,omitempty"`
	// AllowEmpty accepts an artifact with no objects (which prunes everything).
	AllowEmpty bool `json:"allowEmpty,omitempty"`
	// AllowRollback accepts an artifact older than the one applied last (by semver
	// tag, else by its created annotation).
	AllowRollback bool `json:"allowRollback,omitempty"`
	// Suspend stops the source where it is: no poll, nothing applied or pruned, its
	// objects left as they are (as Flux's spec.suspend; `gitless-puller suspend` does
	// the same through an annotation on the parent, without a configuration change).
	Suspend bool `json:"suspend,omitempty"`
	// Force recreates an object (deletes it, then creates it) when the cluster refuses
	// its change because an immutable field changed, as Flux's spec.force does; the
	// annotation gitless.dev/force: enabled (or Flux's kustomize.toolkit.fluxcd.io/force)
	// does it for one object.
	Force bool `json:"force,omitempty"`
	// Wait waits for the applied objects to become ready before pruning and before
	// sources that depend on this one run.
	Wait bool `json:"wait,omitempty"`
	// ServiceAccountName is impersonated for everything applied, dry-run and pruned,
	// and for reading PullSecret: "NAME", the account in TargetNamespace (which is
	// then required), or "NAMESPACE/NAME". See Tenancy.
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// DependsOn names sources that must have synced successfully (and be ready, if
	// they wait) before this one runs.
	DependsOn []string `json:"dependsOn,omitempty"`
	// Interval between polls; each wait is 95-100% of it (jittered). Default 1m.
	Interval metav1.Duration `json:"interval,omitzero"`
	// RetryInterval bounds the wait between tries of a failing sync: after a failure
	// worth retrying, the waits grow from a few seconds up to it. Longer than Interval,
	// the registry is still polled every Interval, and a poll that finds the failing
	// digest again does nothing more until RetryInterval has passed (a new digest is
	// synced at once). Default: Interval. Flux's spec.retryInterval.
	RetryInterval metav1.Duration `json:"retryInterval,omitzero"`
	// DriftInterval is how often the objects are checked and put back when the
	// artifact has not changed. Default 10m.
	DriftInterval metav1.Duration `json:"driftInterval,omitzero"`
	// Timeout bounds one sync. Default 5m.
	Timeout metav1.Duration `json:"timeout,omitzero"`

	// NamePrefix, NameSuffix, Patches and Images are kustomize's fields of these names,
	// given to the set as Flux's Kustomization spec fields are: in a kustomization
	// around everything built (with TargetNamespace), so that kustomize renames the
	// references too, patches and sets images.
	NamePrefix string  `json:"namePrefix,omitempty"`
	NameSuffix string  `json:"nameSuffix,omitempty"`
	Patches    []Patch `json:"patches,omitempty"`
	Images     []Image `json:"images,omitempty"`
	// HealthChecks are objects waited for until ready after the apply, when Wait is
	// false (Flux ignores them when it waits too), as Flux's spec.healthChecks.
	HealthChecks []HealthCheck `json:"healthChecks,omitempty"`
	// CommonMetadata labels and annotations are set on every object of the set, as
	// Flux's spec.commonMetadata.
	CommonMetadata *CommonMetadata `json:"commonMetadata,omitempty"`

	// PostBuild substitutes variables in the built objects, as Flux's
	// Kustomization spec.postBuild does (postbuild.go).
	PostBuild *PostBuild `json:"postBuild,omitempty"`
	// CertSecretRef names a Secret in the puller's namespace holding the registry's CA
	// certificate (ca.crt) and, for registries that ask for one, a client certificate
	// (tls.crt, tls.key): the keys of Flux's OCIRepository certSecretRef.
	CertSecretRef *LocalObjectReference `json:"certSecretRef,omitempty"`
	// CAFile, CertFile and KeyFile are the same from files (a mounted Secret).
	CAFile   string `json:"caFile,omitempty"`
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
	// Webhook overrides the configuration's webhook token for this source.
	Webhook *WebhookSecret `json:"webhook,omitempty"`
}

// Ref selects an artifact of a repository. At most one field may be set.
type Ref struct {
	Tag    string `json:"tag,omitempty"`
	SemVer string `json:"semver,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// String is "tag latest", "semver >=1.0.0" or "digest sha256:...".
func (r Ref) String() string {
	switch {
	case r.Digest != "":
		return "digest " + r.Digest
	case r.SemVer != "":
		return "semver " + r.SemVer
	}
	return "tag " + r.Tag
}

// ParseRef reads the --ref flag: a digest ("sha256:..."), a semver range (anything
// with one of the characters <>=~^*|, or a space, which no tag contains: ">=1.0.0",
// "^1.2", "~1.2.3"), else a tag.
func ParseRef(s string) Ref {
	switch {
	case strings.HasPrefix(s, "sha256:") || strings.HasPrefix(s, "sha512:"):
		return Ref{Digest: s}
	case strings.ContainsAny(s, "<>=~^*|, "):
		return Ref{SemVer: s}
	}
	return Ref{Tag: s}
}

// Defaults of a Source's durations.
const (
	DefaultInterval      = time.Minute
	DefaultDriftInterval = 10 * time.Minute
	DefaultTimeout       = 5 * time.Minute
)

// WithDefaults returns s with the durations and the ref filled in.
func (s Source) WithDefaults() Source {
	if s.Interval.Duration == 0 {
		s.Interval.Duration = DefaultInterval
	}
	if s.DriftInterval.Duration == 0 {
		s.DriftInterval.Duration = DefaultDriftInterval
	}
	if s.Timeout.Duration == 0 {
		s.Timeout.Duration = DefaultTimeout
	}
	if s.Ref == (Ref{}) {
		if r, err := artifact.ParseReference(s.URL); err == nil {
			s.Ref = urlRef(r)
		}
		if s.Ref == (Ref{}) {
			s.Ref.Tag = "latest"
		}
	}
	return s
}

// urlRef is the ref a url names: its digest when it has one (REPO:TAG@DIGEST pins the
// digest, the tag is only a label, as in a container image reference), else its tag.
func urlRef(r artifact.Reference) Ref {
	if r.Digest != "" {
		return Ref{Digest: r.Digest.String()}
	}
	return Ref{Tag: r.Tag}
}

// FieldError names the field of a source or config that is wrong.
type FieldError struct {
	Field string // "sources[2].ref.semver"
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// ErrInvalidSource matches every error of Source.Validate and config loading.
var ErrInvalidSource = errors.New("invalid source")

func (e *FieldError) Is(target error) bool { return target == ErrInvalidSource }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, a...)}
}

// Validate checks s without any I/O and names the first offending field, relative to
// the source ("url", "ref.semver", "verify.keys[0]").
func (s Source) Validate() error {
	if errs := validation.IsDNS1123Label(s.Name); len(errs) > 0 {
		return fieldErr("name", "%q: %s", s.Name, strings.Join(errs, "; "))
	}
	if len("gitless-"+s.Name) > validation.DNS1123LabelMaxLength {
		return fieldErr("name", "%q: at most %d characters", s.Name, validation.DNS1123LabelMaxLength-len("gitless-"))
	}
	if s.URL == "" {
		return fieldErr("url", "required")
	}
	if !strings.HasPrefix(s.URL, artifact.Scheme) {
		return fieldErr("url", "%q: want oci://REGISTRY/REPOSITORY", s.URL)
	}
	u, err := artifact.ParseReference(s.URL)
	if err != nil {
		return fieldErr("url", "%v", err)
	}
	set := 0
	for _, v := range []string{s.Ref.Tag, s.Ref.SemVer, s.Ref.Digest} {
		if v != "" {
			set++
		}
	}
	switch {
	case set > 1:
		return fieldErr("ref", "set one of tag, semver and digest")
	case set == 1 && urlRef(u) != (Ref{}) && s.Ref != urlRef(u):
		return fieldErr("ref", "%s, but the url names %s: give it in one place", s.Ref, urlRef(u))
	case s.Ref.Tag != "":
		if err := artifact.ValidateTag(s.Ref.Tag); err != nil {
			return fieldErr("ref.tag", "%v", err)
		}
	case s.Ref.SemVer != "":
		if _, err := semver.NewConstraint(s.Ref.SemVer); err != nil {
			return fieldErr("ref.semver", "%q: %v", s.Ref.SemVer, err)
		}
	case s.Ref.Digest != "":
		if err := digest.Digest(s.Ref.Digest).Validate(); err != nil {
			return fieldErr("ref.digest", "%q: %v", s.Ref.Digest, err)
		}
	}
	if p := s.Path; p != "" {
		clean := path.Clean(p)
		if path.IsAbs(p) || strings.ContainsAny(p, "\\\x00") || clean == ".." || strings.HasPrefix(clean, "../") {
			return fieldErr("path", "%q: want a relative slash path inside the artifact, without ..", p)
		}
	}
	switch {
	case s.Verify == nil && !s.InsecureSkipVerify:
		return fieldErr("verify", "required: a verification policy (keys or identities), or insecureSkipVerify: true")
	case s.Verify != nil && s.InsecureSkipVerify:
		return fieldErr("insecureSkipVerify", "set together with verify")
	case s.Verify != nil:
		if err := s.Verify.Validate(); err != nil {
			var pe *verify.PolicyError
			if errors.As(err, &pe) {
				return &FieldError{Field: "verify." + pe.Field, Err: pe.Err}
			}
			return fieldErr("verify", "%v", err)
		}
	}
	if s.PullSecret != "" && s.PullSecretFile != "" {
		return fieldErr("pullSecretFile", "set together with pullSecret")
	}
	if s.PullSecret != "" {
		parts := strings.SplitN(s.PullSecret, "/", 2)
		for i, part := range parts {
			errs := validation.IsDNS1123Subdomain(part)
			if i == 0 && len(parts) == 2 {
				errs = validation.IsDNS1123Label(part) // a namespace
			}
			if len(errs) > 0 {
				return fieldErr("pullSecret", "%q: want NAME or NAMESPACE/NAME: %s", s.PullSecret, strings.Join(errs, "; "))
			}
		}
	}
	if s.TargetNamespace != "" {
		if errs := validation.IsDNS1123Label(s.TargetNamespace); len(errs) > 0 {
			return fieldErr("targetNamespace", "%q: %s", s.TargetNamespace, strings.Join(errs, "; "))
		}
	}
	if s.ServiceAccountName != "" {
		parts := strings.SplitN(s.ServiceAccountName, "/", 2)
		for i, part := range parts {
			errs := validation.IsDNS1123Subdomain(part)
			if i == 0 && len(parts) == 2 {
				errs = validation.IsDNS1123Label(part)
			}
			if len(errs) > 0 {
				return fieldErr("serviceAccountName", "%q: want NAME or NAMESPACE/NAME: %s", s.ServiceAccountName, strings.Join(errs, "; "))
			}
		}
	}
	if err := s.validateKustomize(); err != nil {
		return err
	}
	for i, h := range s.HealthChecks {
		if err := h.validate(fmt.Sprintf("healthChecks[%d]", i)); err != nil {
			return err
		}
	}
	if s.CommonMetadata != nil {
		if err := s.CommonMetadata.validate(); err != nil {
			return err
		}
	}
	for i, d := range s.DependsOn {
		if d == s.Name {
			return fieldErr(fmt.Sprintf("dependsOn[%d]", i), "a source cannot depend on itself")
		}
	}
	if err := s.validateService(); err != nil {
		return err
	}
	for _, d := range []struct {
		field string
		v     time.Duration
		min   time.Duration
	}{{"interval", s.Interval.Duration, time.Second}, {"retryInterval", s.RetryInterval.Duration, time.Second}, {"driftInterval", s.DriftInterval.Duration, time.Second}, {"timeout", s.Timeout.Duration, time.Second}} {
		if d.v != 0 && d.v < d.min {
			return fieldErr(d.field, "%s: at least %s", d.v, d.min)
		}
	}
	return nil
}

// CheckPolicies loads what each source's verification policy names (key files, env://
// keys, KMS keys, trusted roots), so that a missing or malformed one is refused at
// start with its field named ("sources[1].verify.keys[0]"); the errors match
// ErrInvalidSource. A root that cannot be fetched now (the public Sigstore root,
// offline) is not an error here: the syncs retry it.
func CheckPolicies(ctx context.Context, sources []Source) error {
	c := verify.New(verify.Options{})
	for i, s := range sources {
		if s.Verify == nil {
			continue
		}
		err := c.CheckPolicy(ctx, s.Verify)
		var pe *verify.PolicyError
		switch {
		case err == nil, errors.Is(err, verify.ErrUnavailable):
		case errors.As(err, &pe):
			return &FieldError{Field: fmt.Sprintf("sources[%d].verify.%s", i, pe.Field), Err: pe.Err}
		default:
			return &FieldError{Field: fmt.Sprintf("sources[%d].verify", i), Err: err}
		}
	}
	return nil
}
