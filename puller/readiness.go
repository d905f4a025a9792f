package puller

import "sort"

// Readiness is the summary of Health that an unauthenticated probe may show: counts
// and the names of the sources not ready, never why (errors quote what artifacts hold;
// the reasons are on each source's ApplySet parent and in `gitless-puller status`).
type Readiness struct {
	Ready    bool     `json:"ready"`
	Sources  int      `json:"sources"`
	NotReady []string `json:"notReady,omitempty"` // sorted
}

// Readiness summarises the sources' last syncs.
func (h *Health) Readiness() Readiness {
	_, bad := h.Ready()
	h.mu.Lock()
	n := len(h.synced)
	h.mu.Unlock()
	r := Readiness{Ready: len(bad) == 0, Sources: n}
	for name := range bad {
		r.NotReady = append(r.NotReady, name)
	}
	sort.Strings(r.NotReady)
	return r
}
