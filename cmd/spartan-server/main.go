// Command spartan-server runs the Spartan Messenger server.
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

	"github.com/spartan-messenger/spartan/internal/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves until ctx ends and returns the exit status: 0 after a graceful
// stop, 2 when the server cannot start (bad configuration, port in use) or
// fails, with one line on stderr saying why.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) int {
	if err := server.Run(ctx, args, environ, stdout, stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			_, _ = fmt.Fprintf(stderr, "spartan-server: %v\n", err)
		}
		return 2
	}
	return 0
}
