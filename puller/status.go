package puller

import (
	"context"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitless-dev/gitless/puller/apply"
)

// Status annotations on a source's ApplySet parent. `gitless status` and operators
// read them; docs/puller-config.md lists them.
const (
	AnnotationURL       = "gitless.dev/url"      // the repository
	AnnotationDigest    = "gitless.dev/digest"   // the digest applied last
	AnnotationTag       = "gitless.dev/tag"      // the tag it was resolved through
	AnnotationRevision  = "gitless.dev/revision" // its revision annotation
	AnnotationCreated   = "gitless.dev/created"  // its created annotation (RFC 3339)
	AnnotationSigner    = "gitless.dev/signer"   // who signed it, as verified
	AnnotationAppliedAt = "gitless.dev/applied-at"
	AnnotationResult    = "gitless.dev/result"  // Applied or Failed: the last attempt
	AnnotationMessage   = "gitless.dev/message" // its summary or error
	// AnnotationAttempted is the digest of the last failed attempt, or of the sync
	// writing objects now or cut short while it did ("" after success).
	AnnotationAttempted = "gitless.dev/attempted-digest"
	// AnnotationSpec is the digest of the source's configuration applied last (all but
	// its scheduling fields): a source whose configuration changed is verified and
	// applied again even when its artifact's digest did not.
	AnnotationSpec = "gitless.dev/spec"
)

// maxMessage bounds the message annotation and event messages.
const maxMessage = 1024

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut-- // not half a character
	}
	return s[:cut] + "..."
}

// Event reasons.
const (
	ReasonApplied            = "Applied"
	ReasonVerificationFailed = "VerificationFailed"
	ReasonRollbackRefused    = "RollbackRefused"
	ReasonSyncFailed         = "SyncFailed"
	// ReasonRemoveFailed: the removal of a source taken out of the configuration
	// (pruneRemovedSources) failed; it is tried again.
	ReasonRemoveFailed = "RemoveFailed"
)

// event records a Kubernetes Event on the source's parent. Failures to record are
// logged, not returned: status is best effort, the sync's result is what counts.
func (p *Puller) event(ctx context.Context, parent apply.Parent, src string, typ, reason, msg string) {
	now := metav1.NewTime(p.now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: parent.Name + ".", Namespace: parent.Namespace},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: "v1", Kind: string(parent.Kind), Namespace: parent.Namespace, Name: parent.Name,
		},
		Reason:              reason,
		Message:             truncate(msg),
		Type:                typ,
		Source:              corev1.EventSource{Component: "gitless-puller"},
		ReportingController: "gitless.dev/puller",
		ReportingInstance:   p.opts.Instance,
		Action:              "Sync",
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
	}
	if _, err := p.kube.CoreV1().Events(parent.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		p.log.WarnContext(ctx, "recording event", "source", src, "reason", reason, "error", err)
	}
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
