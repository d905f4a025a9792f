package puller

import (
	"fmt"
	"time"

	"github.com/Masterminds/semver/v3"
)

// checkRollback refuses an artifact older than the one the parent records: by semver
// when both tags are versions, else by the created annotations when both have one.
func checkRollback(status map[string]string, tag string, created time.Time) error {
	lastTag := status[AnnotationTag]
	if lastTag != "" && tag != "" {
		nv, err1 := semver.NewVersion(tag)
		lv, err2 := semver.NewVersion(lastTag)
		if err1 == nil && err2 == nil {
			if nv.LessThan(lv) {
				return fmt.Errorf("%w: version %s is older than %s, applied last (set allowRollback to go back)", ErrRollback, tag, lastTag)
			}
			return nil
		}
	}
	lastCreated := parseTime(status[AnnotationCreated])
	if !created.IsZero() && !lastCreated.IsZero() && created.Before(lastCreated) {
		return fmt.Errorf("%w: the artifact was created %s, before the one applied last (%s); set allowRollback to go back",
			ErrRollback, created.UTC().Format(time.RFC3339), lastCreated.UTC().Format(time.RFC3339))
	}
	return nil
}
