// Command gitless-puller pulls, verifies and applies signed OCI artifacts of
// Kubernetes manifests. The commands live in internal/pullercli, the engine in puller;
// this is only the process binding.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/gitless-dev/gitless/internal/pullercli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := pullercli.OSEnv()
	code := pullercli.Main(ctx, pullercli.NewCommand(env), os.Args[1:], env)
	stop()
	os.Exit(code)
}
