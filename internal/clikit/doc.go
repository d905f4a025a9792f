// Package clikit is what the two command-line programs, gitless (internal/cli) and
// gitless-puller (internal/pullercli), share, so that they behave as one tool: the exit
// codes and the mapping of library errors onto them (docs/cli.md), error printing with
// the hints that name flags (the libraries name none), the output format flag (-o
// text|json|yaml, as kubectl), and the flag groups both have (the verification policy,
// registry access) as structs with AddFlags.
//
// It imports the libraries whose errors it maps (artifact, artifact/remote, verify) and
// nothing of render, so that gitless-puller, which uses it, links no Jsonnet engine
// (internal/depcheck checks the binary).
package clikit
