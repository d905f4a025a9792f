package puller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitless-dev/gitless/puller/apply"
)

// Annotations an operator sets on a source's ApplySet parent to steer the running
// puller (gitless-puller reconcile, suspend, resume), and the one the puller answers
// with. The control.gitless.dev/ keys are never written by the puller itself, so an
// operator's change is never overwritten by a sync in flight.
const (
	// AnnotationReconcileRequested asks for a sync now (any new value; the CLI writes
	// the time), like Flux's reconcile.fluxcd.io/requestedAt. The sync that handles it
	// checks the objects even when the digest has not changed.
	AnnotationReconcileRequested = "control.gitless.dev/reconcile-requested-at"
	// AnnotationSuspended "true" stops the source's syncs until it is removed.
	AnnotationSuspended = "control.gitless.dev/suspended"
	// AnnotationReconcileHandled is the AnnotationReconcileRequested value of the last
	// sync that handled a request (written with its result).
	AnnotationReconcileHandled = "gitless.dev/reconcile-handled-at"
	// AnnotationRef is the source's ref ("tag production", "semver >=1.0.0").
	AnnotationRef = "gitless.dev/ref"
)

// Suspended: the source is suspended (AnnotationSuspended); nothing was done.
const Suspended Outcome = "Suspended"

// reconcileRequest returns a request not yet handled, or "".
func reconcileRequest(ps *apply.ParentState) string {
	r := ps.Annotations[AnnotationReconcileRequested]
	if r != "" && r != ps.Status[AnnotationReconcileHandled] {
		return r
	}
	return ""
}

func isSuspended(ann map[string]string) bool { return ann[AnnotationSuspended] == "true" }

// SourceStatus is what a source's ApplySet parent says about it: what `gitless-puller
// status` shows. The JSON field names are part of the CLI's interface.
type SourceStatus struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	Ref      string `json:"ref"`
	Digest   string `json:"digest"`
	Revision string `json:"revision"`
	Signer   string `json:"signer"`
	// AppliedAt is when the digest was applied (RFC 3339), "" if never.
	AppliedAt string `json:"appliedAt"`
	// Result is the last attempt's: Applied or Failed; Suspended while suspended.
	Result string `json:"result"`
	// Message is its summary or error.
	Message string `json:"message"`
	// Ready: the last attempt applied the artifact and the source is not suspended.
	Ready bool `json:"ready"`

	// Suspended, LastResult and Handled are for people and for WaitReconciled.
	Suspended  bool   `json:"-"`
	LastResult string `json:"-"`
	Handled    string `json:"-"`
}

// Control reads and steers the sources of a running puller through their ApplySet
// parents, from anywhere the apiserver can be reached: what `gitless-puller status`,
// `reconcile`, `suspend` and `resume` do. It needs get, list and patch on ConfigMaps in
// the puller's namespace.
type Control struct {
	kube      kubernetes.Interface
	namespace string
}

// NewControl returns a Control for the puller whose namespace is namespace.
func NewControl(cfg *rest.Config, namespace string) (*Control, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Control{kube: kube, namespace: namespace}, nil
}

// ErrUnknownSource: no ApplySet parent of that name (the source never synced, or the
// name or namespace is wrong).
var ErrUnknownSource = errors.New("no such source")

// ErrSuspended: the source is suspended.
var ErrSuspended = errors.New("source is suspended")

const parentPrefix = "gitless-"

func isPullerParent(cm *corev1.ConfigMap) bool {
	return strings.HasPrefix(cm.Name, parentPrefix) && cm.Labels[apply.LabelID] != "" &&
		strings.HasPrefix(cm.Annotations[apply.AnnotationTooling], apply.ToolName+"/")
}

func statusOf(cm *corev1.ConfigMap) SourceStatus {
	a := cm.Annotations
	s := SourceStatus{
		Name: strings.TrimPrefix(cm.Name, parentPrefix), URL: a[AnnotationURL], Ref: a[AnnotationRef],
		Digest: a[AnnotationDigest], Revision: a[AnnotationRevision], Signer: a[AnnotationSigner],
		AppliedAt: a[AnnotationAppliedAt], Result: a[AnnotationResult], Message: a[AnnotationMessage],
		Suspended: isSuspended(a), LastResult: a[AnnotationResult], Handled: a[AnnotationReconcileHandled],
	}
	s.Ready = s.Result == string(Applied) && !s.Suspended
	if s.Suspended {
		s.Result = string(Suspended)
	}
	return s
}

// List returns the status of every source that has an ApplySet parent, by name.
func (c *Control) List(ctx context.Context) ([]SourceStatus, error) {
	l, err := c.kube.CoreV1().ConfigMaps(c.namespace).List(ctx, metav1.ListOptions{LabelSelector: apply.LabelID})
	if err != nil {
		return nil, fmt.Errorf("listing the sources' ApplySet parents in %s: %w", c.namespace, err)
	}
	var out []SourceStatus
	for i := range l.Items {
		if isPullerParent(&l.Items[i]) {
			out = append(out, statusOf(&l.Items[i]))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (c *Control) parent(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	cm, err := c.kube.CoreV1().ConfigMaps(c.namespace).Get(ctx, parentPrefix+name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w %q in %s (its ApplySet parent ConfigMap %s is not there: has it ever synced?)", ErrUnknownSource, name, c.namespace, parentPrefix+name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading source %s: %w", name, err)
	}
	if !isPullerParent(cm) {
		return nil, fmt.Errorf("%w %q: ConfigMap %s/%s is not a gitless-puller ApplySet parent", ErrUnknownSource, name, c.namespace, cm.Name)
	}
	return cm, nil
}

// Get returns one source's status.
func (c *Control) Get(ctx context.Context, name string) (*SourceStatus, error) {
	cm, err := c.parent(ctx, name)
	if err != nil {
		return nil, err
	}
	s := statusOf(cm)
	return &s, nil
}

// controlManager is the field manager of the operator's annotations.
const controlManager = "gitless-puller-control"

func (c *Control) annotate(ctx context.Context, name string, ann map[string]*string) error {
	if _, err := c.parent(ctx, name); err != nil {
		return err
	}
	patch := map[string]any{"metadata": map[string]any{"annotations": ann}}
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = c.kube.CoreV1().ConfigMaps(c.namespace).Patch(ctx, parentPrefix+name, types.MergePatchType, data, metav1.PatchOptions{FieldManager: controlManager})
	if err != nil {
		return fmt.Errorf("annotating source %s: %w", name, err)
	}
	return nil
}

// RequestReconcile asks the running puller to sync the source now and returns the
// request's token for WaitReconciled. A suspended source gives ErrSuspended.
func (c *Control) RequestReconcile(ctx context.Context, name string) (string, error) {
	cm, err := c.parent(ctx, name)
	if err != nil {
		return "", err
	}
	if isSuspended(cm.Annotations) {
		return "", fmt.Errorf("%w: %s (gitless-puller resume %s)", ErrSuspended, name, name)
	}
	token := time.Now().UTC().Format(time.RFC3339Nano)
	return token, c.annotate(ctx, name, map[string]*string{AnnotationReconcileRequested: &token})
}

// WaitReconciled waits until the puller has handled the request token (its sync ended,
// successfully or not) and returns the source's status then. ctx bounds the wait.
func (c *Control) WaitReconciled(ctx context.Context, name, token string) (*SourceStatus, error) {
	var last *SourceStatus
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		s, err := c.Get(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				return false, nil
			}
			return false, err
		}
		last = s
		return s.Handled == token, nil
	})
	if err != nil {
		if last != nil && ctx.Err() != nil {
			return last, fmt.Errorf("waiting for the puller to sync %s: %w (is it running, and the leader?)", name, ctx.Err())
		}
		return last, err
	}
	return last, nil
}

// Suspend stops the source's syncs (the objects stay as they are) until Resume.
func (c *Control) Suspend(ctx context.Context, name string) error {
	v := "true"
	return c.annotate(ctx, name, map[string]*string{AnnotationSuspended: &v})
}

// Resume lets a suspended source sync again, and asks for a sync now; it returns the
// request's token.
func (c *Control) Resume(ctx context.Context, name string) (string, error) {
	token := time.Now().UTC().Format(time.RFC3339Nano)
	return token, c.annotate(ctx, name, map[string]*string{AnnotationSuspended: nil, AnnotationReconcileRequested: &token})
}

// Removed: the source was taken out of the configuration and its objects and ApplySet
// parent deleted (Puller.Remove).
const Removed Outcome = "Removed"

// Remove deletes every object of a source's ApplySet (as a prune of everything would:
// Namespaces and CRDs only with PruneNamespacesAndCRDs, never an object annotated
// gitless.dev/prune: disabled), then its parent. It is what a removed source gets when
// the configuration asks for it (pruneRemovedSources); a source that is still synced
// must not be removed.
func (p *Puller) Remove(ctx context.Context, src Source) (*Result, error) {
	src = src.WithDefaults()
	res := &Result{Source: src.Name, Outcome: Failed}
	start := p.now()
	parent := p.Parent(src.Name)
	var a *apply.Applier
	var ps *apply.ParentState
	fail := func(err error) (*Result, error) {
		// Scrubbed as a sync's errors are: an apiserver or admission webhook that
		// refuses a delete may quote the object.
		err = p.secrets.error(err)
		res.Error = err.Error()
		res.Duration = p.now().Sub(start)
		err = fmt.Errorf("removing source %s: %w", src.Name, err)
		// Recorded where status and alerts look, as a sync's failure is; not a removal
		// cancelled (a shutdown, a Lease lost: another replica may be writing).
		if ps != nil && ps.Exists && !errors.Is(err, context.Canceled) {
			p.recordFailure(ctx, a, ps, src.Name, p.state(src.Name), ReasonRemoveFailed, "", err, nil)
		}
		return res, err
	}
	ctx, cancel := context.WithTimeout(ctx, src.Timeout.Duration)
	defer cancel()
	_, a, err := p.sourceApplier(src)
	if err != nil {
		return fail(err)
	}
	ps, err = a.ReadParent(ctx, parent)
	if err != nil {
		return fail(err)
	}
	if !ps.Exists {
		res.Outcome = Removed
		return res, nil
	}
	if ps.Annotations[apply.AnnotationPrune] == "disabled" {
		// The install marks what the puller keeps for itself so (its configuration
		// ConfigMap): made to look like a parent, it is still not removed.
		return fail(fmt.Errorf("ApplySet parent %s has %s: disabled: not removed", parent, apply.AnnotationPrune))
	}
	// The values of the set's Secrets are learned from the cluster as they are listed:
	// after a restart the puller may not have built the source's artifact.
	cs, err := a.Apply(ctx, ps, nil, apply.SyncOptions{Prune: true, AllowEmpty: true, PruneNamespacesAndCRDs: src.PruneNamespacesAndCRDs,
		TargetNamespace: src.TargetNamespace, MemberListed: p.secrets.lastApplied(src.Name).AddObject,
		// A removal cut short leaves the parent marked, so that the source, added
		// again, is applied in full rather than taken for up to date.
		Writing: map[string]string{AnnotationAttempted: "removal"}})
	res.setChanges(cs)
	if err != nil {
		return fail(err)
	}
	if cs.Count(apply.Skipped) == 0 {
		err := p.kube.CoreV1().ConfigMaps(parent.Namespace).Delete(ctx, parent.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fail(fmt.Errorf("deleting ApplySet parent %s: %w", parent, err))
		}
	}
	res.Outcome = Removed
	res.Duration = p.now().Sub(start)
	p.log.InfoContext(ctx, "source removed", "source", src.Name, "changes", cs.Summary())
	return res, nil
}
