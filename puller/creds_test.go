package puller_test

import (
	"context"
	"github.com/gitless-dev/gitless/artifact"

	"github.com/gitless-dev/gitless/artifact/auth"
	"github.com/gitless-dev/gitless/artifact/remote"
	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

// staticCreds gives the test's own clients (pushing, signing) the registry's user.
func staticCreds(reg *registry.Registry) remote.CredentialResolver {
	if reg.Username == "" {
		return nil
	}
	return auth.Chain{auth.Static(reg.Host(), auth.Credential{Username: reg.Username, Password: reg.Password}, "test")}
}

var _ = context.Background

type artifactTagPolicy = artifact.TagPolicy
