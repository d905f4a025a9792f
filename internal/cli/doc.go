// Package cli holds the cobra commands of gitless and gitless-puller. Each command is
// built by a constructor that takes its dependencies (streams, environment), maps its
// flags onto the library packages' options and prints the result; nothing here is
// logic a library user would want. Only this package maps errors to exit codes
// (see ExitCode and docs/cli.md).
package cli
