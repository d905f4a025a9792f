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
	// The puller never fetches with git, and kustomize's loader would (a base it reads
	// as a repository address): git, if the image or the machine has it, refuses every
	// transport. The build refuses such bases before kustomize sees them
	// (manifest/kustomize.CheckLocal); this is the second line.
	if _, set := os.LookupEnv("GIT_ALLOW_PROTOCOL"); !set {
		_ = os.Setenv("GIT_ALLOW_PROTOCOL", "none")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	env := pullercli.OSEnv()
	code := pullercli.Main(ctx, pullercli.NewCommand(env), os.Args[1:], env)
	stop()
	os.Exit(code)
}
