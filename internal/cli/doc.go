// Package cli holds the cobra commands of gitless, the CI-side CLI. Each command is
// built by a constructor that takes its dependencies (streams, environment), maps its
// flags onto the library packages' options and prints the result; nothing here is
// logic a library user would want. The exit codes, error printing, -o and the flag
// groups gitless shares with gitless-puller (internal/pullercli) are internal/clikit's;
// the hints that name gitless's flags are in hints.go. docs/cli.md is the contract.
package cli
