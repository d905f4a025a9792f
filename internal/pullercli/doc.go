// Package pullercli holds the cobra commands of gitless-puller: sync (every source once)
// and run (the daemon). It maps flags and the configuration file onto the puller
// package and prints results; only here are errors mapped to exit codes.
//
// It is a package of its own, not part of internal/cli, so that the gitless-puller
// binary links neither the Jsonnet engine nor anything else of `gitless render`
// (internal/depcheck checks the binary's dependencies). The exit codes, error printing,
// -o and the verification policy flags are internal/clikit's, the same as gitless's;
// tests hold the two to each other.
package pullercli
