package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/roomworker/roomworker/internal/service"
	"github.com/roomworker/roomworker/worker"
)

type lookupFunc func(string) (string, bool)

// runWorker is how the worker runs: a seam for the tests, which replace it one test at a time
// (never in parallel).
var runWorker = (*worker.Worker).Run

// run starts the embedded NATS server and the stand-in, then runs the roomworker process (package
// service) against them, with the demo beside it when -demo is given. It returns once everything
// has stopped: nil when ctx is cancelled (SIGTERM) or the demo succeeded; an error on a start-up
// failure, or when the worker, an HTTP server or the demo ended with one.
func run(ctx context.Context, args []string, lookup lookupFunc, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("roomdev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demo := fs.String("demo", "", "publish every request file in `DIR`, print the results, and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: roomdev [-demo DIR]\n\n"+
			"roomworker's development mode: an embedded NATS JetStream server, the plugNmeet stand-in\n"+
			"and the worker in one process. Configuration as for roomworker (environment; see README.md);\n"+
			"with PLUGNMEET_URL, PLUGNMEET_API_KEY and PLUGNMEET_API_SECRET set it talks to that plugNmeet\n"+
			"instead of the stand-in.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (want: roomdev [-demo DIR])", fs.Arg(0))
	}

	dev, err := startDev(lookup, *demo != "", stdout)
	if err != nil {
		return err
	}
	defer dev.Close()
	o := service.Options{
		Lookup:    dev.lookup,
		Stderr:    stderr,
		Listening: func(metricsAddr string) { dev.announce(stdout, metricsAddr) },
		RunWorker: runWorker,
		Listen:    dev.listen,
	}
	if *demo != "" {
		o.Task = func(ctx context.Context, p service.Process) error {
			return runDemo(ctx, p.NC, p.Config, p.Worker, *demo, stdout)
		}
	}
	return service.Run(ctx, o)
}
