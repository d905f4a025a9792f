// Command gitless packages, pushes, signs and inspects Kubernetes manifests as OCI
// artifacts. The commands live in internal/cli; this is only the process binding.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/gitless-dev/gitless/internal/cli"
	"github.com/gitless-dev/gitless/internal/startgc"
)

func main() {
	// Collection was off while the packages were initialised (internal/startgc).
	startgc.Restore()
	// A run is short and most of what it allocates it keeps (the files of the tree, the
	// layer): collect garbage a quarter as often as Go's default, under a soft cap of
	// 1 GiB. GOGC and GOMEMLIMIT, when set, win. (bench/push.sh: about 12% less time.)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := cli.OSEnv()
	code := cli.Main(ctx, cli.NewGitlessCommand(env), os.Args[1:], env)
	stop()
	os.Exit(code)
}
