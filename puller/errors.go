package puller

import (
	"errors"

	"github.com/gitless-dev/gitless/artifact"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/verify"
)

// Sentinel errors of a sync, beside those of the packages it uses (verify's
// ErrVerificationFailed and ErrUnavailable, remote's ErrUnauthorized and ErrNotFound,
// apply's ErrDryRun, ErrForeignObject, ...), which Sync's errors wrap.
var (
	// ErrRollback: the artifact is older than the one applied last and the source does
	// not allow rollback. Not retried for the same digest.
	ErrRollback = errors.New("rollback refused")
	// ErrNoMatchingTag: no tag of the repository matches the semver range.
	ErrNoMatchingTag = errors.New("no tag matches the semver range")
	// ErrDependency: a source this one depends on has not synced successfully.
	ErrDependency = errors.New("dependency not ready")
)

// Retry says whether a failed sync is worth retrying soon: not after a verification
// failure, a refused rollback or an artifact over the caps or unsafe to extract (the
// same digest fails the same way; the runner waits for the ref to move), not after a
// listing over the list limits (the registry would be asked for as much again), nor
// after a registry's 401/403 (credentials do not fix themselves; retrying only adds
// load).
func Retry(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, verify.ErrVerificationFailed), errors.Is(err, ErrRollback), errors.Is(err, artifact.ErrTooLarge),
		errors.Is(err, artifact.ErrUnsafeArchive),
		errors.Is(err, remote.ErrUnauthorized), errors.Is(err, ErrInvalidSource), errors.Is(err, verify.ErrInvalidPolicy):
		return false
	}
	return true
}
