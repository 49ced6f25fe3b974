package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

const endHelp = `Usage: roomctl end ROOM_ID [flags]

Publishes a room.end CloudEvent for ROOM_ID (data {"room_id": ROOM_ID}) on
END_SUBJECT in JetStream, in binary mode (or structured with -structured),
with the event id as Nats-Msg-Id so that publishing the same id twice
stores it once. roomworker ends the room's live plugNmeet session. Prints
the event id.

ROOM_ID must be a room_id roomworker accepts: 1 to 64 ASCII letters,
digits, '-' or '_', not starting with "user_" nor containing "-FIELD_".

With -wait, roomctl also waits for roomworker's answer to this event (the
room.ended or room.failed whose requestid is the event id) and prints it as
one more line:

  ended ROOM_ID              the live session was ended
  already ended ROOM_ID      plugNmeet had no live session for the room
  failed ROOM_ID: REASON: MESSAGE

or, with -format json, the result event in the JSON event format.

Exit status:
  0  published (with -wait: the room has no live session any more)
  1  with -wait: the result is room.failed
  2  usage, I/O or NATS error (an invalid ROOM_ID included), or no result
     within -timeout
`

func endCommand() command {
	return command{
		name:    "end",
		summary: "end a room's live session (publish a room.end request)",
		run:     runEnd,
	}
}

func runEnd(ctx context.Context, e env, args []string) int {
	const cmd = "end"
	fs := newFlags(cmd)
	id := fs.String("id", "", "event `ID` (default: a fresh UUID); reuse one only to publish the same request again")
	source := fs.String("source", "roomctl", "event `SOURCE`, a URI-reference naming the publisher")
	structured := fs.Bool("structured", false, "publish in structured mode (JSON event format) instead of binary mode")
	wait := fs.Bool("wait", false, "wait for the result and print it")
	timeout := fs.Duration("timeout", 30*time.Second, "with -wait: how long to wait for the result")
	format := fs.String("format", "text", "with -wait: print the result as `text` or json")
	rooms, code, stop := parseInterspersed(fs, cmd, endHelp+"\n"+envHelp, e, args)
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
	roomID := rooms[0]
	opts := []events.RequestOption{events.WithSource(*source)}
	if *id != "" {
		opts = append(opts, events.WithID(*id))
	}
	ev, err := events.NewEndRoomRequest(roomID, opts...)
	if err != nil {
		// An invalid ROOM_ID, -id or -source.
		return usageError(e.stderr, cmd, "%s", printable(strings.TrimPrefix(err.Error(), "events: end-room request: ")))
	}
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "roomctl end: %s\n", printable(err.Error()))
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
		if results, err = s.resultsAfterNow(ctx, s.endResultSubjects()); err != nil {
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
	ack, err := publish(pctx, s.js, s.EndSubject, ev, jetstream.WithExpectStream(s.RequestStream))
	if err != nil {
		return fail(s.requestStreamHint(ctx, err, "END_SUBJECT", s.EndSubject, events.TypeEndRoom))
	}
	fmt.Fprintln(e.stdout, ev.ID())
	if ack.Duplicate {
		fmt.Fprintf(e.stderr, "roomctl end: %s already held an event with id %s; JetStream kept the first one\n", s.RequestStream, printable(ev.ID()))
	}
	if !*wait {
		return exitOK
	}
	if ack.Duplicate {
		// The first copy's result may be stored already: look from the start.
		results.Stop()
		if results, err = s.resultsFrom(ctx, s.endResultSubjects(), jetstream.DeliverAllPolicy); err != nil {
			return fail(err)
		}
	}
	return waitResult(ctx, e, cmd, results, ev, *timeout, func(r *resultEvent) (string, error) {
		if *format == "json" {
			return r.format(*format)
		}
		return endLine(r), nil
	})
}

// endLine is the text line for the result of a room.end request.
func endLine(r *resultEvent) string {
	room := r.roomID()
	if room == "" {
		room = r.ev.Subject()
	}
	room = printable(room)
	switch {
	case r.ev.Type() == events.TypeRoomEnded && r.ended.AlreadyEnded:
		return "already ended " + room
	case r.ev.Type() == events.TypeRoomEnded:
		return "ended " + room
	}
	return fmt.Sprintf("failed %s: %s: %s", room, r.failed.Reason, printable(r.failed.Message))
}

// requestStreamHint explains a publish on a request subject (variable name,
// subject) that no stream took: the request stream is missing, or it is
// there without the subject (a worker that does not handle requests of type
// typ made it).
func (s *session) requestStreamHint(ctx context.Context, err error, name, subject, typ string) error {
	if !errors.Is(err, jetstream.ErrNoStreamResponse) {
		return streamHint(err, s.RequestStream)
	}
	st, serr := s.js.Stream(ctx, s.RequestStream)
	if serr != nil {
		return streamHint(err, s.RequestStream)
	}
	return fmt.Errorf("stream %s does not take %s %s (%v; a roomworker that handles %s adds it when it starts): %w",
		s.RequestStream, name, subject, st.CachedInfo().Config.Subjects, typ, err)
}
