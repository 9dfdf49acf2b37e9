// Command spartan-bench measures Spartan Messenger under load against a
// bare relay of the same proto in the same run (issue 20): it starts the
// servers itself (or drives one with -server), and writes a Markdown table
// to stdout (-json for machines), the tables into a Markdown file between
// markers (-md) and an SVG plot of latency against load (-svg).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spartan-messenger/spartan/internal/bench/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
