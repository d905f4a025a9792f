package puller

import (
	"fmt"
	"time"

	"github.com/Masterminds/semver/v3"
)

// checkRollback refuses an artifact older than the one the parent records as applied
// last. Both must hold for the artifact to be accepted:
//
//   - its version is not lower, when both tags are semantic versions;
//   - its created annotation is not older, when the last one had one; an artifact
//     without one after an artifact with one is refused (it cannot show it is newer).
//
// So a higher version tag put on an older artifact, and a version tag moved to an
// older artifact, are refused as well as a lower version.
func checkRollback(status map[string]string, tag string, created time.Time) error {
	lastTag := status[AnnotationTag]
	if lastTag != "" && tag != "" {
		nv, err1 := semver.NewVersion(tag)
		lv, err2 := semver.NewVersion(lastTag)
		if err1 == nil && err2 == nil && nv.LessThan(lv) {
			return fmt.Errorf("%w: version %s is older than %s, applied last (set allowRollback to go back)", ErrRollback, tag, lastTag)
		}
	}
	lastCreated := parseTime(status[AnnotationCreated])
	switch {
	case lastCreated.IsZero():
	case created.IsZero():
		return fmt.Errorf("%w: the artifact has no created annotation, the one applied last (created %s) had one; set allowRollback to accept it",
			ErrRollback, lastCreated.UTC().Format(time.RFC3339))
	case created.Before(lastCreated):
		return fmt.Errorf("%w: the artifact was created %s, before the one applied last (%s); set allowRollback to go back",
			ErrRollback, created.UTC().Format(time.RFC3339), lastCreated.UTC().Format(time.RFC3339))
	}
	return nil
}
