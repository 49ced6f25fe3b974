package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

Booking ahead: -at TIME (or -start TIME) sets the meeting's start time, the
event's starttime extension. TIME is an RFC 3339 time (2026-03-02T09:00:00Z)
or a duration from now (+10m, +2h). A start further away than roomworker's
CREATE_LEAD is validated at once and booked: roomworker answers
room.scheduled (with create_at, when it will create the room) and creates
the room at create_at, answering room.created with the same requestid. A
nearer or past start creates the room at once. Publishing again for the
same room replaces its pending booking; "roomctl schedules" lists the
pending bookings and "roomctl cancel ROOM_ID" removes one.

With -at and -wait, roomctl waits for the first answer (room.scheduled, or
room.created/room.failed when the room is created at once) and prints it;
with -wait-created it then goes on waiting for the room.created or
room.failed, until create_at plus -timeout, and prints it too.

Exit status:
  0  published (with -wait: the room was created, or with -at booked; with
     -wait-created: booked and then created)
  1  the request is invalid and was not published (with -wait: also when
     the result is room.failed)
  2  usage, I/O or NATS error, or no result within -timeout (with
     -wait-created: no room.created by create_at plus -timeout)
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
	f := addRequestFlags(fs, "json")
	noValidate := fs.Bool("no-validate", false, "publish even if the request fails the schema")
	maxBytes := fs.Int64("max-bytes", defaultMaxBytes, "refuse requests larger than `N` bytes")
	start := &startFlag{now: time.Now}
	fs.Var(start, "at", "book the room for a meeting starting at `TIME` (RFC 3339, or a duration from now like +10m)")
	fs.Var(start, "start", "the same as -at `TIME`")
	waitCreated := fs.Bool("wait-created", false, "with -at: after room.scheduled, also wait for the room.created (implies -wait)")
	if code, stop := parseFlags(fs, cmd, publishHelp+"\n"+envHelp, e, args); stop {
		return code
	}
	if *waitCreated {
		f.wait = true
	}
	var maxBytesErr error
	if *maxBytes <= 0 {
		maxBytesErr = fmt.Errorf("-max-bytes must be positive, got %d", *maxBytes)
	}
	if err := f.check(fs.Args(), "FILE", maxBytesErr); err != nil {
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
	opts := f.options()
	if start.set {
		opts = append(opts, events.WithStartTime(start.t))
	}
	ev, err := events.NewCreateRoomRequest(data, opts...)
	if err != nil {
		fmt.Fprintf(e.stderr, "roomctl publish: not published: %s\n", printable(err.Error()))
		return exitFailure
	}

	render := func(r *resultEvent) (string, error) { return r.format(f.format) }
	return send(ctx, e, outgoing{
		cmd:     cmd,
		ev:      ev,
		flags:   f,
		subject: func(s *session) string { return s.RequestSubject },
		results: func(s *session) []string {
			if start.set {
				return s.bookingResultSubjects()
			}
			return s.resultSubjects()
		},
		hint: func(_ context.Context, s *session, err error) error { return streamHint(err, s.RequestStream) },
		await: func(results jetstream.MessagesContext) int {
			if !start.set {
				return waitResult(ctx, e, cmd, results, ev, f.timeout, render)
			}
			r, code := awaitAnswer(ctx, e, cmd, results, ev, time.Now().Add(f.timeout), "result", "within "+f.timeout.String(), render)
			if r == nil || r.ev.Type() != events.TypeRoomScheduled || !*waitCreated {
				return code
			}
			// The room is created at create_at: wait for it, and -timeout more.
			until := r.scheduled.CreateAt.Add(f.timeout)
			_, code = awaitAnswer(ctx, e, cmd, results, ev, until, "room.created",
				fmt.Sprintf("by %s (create_at + %s; was the booking replaced or cancelled? \"roomctl schedules\" lists pending bookings)",
					stamp(until), f.timeout), render)
			return code
		},
	})
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
	_, code := awaitAnswer(ctx, e, cmd, results, ev, time.Now().Add(timeout), "result", "within "+timeout.String(), render)
	return code
}

// awaitAnswer waits until deadline for the next result answering request ev
// and prints it, rendered by render; what ("result", "room.created") and
// within ("within 30s") word the message when none comes. It returns the
// result, or nil, and the exit status: 0 for an answer that is not
// room.failed, 1 for room.failed, 2 when no result came or reading failed.
func awaitAnswer(ctx context.Context, e env, cmd string, results jetstream.MessagesContext, ev *event.Event, deadline time.Time,
	what, within string, render func(*resultEvent) (string, error)) (*resultEvent, int) {
	wctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var got *resultEvent
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
		got = r
		return true, nil
	})
	switch {
	case err != nil:
		fmt.Fprintf(e.stderr, "roomctl %s: %v\n", cmd, err)
		return nil, exitUsage
	case got != nil && got.ev.Type() == events.TypeRoomFailed:
		return got, exitFailure
	case got != nil:
		return got, exitOK
	case ctx.Err() != nil:
		fmt.Fprintf(e.stderr, "roomctl %s: interrupted while waiting for the %s\n", cmd, what)
	default:
		fmt.Fprintf(e.stderr, "roomctl %s: no %s for %s %s (is roomworker running? \"roomctl watch\" shows results as they come)\n",
			cmd, what, printable(ev.ID()), within)
	}
	return nil, exitUsage
}

// startFlag is the -at/-start flag: the meeting's start time, given as an
// RFC 3339 time or as a duration from now ("+10m").
type startFlag struct {
	t   time.Time
	set bool
	now func() time.Time
}

func (f *startFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *startFlag) Set(v string) error {
	t, err := parseStart(v, f.now())
	if err != nil {
		return err
	}
	f.t, f.set = t, true
	return nil
}

// parseStart reads a start TIME: RFC 3339, or a duration from now with an
// optional "+" ("+10m", "1h30m").
func parseStart(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(strings.TrimPrefix(v, "+"))
	switch {
	case err != nil:
		return time.Time{}, fmt.Errorf("TIME %q is neither an RFC 3339 time (2026-03-02T09:00:00Z) nor a duration from now (+10m)", v)
	case d < 0:
		return time.Time{}, fmt.Errorf("TIME %q lies in the past: give a duration from now such as +10m", v)
	}
	return now.Add(d), nil
}
