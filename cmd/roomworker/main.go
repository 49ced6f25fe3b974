// Command roomworker consumes room.create CloudEvents from NATS JetStream, creates the rooms in
// plugNmeet and publishes room.created / room.failed results. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "roomworker:", err)
		os.Exit(1)
	}
}
