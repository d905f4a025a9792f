package puller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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
	// Starts counts the processes that began this sync, this one included; all but
	// the one that made the mark stopped before it ended.
	Starts int `json:"starts"`
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
// counting the processes that began it before and never ended it; with
// MaxUnfinishedSyncs of them, and no operator's request, d is refused instead.
func (s *syncRun) markSyncing(ctx context.Context, d digest.Digest, spec string) error {
	var prev syncingMark
	if raw := s.ps.Status[AnnotationSyncing]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &prev) // unreadable: counted afresh
	}
	mark := syncingMark{Digest: d.String(), Spec: spec, Process: s.p.process, Starts: 1}
	if prev.Digest == mark.Digest && prev.Spec == spec {
		mark.Starts = max(prev.Starts, 1)
		if prev.Process != s.p.process { // that process stopped before the sync ended
			if prev.Starts >= MaxUnfinishedSyncs && s.request == "" {
				err := fmt.Errorf("%s: %w: %d puller processes stopped while syncing it (killed, or out of memory?), the last %s; it is not tried again until the ref moves to another digest, the source's configuration changes, or an operator requests a reconcile",
					d, ErrUnfinishedSyncs, prev.Starts, prev.Process)
				s.reject(d, err)
				return err
			}
			mark.Starts++
		}
	}
	b, _ := json.Marshal(mark)
	if err := s.a.WriteStatus(ctx, s.ps, map[string]string{AnnotationSyncing: string(b)}); err != nil {
		return fmt.Errorf("marking the sync of %s on its parent: %w", d, err)
	}
	s.marked = true
	return nil
}

// unmarkSyncing removes this process's mark after a sync that ended without a status
// write of its own (cancelled at shutdown): this process did not stop in the middle.
func (s *syncRun) unmarkSyncing(ctx context.Context) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.a.WriteStatus(wctx, s.ps, map[string]string{AnnotationSyncing: ""}); err != nil {
		s.log.WarnContext(ctx, "removing the mark of a sync cut short", "error", err)
	}
}
