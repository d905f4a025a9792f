package puller_test

import (
	"context"
	"github.com/gitless-dev/gitless/artifact"
)

var _ = context.Background

type artifactTagPolicy = artifact.TagPolicy
