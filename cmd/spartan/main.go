// Command spartan is Spartan Messenger's terminal client: spartan alice.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spartan-messenger/spartan/internal/cli"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}
