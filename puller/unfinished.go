package puller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/opencontainers/go-digest"
)

// AnnotationSyncing marks, on a source's parent, a sync of a new digest (or of a
// changed configuration) from before it fetches the artifact until it ends, with the
// process that runs it (syncingMark). A puller that finds the mark of another process
// for the same digest and configuration knows that process stopped in the middle
// (killed, out of memory); after MaxUnfinishedSyncs such stops the digest is refused
// (ErrUnfinishedSyncs), so that an artifact that kills the puller stops only its own
// source, not every source of the puller in a crash loop.
const AnnotationSyncing = "gitless.dev/syncing"

// MaxUnfinishedSyncs is how many processes may stop while syncing the same digest
// under the same configuration before it is refused.
const MaxUnfinishedSyncs = 3

// ErrUnfinishedSyncs is the refusal of a digest whose syncs never ended
// (AnnotationSyncing). It holds until the ref moves to another digest, the source's
// configuration changes, or an operator requests a reconcile.
var ErrUnfinishedSyncs = errors.New("refused: syncs of this artifact never ended")

// syncingMark is AnnotationSyncing's value.
type syncingMark struct {
	Digest string `json:"digest"`
	// Spec is the source's appliedSpec: a changed configuration is tried afresh.
	Spec string `json:"spec"`
	// Process identifies the puller process (Puller.process) that made the mark.
	Process string `json:"process"`
	// Starts counts the processes that began this sync and did not see it end, this
	// one included.
	Starts int `json:"starts"`
	// Ended says that the process saw its sync end, failed (recordFailure); a mark
	// not Ended, of another process, is a process that stopped in the middle.
	Ended bool `json:"ended,omitempty"`
}

func (m syncingMark) String() string {
	b, _ := json.Marshal(m)
	return string(b)
}

// newProcessID returns an identifier of this puller process: instance (the pod) and
// a random part, so that a restarted container in the same pod is another process.
func newProcessID(instance string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	if instance == "" {
		return hex.EncodeToString(b)
	}
	return instance + "/" + hex.EncodeToString(b)
}

// markSyncing records on the parent that this process begins syncing d under spec,
// counting the processes that began it before and stopped in the middle; with
// MaxUnfinishedSyncs of them, and no operator's request, d is refused instead. An
// operator's request is recorded as handled by the same write, so that a process the
// artifact kills does not leave it pending for the next one to try again. A mark of
// this process (an earlier try that failed) is not written again: retrying a digest
// that fails writes nothing.
func (s *syncRun) markSyncing(ctx context.Context, d digest.Digest, spec string) error {
	var prev syncingMark
	if raw := s.ps.Status[AnnotationSyncing]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &prev) // unreadable: counted afresh
	}
	mark := syncingMark{Digest: d.String(), Spec: spec, Process: s.p.process, Starts: 1}
	if prev.Digest == mark.Digest && prev.Spec == spec {
		switch {
		case prev.Process == s.p.process:
			if s.request == "" {
				s.mark = &prev
				return nil
			}
			mark.Starts = max(prev.Starts, 1)
		case !prev.Ended: // that process stopped before the sync ended
			if prev.Starts >= MaxUnfinishedSyncs && s.request == "" {
				err := fmt.Errorf("%s: %w: %d puller processes stopped while syncing it (killed, or out of memory?), the last %s; it is not tried again until the ref moves to another digest, the source's configuration changes, or an operator requests a reconcile",
					d, ErrUnfinishedSyncs, prev.Starts, prev.Process)
				s.reject(d, err)
				return err
			}
			mark.Starts = prev.Starts + 1
		}
	}
	status := map[string]string{AnnotationSyncing: mark.String()}
	if s.request != "" {
		status[AnnotationReconcileHandled] = s.request
	}
	if err := s.a.WriteStatus(ctx, s.ps, status); err != nil {
		return fmt.Errorf("marking the sync of %s on its parent: %w", d, err)
	}
	s.mark = &mark
	return nil
}

// ended returns the AnnotationSyncing value of a sync of this process that failed:
// its mark, Ended (the same at every failed try, so a retry writes nothing).
func (s *syncRun) ended() string {
	m := *s.mark
	m.Ended = true
	return m.String()
}
