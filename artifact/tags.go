package artifact

import (
	"fmt"
	"path"
	"regexp"

	"github.com/opencontainers/go-digest"
)

// DefaultMovingTags are the tags a push may move without --allow-overwrite.
var DefaultMovingTags = []string{"latest"}

var (
	commitTagRE = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
	// a full semantic version, with optional "v", pre-release and build metadata
	versionTagRE = regexp.MustCompile(`^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
)

// IsImmutableTag reports whether a tag names one build for good: a commit SHA (7 to 64
// lowercase hex digits) or a full semantic version such as v1.2.3 or 1.2.3-rc.1.
// Such tags never move without an explicit overwrite.
func IsImmutableTag(tag string) bool {
	return commitTagRE.MatchString(tag) || versionTagRE.MatchString(tag)
}

// TagPolicy decides whether a tag that already points at another digest may be moved.
type TagPolicy struct {
	// AllowOverwrite moves any tag.
	AllowOverwrite bool
	// Moving lists glob patterns (path.Match syntax) of tags that may move.
	Moving []string
	// MoveByDefault lets tags move that match no pattern and are not immutable
	// (IsImmutableTag). Push leaves it off (tags are immutable unless listed);
	// "gitless tag", whose job is promotion, turns it on.
	MoveByDefault bool
	// AllowRollback lets a push move a moving tag to an artifact created before the
	// one it names (a re-run of an old pipeline, a hotfix of an older line); without
	// it, or AllowOverwrite, the tag stays (PushResult's TagUpdate.Kept says why) and
	// the other tags are pushed. "gitless tag" (promotion) does not check.
	AllowRollback bool
}

// MayMove reports whether tag may be moved under p.
func (p TagPolicy) MayMove(tag string) bool {
	if p.AllowOverwrite {
		return true
	}
	for _, pat := range p.Moving {
		if ok, _ := path.Match(pat, tag); ok {
			return true
		}
	}
	return p.MoveByDefault && !IsImmutableTag(tag)
}

// TagConflictError is the refusal to move an immutable tag.
type TagConflictError struct {
	Repository string
	Tag        string
	Existing   digest.Digest
	New        digest.Digest
	// Concurrent: the tag was free when the push looked, and names another digest
	// after the push set it (two pushes at once; the registry kept the other).
	Concurrent bool
}

func (e *TagConflictError) Error() string {
	if e.Concurrent {
		return fmt.Sprintf("tag %q in %s points at %s, not %s: another push set it at the same time (the tag is immutable; %s was pushed, untagged)",
			e.Tag, e.Repository, e.Existing, e.New, e.New)
	}
	return fmt.Sprintf("tag %q in %s already points at %s, not %s: the tag is immutable (TagPolicy: not a moving tag, no overwrite allowed)",
		e.Tag, e.Repository, e.Existing, e.New)
}
