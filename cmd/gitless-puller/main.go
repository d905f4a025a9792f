// Command gitless-puller pulls, verifies and applies signed OCI artifacts of
// Kubernetes manifests. The commands live in internal/cli, the engine in puller; this
// is only the process binding.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gitless-dev/gitless/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := cli.OSEnv()
	code := cli.Main(ctx, cli.NewPullerCommand(env), os.Args[1:], env)
	stop()
	os.Exit(code)
}
