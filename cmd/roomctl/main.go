// Command roomctl is roomworker's operator and publisher CLI: it checks
// create-room request files offline (validate, schema), publishes them as
// room.create CloudEvents (publish), ends rooms with room.end requests
// (end), follows the results and the rooms' lifecycle events (watch), shows
// a room's idempotency record (status) and republishes the requests behind
// failures after an outage (replay).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
