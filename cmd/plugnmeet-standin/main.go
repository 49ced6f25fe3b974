// Command plugnmeet-standin serves the plugNmeet stand-in of package
// plugnmeettest as a process, with fault injection set by flags or at run
// time through its admin API, for the demo, compose and benchmarks.
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
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "plugnmeet-standin:", err)
		os.Exit(1)
	}
}
