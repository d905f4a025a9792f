// Package startgc keeps the garbage collector off while a command's packages are
// initialised, and gives the setting back to main.
//
// The gitless CLI links Helm, kustomize, client-go and Sigstore, whose package
// initialisation allocates about 6 MB before main runs; at Go's default pacing that
// is two collections, a tenth of the CPU time of a short command such as push. The
// GOGC environment variable is read before any package is initialised, so only a
// package can turn collection off that early: main imports this one, which has no
// dependencies beyond runtime/debug and is therefore initialised before the heavy
// packages, and calls Restore first thing.
//
//	func main() {
//		startgc.Restore() // the GOGC the process started with
//		...
//	}
package startgc

import "runtime/debug"

// saved is the setting the process started with (GOGC, else 100; -1 for off).
var saved = debug.SetGCPercent(-1)

// Restore gives back the garbage collector setting the process started with and
// returns it.
func Restore() int {
	debug.SetGCPercent(saved)
	return saved
}
