package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

const cancelHelp = `Usage: roomctl cancel ROOM_ID [flags]

Publishes a room.cancel CloudEvent for ROOM_ID (data {"room_id": ROOM_ID})
on CANCEL_SUBJECT in JetStream, in binary mode (or structured with
-structured), with the event id as Nats-Msg-Id so that publishing the same
id twice stores it once. roomworker removes the room's pending booking (a
room.create published with a starttime, see "roomctl publish -at"), so the
room is not created. Prints the event id.

ROOM_ID must be a room_id roomworker accepts: 1 to 64 ASCII letters,
digits, '-' or '_', not starting with "user_" nor containing "-FIELD_".

With -wait, roomctl also waits for roomworker's answer to this event (the
room.cancelled or room.failed whose requestid is the event id) and prints
it as one more line:

  cancelled ROOM_ID booking=ID start=TIME       the pending booking was removed
  not cancelled ROOM_ID: created: MESSAGE       no booking pending: the room was created
  not cancelled ROOM_ID: never_scheduled: MESSAGE
                                                no booking pending, and no record of one
  failed ROOM_ID: REASON: MESSAGE

or, with -format json, the result event in the JSON event format. A room
that was already created is not ended by room.cancel: "roomctl end" does.

Exit status:
  0  published (with -wait: the booking was cancelled)
  1  with -wait: nothing was cancelled (the room was created, or was never
     booked), or the result is room.failed
  2  usage, I/O or NATS error (an invalid ROOM_ID included), or no result
     within -timeout
`

func cancelCommand() command {
	return command{
		name:    "cancel",
		summary: "cancel a room's pending booking (publish a room.cancel request)",
		run:     runCancel,
	}
}

func runCancel(ctx context.Context, e env, args []string) int {
	const cmd = "cancel"
	fs := newFlags(cmd)
	id := fs.String("id", "", "event `ID` (default: a fresh UUID); reuse one only to publish the same request again")
	source := fs.String("source", "roomctl", "event `SOURCE`, a URI-reference naming the publisher")
	structured := fs.Bool("structured", false, "publish in structured mode (JSON event format) instead of binary mode")
	wait := fs.Bool("wait", false, "wait for the result and print it")
	timeout := fs.Duration("timeout", 30*time.Second, "with -wait: how long to wait for the result")
	format := fs.String("format", "text", "with -wait: print the result as `text` or json")
	rooms, code, stop := parseInterspersed(fs, cmd, cancelHelp+"\n"+envHelp, e, args)
	if stop {
		return code
	}
	switch {
	case len(rooms) == 0:
		return usageError(e.stderr, cmd, "no ROOM_ID given")
	case len(rooms) > 1:
		return usageError(e.stderr, cmd, "one ROOM_ID at a time, got %d", len(rooms))
	case *timeout <= 0:
		return usageError(e.stderr, cmd, "-timeout must be positive")
	}
	if err := checkFormat(*format); err != nil {
		return usageError(e.stderr, cmd, "%v", err)
	}
	opts := []events.RequestOption{events.WithSource(*source)}
	if *id != "" {
		opts = append(opts, events.WithID(*id))
	}
	ev, err := events.NewCancelRoomRequest(rooms[0], opts...)
	if err != nil {
		// An invalid ROOM_ID, -id or -source.
		return usageError(e.stderr, cmd, "%s", printable(strings.TrimPrefix(err.Error(), "events: cancel-room request: ")))
	}
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "roomctl cancel: %s\n", printable(err.Error()))
		return exitUsage
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
		if results, err = s.resultsAfterNow(ctx, s.cancelResultSubjects()); err != nil {
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
	ack, err := publish(pctx, s.js, s.CancelSubject, ev, jetstream.WithExpectStream(s.RequestStream))
	if err != nil {
		return fail(s.requestStreamHint(ctx, err, "CANCEL_SUBJECT", s.CancelSubject, events.TypeCancelRoom))
	}
	fmt.Fprintln(e.stdout, ev.ID())
	if ack.Duplicate {
		fmt.Fprintf(e.stderr, "roomctl cancel: %s already held an event with id %s; JetStream kept the first one\n", s.RequestStream, printable(ev.ID()))
	}
	if !*wait {
		return exitOK
	}
	if ack.Duplicate {
		// The first copy's result may be stored already: look from the start.
		results.Stop()
		if results, err = s.resultsFrom(ctx, s.cancelResultSubjects(), jetstream.DeliverAllPolicy); err != nil {
			return fail(err)
		}
	}
	r, code := awaitAnswer(ctx, e, cmd, results, ev, time.Now().Add(*timeout), "result", "within "+timeout.String(),
		func(r *resultEvent) (string, error) {
			if *format == "json" {
				return r.format(*format)
			}
			return cancelLine(r), nil
		})
	if r != nil && r.ev.Type() == events.TypeRoomCancelled && !r.cancelled.Cancelled {
		return exitFailure
	}
	return code
}

// cancelLine is the text line for the result of a room.cancel request.
func cancelLine(r *resultEvent) string {
	room := r.roomID()
	if room == "" {
		room = r.ev.Subject()
	}
	room = printable(room)
	if r.ev.Type() != events.TypeRoomCancelled {
		return fmt.Sprintf("failed %s: %s: %s", room, r.failed.Reason, printable(r.failed.Message))
	}
	c := r.cancelled
	if !c.Cancelled {
		return fmt.Sprintf("not cancelled %s: %s: %s", room, printable(c.State), printable(c.Message))
	}
	line := "cancelled " + room
	if c.BookingID != "" {
		line += " booking=" + printable(c.BookingID)
	}
	if c.StartTime != nil {
		line += " start=" + stamp(*c.StartTime)
	}
	return line
}
