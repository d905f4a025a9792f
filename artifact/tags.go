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
}

func (e *TagConflictError) Error() string {
	return fmt.Sprintf("tag %q in %s already points at %s, not %s: the tag is immutable (TagPolicy: not a moving tag, no overwrite allowed)",
		e.Tag, e.Repository, e.Existing, e.New)
}
