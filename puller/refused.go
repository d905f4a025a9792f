package puller

import (
	"encoding/json"
	"errors"
	"slices"

	"github.com/opencontainers/go-digest"

	"github.com/gitless-dev/gitless/artifact"
)

// AnnotationRefused records, on a source's parent, a digest refused for what it is (an
// unsafe or too large archive, content that does not build) under the source's
// configuration and the puller's caps and version (refusal): a puller started since
// refuses it again without downloading it, until one of them changes, the ref moves,
// or an operator requests a reconcile. A sync that applies removes it. A rollback
// refusal is not recorded: it depends on what was applied last and on the tag, which
// move on their own.
const AnnotationRefused = "gitless.dev/refused"

// refusal is AnnotationRefused's value.
type refusal struct {
	Digest string `json:"digest"`
	// Key is the digest of refusalKey: the configuration, policy files, archive caps
	// and puller version it was refused under.
	Key string `json:"key"`
	// Kinds names the sentinel errors the refusal matched (refusalKinds).
	Kinds []string `json:"kinds,omitempty"`
	// Message is the refusal's error, scrubbed and truncated as the status message.
	Message string `json:"message"`
}

// refusalKinds are the errors a refusal may match, by the name recorded.
var refusalKinds = map[string]error{
	"unsafe-archive": artifact.ErrUnsafeArchive,
	"too-large":      artifact.ErrTooLarge,
}

// persistedRefusal is a refusal read back from the parent: it reads as the error
// recorded and matches the sentinels it matched.
type persistedRefusal struct {
	msg   string
	kinds []error
}

func (e *persistedRefusal) Error() string { return e.msg }

func (e *persistedRefusal) Is(target error) bool {
	for _, k := range e.kinds {
		if errors.Is(k, target) {
			return true
		}
	}
	return false
}

// persistRefusal returns the AnnotationRefused value of err, a refusal of d under
// key, or "" when err is not one that holds across processes.
func persistRefusal(d digest.Digest, key string, err error) string {
	if !refusedContent(err) {
		return ""
	}
	r := refusal{Digest: d.String(), Key: digest.FromString(key).String(), Message: truncate(err.Error())}
	for name, k := range refusalKinds {
		if errors.Is(err, k) {
			r.Kinds = append(r.Kinds, name)
		}
	}
	slices.Sort(r.Kinds)
	b, _ := json.Marshal(r)
	return string(b)
}

// refusedBefore returns the refusal of d under key that the parent records, or nil.
func refusedBefore(status map[string]string, d digest.Digest, key string) error {
	raw := status[AnnotationRefused]
	if raw == "" {
		return nil
	}
	var r refusal
	if json.Unmarshal([]byte(raw), &r) != nil || r.Digest != d.String() || r.Key != digest.FromString(key).String() {
		return nil
	}
	e := &persistedRefusal{msg: r.Message}
	for _, name := range r.Kinds {
		if k := refusalKinds[name]; k != nil {
			e.kinds = append(e.kinds, k)
		}
	}
	return e
}

// refusalKey identifies what a refusal recorded on the parent was decided under: the
// source's configuration and policy files (rejectKey), and what of the puller decides
// it too, its archive caps and its version (raised caps, or an upgrade whose build
// takes the content, look at the digest again).
func (s *syncRun) refusalKey() string {
	caps, _ := json.Marshal(s.p.opts.Extract)
	return s.rejectFor + "\x00" + string(caps) + "\x00" + s.p.opts.Version
}
