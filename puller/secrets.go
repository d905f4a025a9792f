package puller

import (
	"sync"

	"github.com/gitless-dev/gitless/internal/redact"
)

// secretValues holds, per source, the Secret values of the artifact applied last and
// of the one being tried (internal/redact learns them from the extracted tree and the
// built objects). Every error that leaves a sync, and every log record of the puller,
// is scrubbed of all of them: the one place redaction happens.
type secretValues struct {
	mu      sync.Mutex
	sources map[string]*sourceSecrets
}

type sourceSecrets struct {
	last, cur *redact.Set
}

func (v *secretValues) of(source string) *sourceSecrets {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.sources == nil {
		v.sources = map[string]*sourceSecrets{}
	}
	s := v.sources[source]
	if s == nil {
		s = &sourceSecrets{last: &redact.Set{}, cur: &redact.Set{}}
		v.sources[source] = s
	}
	return s
}

// attempt starts learning the values of a new artifact of source.
func (v *secretValues) attempt(source string) *redact.Set {
	s := v.of(source)
	v.mu.Lock()
	defer v.mu.Unlock()
	s.cur = &redact.Set{}
	return s.cur
}

// applied makes the artifact tried the one applied last.
func (v *secretValues) applied(source string) {
	s := v.of(source)
	v.mu.Lock()
	defer v.mu.Unlock()
	s.last, s.cur = s.cur, &redact.Set{}
}

// lastApplied is where the values of the artifact applied last go when it is built
// again (after a restart, for the fields the puller owns).
func (v *secretValues) lastApplied(source string) *redact.Set {
	s := v.of(source)
	v.mu.Lock()
	defer v.mu.Unlock()
	return s.last
}

// scrub masks every known value of every source in text.
func (v *secretValues) scrub(text string) string {
	v.mu.Lock()
	sets := make([]*redact.Set, 0, 2*len(v.sources))
	for _, s := range v.sources {
		sets = append(sets, s.last, s.cur)
	}
	v.mu.Unlock()
	for _, s := range sets {
		text = s.Scrub(text)
	}
	return text
}

// error returns err with its text scrubbed (still matching what err matched).
func (v *secretValues) error(err error) error {
	return redact.ErrorWith(err, v.scrub)
}
