package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/schema"
)

const publishHelp = `Usage: roomctl publish [flags] FILE|-

Wraps a create-room request (FILE, or standard input for "-") in a room.create
CloudEvent and stores it in JetStream on REQUEST_SUBJECT, in binary mode (or
structured with -structured), with the event id as Nats-Msg-Id so that
publishing the same id twice stores it once. Prints the event id.

The request is checked against the schema first, as roomctl validate does;
an invalid one is not published: its problems go to standard error as
"FILE: /json/pointer: message" lines and the exit status is 1. -no-validate
sends it anyway (roomworker then answers room.failed, reason invalid_request).

With -wait, roomctl also waits for roomworker's result for this event (the
room.created or room.failed whose requestid is the event id) and prints it
as one more line: the result event in the JSON event format, or a readable
line with -format text.

Exit status:
  0  published (with -wait: the room was created)
  1  the request is invalid and was not published (with -wait: also when
     the result is room.failed)
  2  usage, I/O or NATS error, or no result within -timeout
`

func publishCommand() command {
	return command{
		name:    "publish",
		summary: "publish a create-room request as a room.create CloudEvent",
		run:     runPublish,
	}
}

func runPublish(ctx context.Context, e env, args []string) int {
	const cmd = "publish"
	fs := newFlags(cmd)
	id := fs.String("id", "", "event `ID` (default: a fresh UUID); reuse one only to publish the same request again")
	source := fs.String("source", "roomctl", "event `SOURCE`, a URI-reference naming the publisher")
	structured := fs.Bool("structured", false, "publish in structured mode (JSON event format) instead of binary mode")
	noValidate := fs.Bool("no-validate", false, "publish even if the request fails the schema")
	wait := fs.Bool("wait", false, "wait for the result and print it")
	timeout := fs.Duration("timeout", 30*time.Second, "with -wait: how long to wait for the result")
	format := fs.String("format", "json", "with -wait: print the result as `json` or text")
	maxBytes := fs.Int64("max-bytes", defaultMaxBytes, "refuse requests larger than `N` bytes")
	if code, stop := parseFlags(fs, cmd, publishHelp+"\n"+envHelp, e, args); stop {
		return code
	}
	switch {
	case fs.NArg() == 0:
		return usageError(e.stderr, cmd, "no FILE given")
	case fs.NArg() > 1:
		return usageError(e.stderr, cmd, "one FILE at a time, got %d", fs.NArg())
	case *timeout <= 0:
		return usageError(e.stderr, cmd, "-timeout must be positive")
	case *maxBytes <= 0:
		return usageError(e.stderr, cmd, "-max-bytes must be positive, got %d", *maxBytes)
	}
	if err := checkFormat(*format); err != nil {
		return usageError(e.stderr, cmd, "%v", err)
	}
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "roomctl publish: %s\n", printable(err.Error()))
		return exitUsage
	}

	name := fs.Arg(0)
	shown := printable(name)
	data, tooLarge, err := readLimited(name, e.stdin, *maxBytes)
	if err != nil {
		return fail(err)
	}
	if tooLarge {
		fmt.Fprintf(e.stderr, "%s: (root): is larger than %d bytes (the -max-bytes limit)\n", shown, *maxBytes)
		fmt.Fprintln(e.stderr, "roomctl publish: not published")
		return exitFailure
	}
	if !*noValidate {
		var verr *schema.Error
		switch err := schema.Validate(data); {
		case errors.As(err, &verr):
			for _, fe := range verr.Errors {
				fmt.Fprintf(e.stderr, "%s: %s\n", shown, printable(fe.String()))
			}
			fmt.Fprintf(e.stderr, "roomctl publish: not published: %s is not a valid create-room request (-no-validate sends it anyway)\n", shown)
			return exitFailure
		case err != nil:
			return fail(err)
		}
	}
	opts := []events.RequestOption{events.WithSource(*source)}
	if *id != "" {
		opts = append(opts, events.WithID(*id))
	}
	ev, err := events.NewCreateRoomRequest(data, opts...)
	if err != nil {
		fmt.Fprintf(e.stderr, "roomctl publish: not published: %s\n", printable(err.Error()))
		return exitFailure
	}

	s, err := connect(ctx, e.getenv)
	if err != nil {
		return fail(err)
	}
	defer s.close()

	// Results are read from the end of the events stream as it is before
	// publishing, so a fast worker's answer cannot be missed.
	var results jetstream.MessagesContext
	if *wait {
		if results, err = s.resultsAfterNow(ctx, s.resultSubjects()); err != nil {
			return fail(err)
		}
		defer func() { results.Stop() }()
	}

	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	publish := events.Publish
	if *structured {
		publish = events.PublishStructured
	}
	ack, err := publish(pctx, s.js, s.RequestSubject, ev, jetstream.WithExpectStream(s.RequestStream))
	if err != nil {
		return fail(streamHint(err, s.RequestStream))
	}
	fmt.Fprintln(e.stdout, ev.ID())
	if ack.Duplicate {
		fmt.Fprintf(e.stderr, "roomctl publish: %s already held an event with id %s; JetStream kept the first one\n", s.RequestStream, printable(ev.ID()))
	}
	if !*wait {
		return exitOK
	}
	if ack.Duplicate {
		// The first copy's result may be stored already: look from the start.
		results.Stop()
		if results, err = s.resultsFrom(ctx, s.resultSubjects(), jetstream.DeliverAllPolicy); err != nil {
			return fail(err)
		}
	}
	return waitResult(ctx, e, cmd, results, ev, *timeout, func(r *resultEvent) (string, error) { return r.format(*format) })
}

// resultsAfterNow starts reading the results on subjects stored after this
// call.
func (s *session) resultsAfterNow(ctx context.Context, subjects []string) (jetstream.MessagesContext, error) {
	return s.resultsFrom(ctx, subjects, jetstream.DeliverNewPolicy)
}

// resultsFrom starts reading the results on subjects in the events stream
// with policy DeliverAll or DeliverNew.
func (s *session) resultsFrom(ctx context.Context, subjects []string, policy jetstream.DeliverPolicy) (jetstream.MessagesContext, error) {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: subjects, DeliverPolicy: policy}
	if policy == jetstream.DeliverNewPolicy {
		// DeliverNew would start wherever the stream is when the consumer
		// is created on the server, which happens lazily: pin the position.
		stream, err := s.js.Stream(ctx, s.EventsStream)
		if err != nil {
			return nil, streamHint(err, s.EventsStream)
		}
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = stream.CachedInfo().State.LastSeq + 1
	}
	cons, err := s.js.OrderedConsumer(ctx, s.EventsStream, cfg)
	if err != nil {
		return nil, streamHint(err, s.EventsStream)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.EventsStream, err)
	}
	return it, nil
}

// waitResult prints the result of request ev, rendered by render, when it
// arrives; cmd names the command in messages. The exit status is 0 for a
// success, 1 for room.failed, 2 when no result came.
func waitResult(ctx context.Context, e env, cmd string, results jetstream.MessagesContext, ev *event.Event, timeout time.Duration,
	render func(*resultEvent) (string, error)) int {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	code := exitUsage
	err := drain(wctx, results, func(m jetstream.Msg) (bool, error) {
		r, err := decodeResult(m)
		if err != nil || !r.answers(ev) {
			return false, nil // someone else's result, or not one roomctl can read
		}
		line, err := render(r)
		if err != nil {
			return true, err
		}
		fmt.Fprintln(e.stdout, line)
		code = exitOK
		if r.ev.Type() == events.TypeRoomFailed {
			code = exitFailure
		}
		return true, nil
	})
	switch {
	case err != nil:
		fmt.Fprintf(e.stderr, "roomctl %s: %v\n", cmd, err)
		return exitUsage
	case code != exitUsage:
		return code
	case ctx.Err() != nil:
		fmt.Fprintf(e.stderr, "roomctl %s: interrupted while waiting for the result\n", cmd)
	default:
		fmt.Fprintf(e.stderr, "roomctl %s: no result for %s within %s (is roomworker running? \"roomctl watch\" shows results as they come)\n",
			cmd, printable(ev.ID()), timeout)
	}
	return exitUsage
}
