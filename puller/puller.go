package puller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/opencontainers/go-digest"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/redact"
	"github.com/gitless-dev/gitless/puller/apply"
	"github.com/gitless-dev/gitless/verify"
)

// Verifier checks the signature of a digest-pinned artifact against a policy.
// *verify.Client implements it.
type Verifier interface {
	Verify(ctx context.Context, ref artifact.Reference, p *verify.Policy) (*verify.Result, error)
}

// VerifierOptions is what a Verifier for one source is made with: that source's
// registry access.
type VerifierOptions struct {
	Credentials remote.CredentialResolver
	Insecure    bool
	HTTPS       bool // the registry has its own certificate: HTTPS even on loopback
	HTTPClient  *http.Client
	UserAgent   string
	Lists       remote.ListLimits
}

// Options configures a [Puller].
type Options struct {
	// Namespace is the puller's own namespace: the ApplySet parents live there, and
	// pull secrets named without a namespace are read from it. Required.
	Namespace string
	// Version goes into the ApplySet tooling annotation, "gitless-puller/VERSION".
	Version string
	// Instance names this puller in Events (the pod name); "" is fine.
	Instance string
	// Concurrency bounds the apiserver requests in flight per sync; 0 means
	// apply.DefaultConcurrency.
	Concurrency int
	// Extract caps extraction; zero fields take artifact's defaults. Caps can be
	// lowered or raised, never switched off.
	Extract artifact.Limits
	// Lists caps the tag and referrer listings the registry pages through; zero
	// fields take remote.DefaultListLimits.
	Lists remote.ListLimits
	// AllowLinkLocalRegistries lets registry hosts resolve to link-local and cloud
	// metadata addresses, which are refused by default (SSRF).
	AllowLinkLocalRegistries bool
	// Tenancy is the multi-tenancy lockdown: a default service account for every
	// source, and whether pull secrets may be read from another namespace.
	Tenancy Tenancy
	// Transport is the base HTTP transport to registries; nil means Go's default with
	// the address check above and Proxy. Retries (5xx) are layered on top; a 429 or 503
	// ends the sync with remote.ErrRateLimited, and Run waits as the registry asks.
	Transport http.RoundTripper
	// Proxy chooses the HTTP proxy of registry requests (for example
	// httpproxy.FromEnvironment().ProxyFunc(), HTTPS_PROXY and NO_PROXY); nil means
	// none. It is not used for the apiserver.
	Proxy func(*url.URL) (*url.URL, error)
	// NewVerifier makes the verifier of a sync; nil means verify.New.
	NewVerifier func(VerifierOptions) Verifier
	// Builder builds the extracted artifact; nil means KustomizeBuilder.
	Builder Builder
	// TempDir is where artifacts are extracted; "" means os.TempDir().
	TempDir string
	// Logger receives the puller's logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Puller syncs sources into one cluster. It is safe for concurrent use, with one Sync
// per source at a time.
type Puller struct {
	opts      Options
	cfg       *rest.Config
	kube      kubernetes.Interface
	transport http.RoundTripper
	log       *slog.Logger
	// process identifies this process on the parents it marks (AnnotationSyncing).
	process string

	secrets *secretValues // scrubbed from every error and log record

	mu       sync.Mutex
	appliers map[string]*apply.Applier       // by service account ("" for the puller's own)
	tenants  map[string]kubernetes.Interface // clients impersonating a service account
	sources  map[string]*sourceState
	health   *Health
	// tlsTransports are the registry transports of sources with their own CA or
	// client certificate, by tlsMaterial.id.
	tlsTransports map[string]http.RoundTripper
}

// sourceState is what the puller remembers of a source between syncs.
type sourceState struct {
	// digest and objects are what was applied last, for drift checks without
	// fetching again and for telling the fields the puller owns; built is objects
	// before substitution (substituted again at each drift check), nil when the source
	// substitutes nothing. Both are kept packed (packed.go): a thousand objects take
	// about 8 MB as maps and 0.2 MB packed.
	digest  digest.Digest
	spec    string // appliedSpec of the source when digest was applied
	objects packedObjects
	built   packedObjects
	checked time.Time // last successful sync of digest
	// rejected remembers a digest refused for good (verification failed, rollback,
	// an archive unsafe or over the caps, content that does not build), so that it
	// is not fetched, verified and extracted again at every poll.
	rejected digest.Digest
	// unsigned is the last digest found without any signature (counted once as a
	// verification failure, looked at again at each poll).
	unsigned    digest.Digest
	rejectedErr error
	rejectedFor string // the source's spec: changing it (a new key, allowRollback) looks again
	// lastEvent avoids repeating the same Warning at every poll.
	lastEvent string
	// failed is the digest whose last sync failed in a way worth retrying, when, with
	// what error and under which spec (rejectKey): with a retryInterval longer than the
	// interval, the polls in between only resolve the ref, and sync that digest again
	// once retryInterval has passed (a new digest at once), as Flux retries.
	failed    digest.Digest
	failedAt  time.Time
	failedErr error
	failedFor string
}

// retryLaterError is the failure of the digest a poll found again before its source's
// retryInterval passed: nothing was fetched or applied, nothing is recorded again.
type retryLaterError struct {
	err error
	at  time.Time
}

func (e *retryLaterError) Error() string {
	return fmt.Sprintf("%v (the same digest; tried again after retryInterval, at %s)", e.err, e.at.UTC().Format(time.RFC3339))
}
func (e *retryLaterError) Unwrap() error { return e.err }

// New returns a Puller for the cluster cfg points at. cfg's rate limits apply to every
// request: set QPS and Burst for large sets (or QPS < 0 for none).
func New(cfg *rest.Config, opts Options) (*Puller, error) {
	if opts.Namespace == "" {
		return nil, errors.New("puller: Options.Namespace is required")
	}
	if opts.Version == "" {
		opts.Version = "v0"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	secrets := &secretValues{}
	log = slog.New(redact.Handler(log.Handler(), secrets.scrub))
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return apiCounting{base: rt} })
	// The apiserver's and admission's warnings (a policy in Warn mode may quote what it
	// checks: a Secret's value) go to the puller's log, which redacts, not to client-go's
	// default, which writes them to stderr as they are.
	cfg.WarningHandlerWithContext = newWarningLog(log)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	tr := opts.Transport
	if tr == nil {
		tr = newTransport(opts.AllowLinkLocalRegistries, opts.Proxy)
	}
	return &Puller{
		opts: opts, cfg: cfg, kube: kube, transport: tr, log: log, secrets: secrets, process: newProcessID(opts.Instance),
		appliers: map[string]*apply.Applier{}, sources: map[string]*sourceState{},
	}, nil
}

func (p *Puller) now() time.Time { return p.opts.Now() }

// Parent returns the ApplySet parent of a source.
func (p *Puller) Parent(name string) apply.Parent {
	return apply.Parent{Kind: apply.ParentConfigMap, Namespace: p.opts.Namespace, Name: "gitless-" + name}
}

func (p *Puller) state(name string) *sourceState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.sources[name]
	if st == nil {
		st = &sourceState{}
		p.sources[name] = st
	}
	return st
}

// sourceApplier is src's identity under the tenancy lockdown, and its applier.
func (p *Puller) sourceApplier(src Source) (Identity, *apply.Applier, error) {
	id, err := p.opts.Tenancy.Identity(src, p.opts.Namespace)
	if err != nil {
		return Identity{}, nil, fmt.Errorf("source %s: %w", src.Name, err)
	}
	a, err := p.applier(id.ServiceAccount)
	return id, a, err
}

func (p *Puller) applier(sa string) (*apply.Applier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a := p.appliers[sa]; a != nil {
		return a, nil
	}
	opts := apply.Options{
		Tooling:        apply.ToolName + "/" + p.opts.Version,
		Concurrency:    p.opts.Concurrency,
		ServiceAccount: sa,
		Logger:         p.log,
	}
	a, err := apply.New(p.cfg, opts)
	if err != nil {
		return nil, err
	}
	p.appliers[sa] = a
	return a, nil
}

// Sync runs one reconcile of src:
//
//  1. resolve the ref to a digest: one HEAD request for a tag (a GET only where the
//     registry refuses HEAD), the tag list and a HEAD for a semver range, nothing for a
//     digest;
//  2. if that digest is the one applied last, with the same configuration
//     (appliedSpec: a changed path, policy, target namespace, ... is verified and
//     applied again), and no drift check is due: done, with no apiserver write
//     (Outcome UpToDate);
//  3. verify the signature of that digest against src.Verify; fetch the manifest and
//     the layer by that digest (media types, sizes against caps before download,
//     digests while streaming); refuse an artifact older than the last (rollback);
//  4. extract into a fresh temporary directory (artifact.Extract: no absolute or ..
//     paths, no links, devices or FIFOs, capped);
//  5. build src.Path with kustomize, or read its YAML when it has no kustomization,
//     and validate every object;
//  6. apply: Namespaces and CRDs first, a server-side dry-run of the whole set, then
//     server-side apply (see puller/apply);
//  7. prune what left the set, through the source's ApplySet;
//  8. record the result on the ApplySet parent and as Events.
//
// Nothing is applied unless every step before succeeded, and nothing is pruned unless
// the apply did. The Result says what was done, also on error.
func (p *Puller) Sync(ctx context.Context, src Source) (*Result, error) {
	return p.sync(ctx, src, stamp{}, false)
}

// Plan says what a Sync of src would do now, and writes nothing, to the cluster or to
// what the Puller remembers: the ref is resolved, the digest verified, fetched,
// extracted and built as Sync does (even when it is the digest applied last), and the
// objects given to [apply.Applier.Plan], which dry-runs them and sorts the members
// that left the set. The Result's Outcome is Planned, its Changes what the apply and
// prune would do (a Configured object with the diff of its YAML, Secret values
// masked); a refusal (signature, rollback, an invalid object) is the error Sync would
// return. A suspended source is reported Suspended, as Sync reports it.
func (p *Puller) Plan(ctx context.Context, src Source) (*Result, error) {
	return p.sync(ctx, src, stamp{}, true)
}

// sync is Sync recording st on the parent (AnnotationRemoval), or with plan, Plan.
func (p *Puller) sync(ctx context.Context, src Source, st stamp, plan bool) (*Result, error) {
	start := p.now()
	src = src.WithDefaults()
	res := &Result{Source: src.Name, Outcome: Failed}
	counter := &requestCounter{}
	finish := func(err error) (*Result, error) {
		res.Requests = Requests{Registry: counter.registry.Load(), APIReads: counter.apiReads.Load(), APIWrites: counter.apiWrite.Load()}
		res.Duration = p.now().Sub(start)
		if err != nil {
			res.Outcome = Failed
			res.Error = err.Error()
		}
		return res, err
	}
	if err := src.Validate(); err != nil {
		return finish(fmt.Errorf("source %s: %w", src.Name, err))
	}
	ctx, cancel := context.WithTimeout(ctx, src.Timeout.Duration)
	defer cancel()
	ctx = withCounter(ctx, counter)
	log := p.log.With("source", src.Name)

	id, err := p.opts.Tenancy.Identity(src, p.opts.Namespace)
	if err != nil {
		return finish(fmt.Errorf("source %s: %w", src.Name, err))
	}
	a, err := p.applier(id.ServiceAccount)
	if err != nil {
		return finish(err)
	}
	parent := p.Parent(src.Name)
	ps, err := a.ReadParent(ctx, parent)
	if err != nil {
		return finish(err)
	}
	if src.Suspend || isSuspended(ps.Annotations) {
		res.Outcome = Suspended
		res.URL, res.Digest = ps.Status[AnnotationURL], digest.Digest(ps.Status[AnnotationDigest])
		return finish(nil)
	}
	s := &syncRun{p: p, src: src, id: id, st: p.state(src.Name), ps: ps, a: a, parent: parent, res: res, log: log, request: reconcileRequest(ps),
		removal: st.record(src, id), plan: plan}
	if plan {
		// Its own state, which nothing keeps: what it learns or refuses is not
		// remembered for the syncs.
		s.st = &sourceState{}
	}
	if !st.rewrite(ps.Status[AnnotationRemoval], s.removal, parent.Name) {
		// The time recorded first stays: that of a file that had the source, which a
		// newer file still is; a sync that finds nothing new writes nothing.
		s.removal = ps.Status[AnnotationRemoval]
	}
	// Whatever the error quotes of a Secret of the artifact (or of a variable read
	// from a Secret) is masked before it is recorded, logged or returned.
	err = p.secrets.error(s.run(ctx))
	var later *retryLaterError
	switch {
	case plan:
		// Nothing recorded.
	case errors.As(err, &later):
		// Recorded when it happened.
	case err != nil:
		if Retry(err) && res.Digest != "" && s.rejectFor != "" {
			s.st.failed, s.st.failedAt, s.st.failedErr, s.st.failedFor = res.Digest, p.now(), err, s.rejectFor
		}
		s.recordFailure(ctx, err)
	default:
		s.st.failed, s.st.failedErr = "", nil
	}
	return finish(err)
}

// syncRun is one Sync in progress.
type syncRun struct {
	p      *Puller
	src    Source
	id     Identity
	st     *sourceState
	ps     *apply.ParentState
	a      *apply.Applier
	parent apply.Parent
	res    *Result
	log    *slog.Logger
	client *remote.Client
	creds  remote.CredentialResolver
	ref    artifact.Reference
	// request is an operator's reconcile request this sync handles ("" for none): the
	// objects are checked even if the digest has not changed.
	request string
	// removal is the AnnotationRemoval value the parent is to hold ("": none).
	removal string
	// refused is the AnnotationRefused value of a refusal of this sync (reject).
	refused string
	// mark is this process's mark on the parent (AnnotationSyncing) once the sync
	// marked it: a success clears it, a failure records it Ended, a process that
	// stops in the middle leaves it.
	mark *syncingMark
	// httpClient is the registry client of the source (its CA, its proxy); https
	// says the source has its own TLS configuration.
	httpClient *http.Client
	https      bool
	// secrets learns the Secret values of what this sync builds and substitutes, so
	// that errors and logs never quote them.
	secrets *redact.Set
	// rejectFor is rejectKey of the source, taken before anything is verified: a key
	// file replaced during the sync makes the next poll verify again, never the reverse.
	rejectFor string
	// plan: a Plan, which writes nothing.
	plan bool
	// sensitive, in a plan, says which objects took values from a Secret's variables.
	sensitive func(apply.ObjectRef) bool
}

func (s *syncRun) run(ctx context.Context) error {
	p, src, res := s.p, s.src, s.res
	chain, err := p.credentials(ctx, src, s.id)
	if err != nil {
		return err
	}
	if chain != nil {
		s.creds = chain
	}
	tm, err := p.tlsOf(ctx, src)
	if err != nil {
		return err
	}
	tr, err := p.tlsTransport(tm)
	if err != nil {
		return err
	}
	s.httpClient = registryHTTPClient(tr)
	s.https = !tm.empty()
	s.client = remote.New(remote.Options{
		Credentials: s.creds,
		Insecure:    src.Insecure,
		HTTPS:       s.https,
		HTTPClient:  s.httpClient,
		UserAgent:   "gitless-puller/" + p.opts.Version,
		Logger:      s.log,
		Lists:       p.opts.Lists,
	})
	s.ref, _ = artifact.ParseReference(src.URL) // validated
	s.ref.Tag, s.ref.Digest = "", ""

	// 1. resolve
	t := time.Now()
	tag, d, err := s.resolve(ctx)
	res.phase("resolve", time.Since(t))
	if err != nil {
		return err
	}
	pinned := s.ref.WithTag(tag).WithDigest(d)
	res.URL, res.Tag, res.Digest = pinned.String(), tag, d

	// 2. nothing new? The same digest under another configuration is new: it is
	// verified against the policy it now has and built and applied as it now says.
	spec := appliedSpec(src, s.id)
	last := digest.Digest(s.ps.Status[AnnotationDigest])
	specChanged := s.ps.Status[AnnotationSpec] != spec
	if d == last && specChanged {
		s.log.InfoContext(ctx, "the source's configuration or its key files changed: verifying and applying its artifact again", "digest", d)
	}
	if d == last && !specChanged {
		checked := s.st.checked
		if s.st.digest != d || checked.IsZero() {
			checked = parseTime(s.ps.Status[AnnotationAppliedAt])
		}
		// After a failed sync, or one cut short once it had begun writing objects (the
		// attempted digest on the parent), the cluster may hold part of another
		// artifact: the digest recorded is applied again rather than taken for up to
		// date.
		lastOK := s.ps.Status[AnnotationResult] == string(Applied) && s.ps.Status[AnnotationAttempted] == ""
		if lastOK && p.now().Sub(checked) < src.DriftInterval.Duration && s.request == "" && !s.plan {
			// A parent applied before its removal was recorded (an older puller, the
			// one-shot sync), or recorded otherwise, is written the record it now has.
			if s.ps.Status[AnnotationRemoval] != s.removal {
				if err := s.a.WriteStatus(ctx, s.ps, map[string]string{AnnotationRemoval: s.removal}); err != nil {
					return fmt.Errorf("recording how source %s is removed: %w", src.Name, err)
				}
			}
			res.Outcome = UpToDate
			res.Revision = s.ps.Status[AnnotationRevision]
			res.ArtifactCreated = parseTime(s.ps.Status[AnnotationCreated])
			res.Signer = s.ps.Status[AnnotationSigner]
			return nil
		}
		res.DriftCheck = true
	}
	s.rejectFor = rejectKey(src)
	if s.st.rejected == d && s.st.rejectedErr != nil && s.st.rejectedFor == s.rejectFor && s.request == "" {
		return s.st.rejectedErr
	}
	if retry := src.RetryInterval.Duration; retry > src.Interval.Duration && s.st.failed == d && s.st.failedErr != nil &&
		s.st.failedFor == s.rejectFor && s.request == "" {
		if at := s.st.failedAt.Add(retry); p.now().Before(at) {
			return &retryLaterError{err: s.st.failedErr, at: at}
		}
	}
	if s.request == "" && !s.plan {
		// Refused by a puller process before this one: not downloaded again (a plan
		// looks again, to say why).
		if err := refusedBefore(s.ps.Status, d, s.refusalKey()); err != nil {
			s.reject(d, err)
			return err
		}
	}

	var built []*unstructured.Unstructured
	var meta artifact.Metadata
	fresh := false // built from a newly fetched artifact: its Secret values replace the last ones
	if packed := s.st.builtOrApplied(); res.DriftCheck && s.st.digest == d && s.st.spec == spec && packed != nil {
		// The objects of this very digest were verified and built before.
		s.secrets = p.secrets.lastApplied(src.Name)
		if built, err = packed.unpack(); err != nil {
			return err
		}
		res.Revision = s.ps.Status[AnnotationRevision]
		res.ArtifactCreated = parseTime(s.ps.Status[AnnotationCreated])
		res.Signer = s.ps.Status[AnnotationSigner]
	} else {
		// 3. verify that digest, then fetch exactly it
		if !src.InsecureSkipVerify {
			t = time.Now()
			signer, err := s.verify(ctx, pinned)
			res.phase("verify", time.Since(t))
			if err != nil {
				return err
			}
			res.Signer = signer
		}
		// A new artifact or configuration: marked until the sync ends, so that one
		// that kills the puller is refused after a few tries.
		if (d != last || specChanged) && !s.plan {
			if err := s.markSyncing(ctx, d, spec); err != nil {
				return err
			}
		}
		t = time.Now()
		art, err := s.client.Fetch(ctx, pinned)
		res.phase("fetch", time.Since(t))
		if err != nil {
			if ctx.Err() == nil && errors.Is(err, artifact.ErrInvalidManifest) && !errors.Is(err, artifact.ErrDeclaredMediaType) {
				// Not an artifact (another tool's image, an index), whatever the
				// registry says next time: not verified and fetched again until the
				// ref moves.
				s.reject(d, err)
			}
			return err
		}
		meta = art.Metadata
		res.Revision, res.ArtifactCreated = meta.Revision, meta.Created
		if !src.AllowRollback && d != last {
			if err := checkRollback(s.ps.Status, tag, meta.Created); err != nil {
				s.reject(d, err)
				return err
			}
		}
		// 4, 5. extract and build
		fresh = true
		if s.plan {
			s.secrets = p.secrets.attempt(src.Name + " (plan)")
		} else {
			s.secrets = p.secrets.attempt(src.Name)
		}
		if built, err = s.build(ctx, art, s.secrets); err != nil {
			if ctx.Err() == nil && refusedContent(err) {
				// The same digest is refused the same way at every try: not
				// downloaded again until the ref moves.
				s.reject(d, err)
			}
			return err
		}
	}
	t = time.Now()
	objs, err := s.substitute(ctx, built)
	res.phase("build", time.Since(t))
	if err != nil {
		return err
	}
	setCommonMetadata(objs, src.CommonMetadata)

	// 6, 7, 8. apply, prune, record
	status := map[string]string{
		AnnotationURL:       src.URL,
		AnnotationDigest:    d.String(),
		AnnotationTag:       tag,
		AnnotationRevision:  res.Revision,
		AnnotationCreated:   formatTime(res.ArtifactCreated),
		AnnotationSigner:    res.Signer,
		AnnotationResult:    string(Applied),
		AnnotationAttempted: "",
		AnnotationRef:       src.Ref.String(),
		AnnotationSpec:      spec,
		AnnotationRemoval:   s.removal,
		AnnotationSyncing:   "",
		AnnotationRefused:   "",
	}
	if s.request != "" {
		status[AnnotationReconcileHandled] = s.request
	}
	if src.InsecureSkipVerify {
		status[AnnotationSigner] = "none (insecureSkipVerify)"
	}
	// Packed before the apply, so that nothing after it uses the objects as maps and the
	// apply can let them go once it has their JSON; recorded together after it, so that
	// a digest is never paired with the objects of another.
	packedObjs, err := pack(objs)
	if err != nil {
		return err
	}
	var packedBuilt packedObjects
	if src.PostBuild != nil {
		if packedBuilt, err = pack(built); err != nil {
			return err
		}
	}
	opts := apply.SyncOptions{
		TargetNamespace:        src.TargetNamespace,
		Prune:                  src.Prune,
		PruneNamespacesAndCRDs: src.PruneNamespacesAndCRDs,
		AllowEmpty:             src.AllowEmpty,
		Force:                  src.Force,
		Wait:                   src.Wait,
		HealthChecks:           src.healthRefs(),
		WaitTimeout:            src.Timeout.Duration, // what is left of it: WaitReady keeps some for the prune
		Previous:               s.previous(last),
		Status:                 s.successStatus(status, d, last, specChanged),
		// Marks the sync on the parent before its first write; the success status
		// clears it.
		Writing: s.writing(d),
		// Secrets of the set that this artifact no longer has (pruned) are learned too.
		MemberListed: s.secrets.AddObject,
	}
	if s.plan {
		// Values known to be secret are masked before the diff is written (YAML may
		// quote or fold them); the changed values of objects given variables from a
		// Secret are masked whatever they are.
		opts.Scrub, opts.Sensitive = p.secrets.scrub, s.sensitive
		cs, err := s.a.Plan(ctx, s.ps, objs, opts)
		if cs != nil {
			for i := range cs.Changes {
				cs.Changes[i].Diff = p.secrets.scrub(cs.Changes[i].Diff)
			}
		}
		res.setChanges(cs)
		if err != nil {
			return err
		}
		res.Outcome = Planned
		return nil
	}
	cs, err := s.a.Apply(ctx, s.ps, objs, opts)
	res.setChanges(cs)
	if err != nil {
		return err
	}
	res.Outcome = Applied
	if fresh {
		p.secrets.applied(src.Name)
	}
	s.st.digest, s.st.spec, s.st.checked = d, spec, p.now()
	s.st.objects, s.st.built = packedObjs, packedBuilt
	s.st.rejected, s.st.rejectedErr = "", nil
	if d != last || specChanged || cs.Writes() > 0 {
		s.st.lastEvent = ""
		p.event(ctx, s.parent, src.Name, "Normal", ReasonApplied, fmt.Sprintf("%s: %s", pinned, cs.Summary()))
	}
	s.log.InfoContext(ctx, "synced", "digest", d, "changes", cs.Summary(), "driftCheck", res.DriftCheck)
	return nil
}

// writing returns the annotations that mark a sync of d on the parent before its first
// object write: the attempt, and how to remove what it writes.
func (s *syncRun) writing(d digest.Digest) map[string]string {
	w := map[string]string{AnnotationAttempted: d.String()}
	if s.removal != "" {
		w[AnnotationRemoval] = s.removal
	}
	return w
}

// successStatus completes the status annotations of a successful sync. The time and
// message change only when something was written, so that a drift check that finds
// nothing writes nothing.
func (s *syncRun) successStatus(status map[string]string, d, last digest.Digest, specChanged bool) map[string]string {
	// The message and time are set by Apply's caller only when the set changed; Apply
	// skips the parent write when the annotations are the same as before.
	if d == last && !specChanged && s.ps.Status[AnnotationResult] == string(Applied) {
		status[AnnotationAppliedAt] = s.ps.Status[AnnotationAppliedAt]
		status[AnnotationMessage] = s.ps.Status[AnnotationMessage]
		return status
	}
	status[AnnotationAppliedAt] = formatTime(s.p.now())
	status[AnnotationMessage] = "applied " + d.String()
	if d == last && specChanged {
		status[AnnotationMessage] += " (the source's configuration changed)"
	}
	return status
}

// recordFailure writes the failure on the parent and as a Warning Event (once per
// distinct failure).
func (s *syncRun) recordFailure(ctx context.Context, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	reason := ReasonSyncFailed
	switch {
	case errors.Is(err, verify.ErrVerificationFailed):
		reason = ReasonVerificationFailed
	case errors.Is(err, ErrRollback):
		reason = ReasonRollbackRefused
	}
	failed := map[string]string{
		AnnotationAttempted: s.res.Digest.String(),
		AnnotationRef:       s.src.Ref.String(),
	}
	if s.request != "" {
		failed[AnnotationReconcileHandled] = s.request
	}
	if s.mark != nil {
		failed[AnnotationSyncing] = s.ended() // this process saw the sync end
	}
	if s.refused != "" {
		failed[AnnotationRefused] = s.refused
	}
	if s.p.recordFailure(ctx, s.a, s.ps, s.src.Name, s.st, reason, s.res.Digest.String(), err, failed) {
		s.log.WarnContext(ctx, "sync failed", "digest", s.res.Digest, "reason", reason, "error", err)
	}
}

// recordFailure records a failed sync or removal where status and alerts look: the
// result, the message and the extra annotations on the parent (ps; nil when it could
// not be read), and a Warning Event once per distinct failure (reason, what and
// message), however often it is tried. A context that ended still gets them written.
// It reports whether the Event was new.
func (p *Puller) recordFailure(ctx context.Context, a *apply.Applier, ps *apply.ParentState, source string, st *sourceState,
	reason, what string, err error, extra map[string]string) bool {
	msg := truncate(err.Error())
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if ps != nil {
		status := map[string]string{AnnotationResult: string(Failed), AnnotationMessage: msg}
		maps.Copy(status, extra)
		if werr := a.WriteStatus(wctx, ps, status); werr != nil {
			p.log.WarnContext(ctx, "recording status", "source", source, "error", werr)
		}
	}
	key := reason + " " + what + " " + msg
	if st.lastEvent == key {
		return false
	}
	st.lastEvent = key
	p.event(wctx, p.Parent(source), source, "Warning", reason, msg)
	return true
}

func (s *syncRun) reject(d digest.Digest, err error) {
	if s.plan {
		return
	}
	// Scrubbed now, while the values of the artifact refused are known: the error is
	// returned again at later polls, when another artifact's values may have replaced
	// them.
	s.st.rejected, s.st.rejectedErr, s.st.rejectedFor = d, s.p.secrets.error(err), s.rejectFor
	s.refused = persistRefusal(d, s.refusalKey(), s.st.rejectedErr)
}

// specKey identifies a source's configuration.
func specKey(src Source) string {
	b, _ := json.Marshal(src)
	return string(b)
}

// rejectKey identifies what refused a digest: the source's configuration and the
// policy's key and root files as they are now (a key file replaced at its path, as a
// rotated Secret is, verifies the refused digest again).
func rejectKey(src Source) string {
	return specKey(src) + src.Verify.FilesDigest()
}

// appliedSpec identifies what of a source's configuration decides what is verified and
// applied: all of it but when and how often it syncs (interval, driftInterval,
// timeout, dependsOn) and its webhook token, and the identity it acts as (id,
// resolved: a lockdown set or lifted at a restart applies the source again as its new
// identity, so that the identity recorded for its removal is the one its objects were
// applied as). It is recorded on the parent (AnnotationSpec) as a digest, never as the
// configuration itself. src has its defaults.
func appliedSpec(src Source, id Identity) string {
	src.Interval.Duration, src.DriftInterval.Duration, src.Timeout.Duration, src.RetryInterval.Duration = 0, 0, 0, 0
	src.DependsOn, src.Webhook, src.Suspend = nil, nil, false
	b, _ := json.Marshal(src)
	// The key and root files the policy names, as they are now: a key replaced at its
	// path (rotated, or revoked after a compromise) verifies the applied digest again.
	b = append(b, src.Verify.FilesDigest()...)
	if id.ServiceAccount != "" {
		// Only then: the puller's own identity gives the digest recorded before the
		// identity was part of it, so an upgrade applies nothing again for it.
		b = append(b, "\x00as "+id.ServiceAccount...)
	}
	return digest.FromBytes(b).String()
}

// resolve turns the source's ref into a tag (when there is one) and a digest.
func (s *syncRun) resolve(ctx context.Context) (string, digest.Digest, error) {
	r := s.src.Ref
	switch {
	case r.Digest != "":
		return "", digest.Digest(r.Digest), nil
	case r.SemVer != "":
		m, err := newMatcher(r.SemVer)
		if err != nil {
			return "", "", err
		}
		// Page by page, keeping only the highest match: memory stays that of one page
		// however many tags the registry lists (and the list limits stop one that
		// never ends).
		if err := s.client.TagPages(ctx, s.ref, m.add); err != nil {
			return "", "", err
		}
		if m.tag == "" {
			return "", "", fmt.Errorf("%s: %w %q", s.ref, ErrNoMatchingTag, r.SemVer)
		}
		r.Tag = m.tag
	}
	desc, err := s.client.Resolve(ctx, s.ref.WithTag(r.Tag))
	if err != nil {
		return "", "", err
	}
	return r.Tag, desc.Digest, nil
}

// matcher keeps the highest tag that is a semantic version in a range.
type matcher struct {
	c   *semver.Constraints
	tag string
	v   *semver.Version
}

func newMatcher(rng string) (*matcher, error) {
	c, err := semver.NewConstraint(rng)
	if err != nil {
		return nil, err
	}
	return &matcher{c: c}, nil
}

// add looks at one page of tags. Of equal versions ("1.0.0" and "v1.0.0") the first
// listed wins.
func (m *matcher) add(tags []string) error {
	for _, t := range tags {
		v, err := semver.NewVersion(t)
		if err == nil && m.c.Check(v) && (m.v == nil || v.GreaterThan(m.v)) {
			m.tag, m.v = t, v
		}
	}
	return nil
}

// verify checks the signature of the pinned digest.
func (s *syncRun) verify(ctx context.Context, pinned artifact.Reference) (string, error) {
	vo := VerifierOptions{Credentials: s.creds, Insecure: s.src.Insecure, HTTPS: s.https, HTTPClient: s.httpClient, UserAgent: "gitless-puller/" + s.p.opts.Version, Lists: s.p.opts.Lists}
	var v Verifier
	if s.p.opts.NewVerifier != nil {
		v = s.p.opts.NewVerifier(vo)
	} else {
		v = verify.New(verify.Options{Credentials: vo.Credentials, Insecure: vo.Insecure, HTTPS: vo.HTTPS, HTTPClient: vo.HTTPClient, UserAgent: vo.UserAgent, Logger: s.log, Lists: vo.Lists})
	}
	vr, err := v.Verify(ctx, pinned, s.src.Verify)
	if err != nil {
		// A digest with signatures that do not satisfy the policy is refused for good;
		// one with no signature at all is looked at again at the next poll (an interval
		// later, never sooner): CI tags an artifact before it signs it, and a puller
		// polling in between must not be stuck on it until the next push. Either is one
		// verdict for the metric, however many polls look at it.
		switch {
		case errors.Is(err, verify.ErrNoSignatures):
			if s.st.unsigned != pinned.Digest {
				s.st.unsigned = pinned.Digest
				s.res.VerificationFailed = true
			}
		case errors.Is(err, verify.ErrVerificationFailed):
			s.res.VerificationFailed = true
			s.reject(pinned.Digest, err)
		}
		return "", err
	}
	if vr.Digest != pinned.Digest {
		err := fmt.Errorf("%w: the verifier checked %s, not %s", verify.ErrVerificationFailed, vr.Digest, pinned.Digest)
		s.res.VerificationFailed = true
		s.reject(pinned.Digest, err)
		return "", err
	}
	return vr.Signer.String(), nil
}

// build extracts the fetched artifact into a fresh temporary directory and builds
// the source's path in it. The values of its Secrets go into secrets, before the
// build (from the files) and after it (from the objects).
func (s *syncRun) build(ctx context.Context, art *remote.Artifact, secrets *redact.Set) ([]*unstructured.Unstructured, error) {
	tmp, err := os.MkdirTemp(s.p.opts.TempDir, tempPrefix+"*")
	if err != nil {
		return nil, err
	}
	// Locked while in use, so that RemoveStaleTemp of a puller started beside this one
	// leaves it alone; removed before the lock is let go.
	unlock, err := tryLockDir(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("locking the extraction directory %s: %w", tmp, err)
	}
	defer unlock()
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "artifact")
	t := time.Now()
	_, err = s.client.ExtractTo(ctx, art, root, s.p.opts.Extract)
	s.res.phase("fetch", time.Since(t))
	if err != nil {
		return nil, err
	}
	if err := secrets.AddTree(ctx, root); err != nil {
		return nil, fmt.Errorf("reading %s for its secrets: %w", art.Reference, err)
	}
	dir := root
	if s.src.Path != "" {
		dir = filepath.Join(root, filepath.FromSlash(s.src.Path)) // validated: no .., not absolute
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, &buildError{fmt.Errorf("%s: path %q is not a directory of the artifact", art.Reference, s.src.Path)}
	}
	b := s.p.opts.Builder
	if b == nil {
		limits, err := s.p.opts.Extract.WithDefaults()
		if err != nil {
			return nil, err
		}
		b = KustomizeBuilder{AllowEmpty: s.src.AllowEmpty, MaxBuildBytes: limits.MaxTotalSize, Root: root, TargetNamespace: s.src.TargetNamespace,
			NamePrefix: s.src.NamePrefix, NameSuffix: s.src.NameSuffix, Patches: s.src.Patches, Images: s.src.Images}
	}
	addPatchSecrets(secrets, s.src.Patches)
	t = time.Now()
	objs, err := b.Build(ctx, dir)
	s.res.phase("build", time.Since(t))
	if err != nil {
		// Paths in the artifact, not in this process's temporary directory.
		err = redact.ErrorWith(err, func(text string) string {
			return strings.ReplaceAll(strings.ReplaceAll(text, root+string(filepath.Separator), ""), root, ".")
		})
		return nil, &buildError{fmt.Errorf("building %s: %w", art.Reference, err)}
	}
	for _, o := range objs {
		secrets.AddObject(o.Object)
	}
	return objs, nil
}

// buildError is a failure to build an artifact's content into objects.
type buildError struct{ error }

func (e *buildError) Unwrap() error { return e.error }

// refusedContent reports whether err refuses an artifact for what it holds (an
// archive unsafe to extract or over the caps, content that does not build), which
// is the same for the same digest at every try.
func refusedContent(err error) bool {
	var be *buildError
	return errors.Is(err, artifact.ErrUnsafeArchive) || errors.Is(err, artifact.ErrTooLarge) || errors.As(err, &be)
}

// previous returns the objects applied last, for apply to tell the fields the puller
// owns: from memory, or fetched again by the recorded digest (which was verified when
// it was applied; content is addressed by its digest, so it is the same).
func (s *syncRun) previous(last digest.Digest) func(context.Context) ([]*unstructured.Unstructured, error) {
	return func(ctx context.Context) ([]*unstructured.Unstructured, error) {
		if last == "" {
			return nil, nil
		}
		if s.st.digest == last && s.st.objects != nil {
			return s.st.objects.unpack()
		}
		art, err := s.client.Fetch(ctx, s.ref.WithDigest(last))
		if err != nil {
			return nil, err
		}
		objs, err := s.build(ctx, art, s.p.secrets.lastApplied(s.src.Name))
		if err != nil {
			return nil, err
		}
		if sub, err := s.substitute(ctx, objs); err == nil {
			objs = sub
		} // else the fields set are what counts; values may differ
		// As the sync sets them, so that a common label another manager took is taken
		// back after a restart too.
		setCommonMetadata(objs, s.src.CommonMetadata)
		return objs, nil
	}
}
