package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

// requestFlags are the flags every command that publishes a room request
// (publish, end, cancel) has.
type requestFlags struct {
	id         string
	source     string
	structured bool
	wait       bool
	timeout    time.Duration
	format     string
}

// addRequestFlags defines the request flags on fs; format is the default of
// -format, json or text.
func addRequestFlags(fs *flag.FlagSet, format string) *requestFlags {
	other := "json"
	if format == "json" {
		other = "text"
	}
	f := &requestFlags{}
	fs.StringVar(&f.id, "id", "", "event `ID` (default: a fresh UUID); reuse one only to publish the same request again")
	fs.StringVar(&f.source, "source", "roomctl", "event `SOURCE`, a URI-reference naming the publisher")
	fs.BoolVar(&f.structured, "structured", false, "publish in structured mode (JSON event format) instead of binary mode")
	fs.BoolVar(&f.wait, "wait", false, "wait for the result and print it")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "with -wait: how long to wait for the result")
	fs.StringVar(&f.format, "format", format, "with -wait: print the result as `"+format+"` or "+other)
	return f
}

// check returns the first mistake on a request command's line: not exactly
// one argument (what names it: ROOM_ID, FILE), a -timeout that is not
// positive, the first of more (problems with the command's own flags), a bad
// -format.
func (f *requestFlags) check(args []string, what string, more ...error) error {
	switch {
	case len(args) == 0:
		return fmt.Errorf("no %s given", what)
	case len(args) > 1:
		return fmt.Errorf("one %s at a time, got %d", what, len(args))
	case f.timeout <= 0:
		return errors.New("-timeout must be positive")
	}
	for _, err := range more {
		if err != nil {
			return err
		}
	}
	return checkFormat(f.format)
}

// options are the event options -id and -source ask for.
func (f *requestFlags) options() []events.RequestOption {
	opts := []events.RequestOption{events.WithSource(f.source)}
	if f.id != "" {
		opts = append(opts, events.WithID(f.id))
	}
	return opts
}

// outgoing is a request event ready to publish, and how to follow it up.
type outgoing struct {
	cmd   string // the command, for messages
	ev    *event.Event
	flags *requestFlags
	// subject is where ev is published; results are the subjects its
	// answers are stored under.
	subject func(*session) string
	results func(*session) []string
	// hint explains a publish that failed.
	hint func(context.Context, *session, error) error
	// await, with -wait, prints the answer read from results and returns
	// the exit status.
	await func(results jetstream.MessagesContext) int
}

// send connects, publishes out.ev with its id as Nats-Msg-Id and prints the
// id; with -wait it then lets out.await read the answer. Any failure before
// the answer is exit status 2.
func send(ctx context.Context, e env, out outgoing) int {
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "roomctl %s: %s\n", out.cmd, printable(err.Error()))
		return exitUsage
	}
	s, err := connect(ctx, e.getenv)
	if err != nil {
		return fail(err)
	}
	defer s.close()

	// Results are read from the end of the events stream as it is before
	// publishing, so a fast worker's answer cannot be missed.
	subjects := out.results(s)
	var results jetstream.MessagesContext
	if out.flags.wait {
		if results, err = s.resultsAfterNow(ctx, subjects); err != nil {
			return fail(err)
		}
		defer func() { results.Stop() }()
	}

	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	publish := events.Publish
	if out.flags.structured {
		publish = events.PublishStructured
	}
	ack, err := publish(pctx, s.js, out.subject(s), out.ev, jetstream.WithExpectStream(s.RequestStream))
	if err != nil {
		return fail(out.hint(ctx, s, err))
	}
	fmt.Fprintln(e.stdout, out.ev.ID())
	if ack.Duplicate {
		fmt.Fprintf(e.stderr, "roomctl %s: %s already held an event with id %s; JetStream kept the first one\n", out.cmd, s.RequestStream, printable(out.ev.ID()))
	}
	if !out.flags.wait {
		return exitOK
	}
	if ack.Duplicate {
		// The first copy's result may be stored already: look from the start.
		results.Stop()
		all, err := s.resultsFrom(ctx, subjects, jetstream.DeliverAllPolicy)
		if err != nil {
			return fail(err)
		}
		results = all
	}
	return out.await(results)
}
