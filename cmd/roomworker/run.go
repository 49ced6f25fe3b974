package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/roomworker/roomworker/internal/service"
)

// Set at build time with -ldflags "-X main.version=... -X main.revision=...".
var (
	version  = ""
	revision = ""
)

type lookupFunc func(string) (string, bool)

// errDevMoved answers the flags of the development mode, which is the roomdev command now.
var errDevMoved = errors.New("the development mode (-dev, -demo) moved to its own command, roomdev: run `make demo`, or `go run ./cmd/roomdev [-demo DIR]`")

// run is the whole program: flags, then the process of package service (configuration,
// connections, the worker and its HTTP servers). It returns once everything has stopped: nil
// when ctx is cancelled (SIGTERM); an error on a start-up failure, or when the worker or an HTTP
// server ended with one.
func run(ctx context.Context, args []string, lookup lookupFunc, stdout, stderr io.Writer) error {
	if devFlag(args) {
		return errDevMoved
	}
	fs := flag.NewFlagSet("roomworker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: roomworker [-version]\n\n"+
			"Consumes room.create CloudEvents from NATS JetStream and creates the rooms in plugNmeet.\n"+
			"Configuration comes from the environment (NATS_URL, PLUGNMEET_URL, PLUGNMEET_API_KEY,\n"+
			"PLUGNMEET_API_SECRET, ...; see README.md). The development mode (embedded NATS and the\n"+
			"plugNmeet stand-in) is the roomdev command: make demo.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *showVersion {
		v, r, g := service.BuildInfo(version, revision)
		fmt.Fprintf(stdout, "roomworker %s (revision %s, %s)\n", v, r, g)
		return nil
	}
	return service.Run(ctx, service.Options{Lookup: lookup, Stderr: stderr, Version: version, Revision: revision})
}

// devFlag reports whether the flags in args include -dev or -demo, the former development mode.
func devFlag(args []string) bool {
	for _, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") {
			return false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "dev" || name == "demo" {
			return true
		}
	}
	return false
}
