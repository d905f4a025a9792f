// Command gitless packages, pushes, signs and inspects Kubernetes manifests as OCI
// artifacts. The commands live in internal/cli; this is only the process binding.
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
	code := cli.Main(ctx, cli.NewGitlessCommand(env), os.Args[1:], env)
	stop()
	os.Exit(code)
}
