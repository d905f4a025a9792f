package puller

import (
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/gitless-dev/gitless/puller/apply"
)

// Outcome is how a sync ended.
type Outcome string

const (
	// Applied: the artifact was verified and its objects applied (or found as they
	// should be) and pruned.
	Applied Outcome = "Applied"
	// UpToDate: the ref still resolves to the digest applied last and no drift check was
	// due; nothing but the resolve was done and nothing was written.
	UpToDate Outcome = "UpToDate"
	// Planned: a plan ([Puller.Plan]): nothing was written; Changes say what a sync
	// would do.
	Planned Outcome = "Planned"
	// Failed: the sync stopped with an error; the objects applied last are left as
	// they are and nothing was pruned.
	Failed Outcome = "Failed"
)

// Result describes one sync, as fluxcd/pkg/ssa's ChangeSet does for an apply: what was
// created, configured, left unchanged and pruned, and which artifact it came from.
type Result struct {
	Source  string  `json:"source"`
	Outcome Outcome `json:"outcome"`
	// URL is the artifact, pinned to Digest.
	URL string `json:"url"`
	// Tag is the tag the ref resolved through, if any (the highest match of a semver
	// range).
	Tag    string        `json:"tag,omitempty"`
	Digest digest.Digest `json:"digest,omitempty"`
	// Revision and ArtifactCreated are the artifact's provenance annotations.
	Revision        string    `json:"revision,omitempty"`
	ArtifactCreated time.Time `json:"artifactCreated,omitzero"`
	// Signer is who signed the digest, as the policy verified it; "" when verification
	// is off (InsecureSkipVerify) or was not reached.
	Signer string `json:"signer,omitempty"`
	// VerificationFailed is true when this sync verified the digest's signatures and
	// the policy refused them: a verdict, counted once. A poll that finds the same
	// refused digest again (remembered, not verified again) leaves it false.
	VerificationFailed bool `json:"verificationFailed,omitempty"`
	// DriftCheck is true when the digest had not changed and the objects were checked
	// (and put back where they had drifted).
	DriftCheck bool `json:"driftCheck,omitempty"`
	// Changes lists every object and what was done to it.
	Changes []apply.Change `json:"changes,omitempty"`
	// Counts of Changes by action.
	Created    int `json:"created"`
	Configured int `json:"configured"`
	Recreated  int `json:"recreated,omitempty"`
	Unchanged  int `json:"unchanged"`
	Pruned     int `json:"pruned"`
	Skipped    int `json:"skipped,omitempty"`
	// Requests counts what the sync sent: registry requests (including token
	// requests), apiserver reads (GETs, LISTs and dry-runs) and apiserver writes.
	Requests Requests `json:"requests"`
	// Duration is how long the sync took, and Phases how long each step did:
	// "resolve", "verify", "fetch" (manifest, layer and extraction), "build", and
	// the steps of the apply ("list", "dry-run", "apply", "wait", "prune").
	Duration time.Duration            `json:"duration"`
	Phases   map[string]time.Duration `json:"phases,omitempty"`
	// Error is the error's text when Outcome is Failed.
	Error string `json:"error,omitempty"`
}

// Requests counts the requests of a sync.
type Requests struct {
	Registry  int64 `json:"registry"`
	APIReads  int64 `json:"apiReads"`
	APIWrites int64 `json:"apiWrites"`
}

func (r *Result) setChanges(cs *apply.ChangeSet) {
	if cs == nil {
		return
	}
	r.Changes = cs.Changes
	for k, v := range cs.Phases {
		r.phase(k, v)
	}
	r.Created = cs.Count(apply.Created)
	r.Configured = cs.Count(apply.Configured)
	r.Recreated = cs.Count(apply.Recreated)
	r.Unchanged = cs.Count(apply.Unchanged)
	r.Pruned = cs.Count(apply.Pruned)
	r.Skipped = cs.Count(apply.Skipped)
}

func (r *Result) phase(name string, d time.Duration) {
	if r.Phases == nil {
		r.Phases = map[string]time.Duration{}
	}
	r.Phases[name] += d
}
