package pullercli

import (
	"errors"

	"github.com/gitless-dev/gitless/artifact/remote"
)

// hints says what the operator can do about an error, in gitless-puller's flag and
// configuration names (the puller library names neither).
func hints(err error) []string {
	var out []string
	var ae *remote.AuthError
	if errors.As(err, &ae) && ae.Source == "" {
		out = append(out, "give the source registry credentials: --pull-secret or --pull-secret-file (pullSecret or pullSecretFile in the config file)")
	}
	return out
}
