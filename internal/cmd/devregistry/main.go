// Command devregistry runs the test registry of internal/testenv/registry in
// the foreground, for local work and the quickstart script:
//
//	go run ./internal/cmd/devregistry -addr 127.0.0.1:5000 -dir /tmp/reg -auth token
//
// It prints
//
//	registry listening on 127.0.0.1:5000
//
// and, with -auth basic or token, a second line
//
//	credentials username=gitless password=PASSWORD
//
// then serves plain HTTP until SIGINT or SIGTERM. Without -dir the content
// lives in memory and is lost on exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gitless-dev/gitless/internal/testenv/registry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "devregistry:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devregistry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr     = fs.String("addr", "127.0.0.1:5000", "listen address")
		dir      = fs.String("dir", "", "store content under this directory (default: in memory)")
		authMode = fs.String("auth", "none", "authentication: none, basic or token")
		username = fs.String("username", registry.DefaultUsername, "user for -auth basic or token")
		password = fs.String("password", "", "password for -auth basic or token (default: random, printed)")
		verbose  = fs.Bool("v", false, "log the registry's messages to stderr")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	mode, err := registry.ParseAuth(*authMode)
	if err != nil {
		return err
	}
	opts := registry.Options{
		Auth:     mode,
		Addr:     *addr,
		RootDir:  *dir,
		Username: *username,
		Password: *password,
	}
	if *verbose {
		opts.LogWriter = stderr
	}

	reg, err := registry.Start(ctx, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "registry listening on %s\n", reg.Host())
	if mode != registry.AuthNone {
		fmt.Fprintf(stdout, "credentials username=%s password=%s\n", reg.Username, reg.Password)
	}
	if mode == registry.AuthToken {
		fmt.Fprintf(stderr, "token realm %s\n", reg.Realm())
	}

	<-ctx.Done()
	return reg.Close()
}
