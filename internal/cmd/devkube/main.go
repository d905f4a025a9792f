// Command devkube runs the test control plane of internal/testenv/kube (a real etcd and
// kube-apiserver, built from the module proxy by hack/build-kube.sh; Services from a /16)
// in the foreground, for benchmarks and local work:
//
//	KUBEBUILDER_ASSETS=$(hack/build-kube.sh) go run ./internal/cmd/devkube -out /tmp/kc
//
// It writes an admin kubeconfig to -out (controller-runtime owns the -kubeconfig flag), prints
//
//	control plane ready in 3.1s; kubeconfig /tmp/kc
//
// and runs until SIGINT or SIGTERM, then stops etcd and the apiserver.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gitless-dev/gitless/internal/testenv/kube"
)

func main() {
	kubeconfig := flag.String("out", "", "where to write the admin kubeconfig (required)")
	flag.Parse()
	if *kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "devkube: -out is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env, err := kube.Start(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devkube:", err)
		os.Exit(1)
	}
	code := 0
	if data, err := os.ReadFile(env.KubeconfigPath()); err != nil {
		fmt.Fprintln(os.Stderr, "devkube:", err)
		code = 1
	} else if err := os.WriteFile(*kubeconfig, data, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "devkube:", err)
		code = 1
	} else {
		fmt.Printf("control plane ready in %s; kubeconfig %s\n", env.StartupTime().Round(1e8), *kubeconfig)
		<-ctx.Done()
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "devkube:", err)
		code = 1
	}
	os.Exit(code)
}
