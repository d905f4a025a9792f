package puller

import (
	"context"
	"log/slog"
	"sync"
)

// warningLog logs the warnings the apiserver sends (deprecations, admission policies
// in Warn mode, webhooks' warnings) through the puller's log, each text once per
// process, up to maxWarnings texts (then every one is logged).
type warningLog struct {
	log  *slog.Logger
	mu   sync.Mutex
	seen map[string]bool
}

const maxWarnings = 1000

func newWarningLog(log *slog.Logger) *warningLog {
	return &warningLog{log: log, seen: map[string]bool{}}
}

// HandleWarningHeaderWithContext implements client-go's rest.WarningHandlerWithContext.
func (w *warningLog) HandleWarningHeaderWithContext(ctx context.Context, code int, _ string, text string) {
	if code != 299 || text == "" {
		return
	}
	w.mu.Lock()
	if w.seen[text] {
		w.mu.Unlock()
		return
	}
	if len(w.seen) < maxWarnings {
		w.seen[text] = true
	}
	w.mu.Unlock()
	w.log.WarnContext(ctx, "apiserver warning", "warning", text)
}
