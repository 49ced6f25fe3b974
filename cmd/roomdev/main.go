// Command roomdev is roomworker's development mode: an embedded NATS JetStream server, the
// plugNmeet stand-in and the worker in one process; with -demo it publishes the request files of
// a directory, prints the results and exits (make demo). It is not part of the production
// image: the roomworker binary links neither nats-server nor the stand-in. See README.md.
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
		fmt.Fprintln(os.Stderr, "roomdev:", err)
		os.Exit(1)
	}
}
