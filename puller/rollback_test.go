package puller_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
	"github.com/gitless-dev/gitless/puller"
)

// Unless allowRollback, an artifact is accepted only when its version is not lower
// (both tags versions) and its created is not older than the last applied one's: the
// three ways around a semver-only check are refused, each with nothing applied.
func TestRollbackRuleHoldsForVersionTags(t *testing.T) {
	w := newWorld(t, registry.Options{})
	t3 := t2.Add(time.Hour)
	w.pushSigned("app", "1.0.0", t3, map[string]string{"a.yaml": cm("a", "1.0.0")})
	src := w.source("app", "app", "1.0.0")
	w.mustSync(src)

	for _, tc := range []struct {
		name, tag string
		created   time.Time
		want      string
	}{
		{"the same version tag moved to an older artifact", "1.0.0", t1, "created 2026-01-01T00:00:00Z, before"},
		{"a higher version tag on an older artifact", "1.1.0", t2, "created 2026-01-01T01:00:00Z, before"},
		{"no created after an artifact with one", "1.2.0", time.Time{}, "has no created annotation"},
		{"a lower version, newer", "0.9.0", t3.Add(time.Hour), "version 0.9.0 is older than 1.0.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.t = t
			w.pushSigned("app", tc.tag, tc.created, map[string]string{"a.yaml": cm("a", "evil")})
			s := src
			s.Ref.Tag = tc.tag
			_, err := w.sync(s)
			if !errors.Is(err, puller.ErrRollback) || puller.Retry(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a refused rollback: %s", err, tc.want)
			}
			if w.CMData("a", "k") != "1.0.0" {
				t.Fatal("the older artifact was applied")
			}
		})
	}

	// Newer on both counts: accepted. And allowRollback lets an older one in.
	w.t = t
	w.pushSigned("app", "1.3.0", t3.Add(time.Minute), map[string]string{"a.yaml": cm("a", "1.3.0")})
	s := src
	s.Ref.Tag = "1.3.0"
	w.mustSync(s)
	s.Ref.Tag, s.AllowRollback = "1.1.0", true
	if w.mustSync(s); w.CMData("a", "k") != "evil" {
		t.Fatal("allowRollback did not apply the older artifact")
	}
}
