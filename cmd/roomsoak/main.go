// Command roomsoak is the chaos soak: a real nats-server process, the plugNmeet stand-in as a
// process with injected faults, and three roomworker processes on loopback. It publishes a mix
// of valid, duplicate, same-room-different-payload, invalid and hostile requests while a chaos
// loop kills, stops and restarts workers and restarts nats-server, then checks that nothing was
// lost, nothing answered twice and no room created twice, and prints a one-line JSON summary.
// It exits non-zero when a check fails. See docs/reliability.md.
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
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "roomsoak:", err)
		os.Exit(1)
	}
}
