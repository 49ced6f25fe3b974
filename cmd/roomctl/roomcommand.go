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
)

// roomCommand describes a command that publishes a request about one room
// ("roomctl end ROOM_ID") and, with -wait, prints roomworker's answer.
type roomCommand struct {
	name    string
	summary string // one line, shown by roomctl --help
	help    string // --help without the environment section
	// subjectVar is the variable naming the subject the requests are
	// published on, subject its value.
	subjectVar string
	subject    func(*session) string
	eventType  string // the requests' CloudEvents type
	// newRequest builds the request for a room; errPrefix, which starts
	// its errors, is left out of usage messages.
	newRequest func(roomID string, opts ...events.RequestOption) (*event.Event, error)
	errPrefix  string
	results    func(*session) []string // the subjects the answers are stored under
	line       func(*resultEvent) string
	// refused reports whether an answer that is not room.failed still
	// says nothing was done (exit status 1); nil for none.
	refused func(*resultEvent) bool
}

// command is c as a roomctl subcommand.
func (c roomCommand) command() command {
	return command{name: c.name, summary: c.summary, run: c.run}
}

func (c roomCommand) run(ctx context.Context, e env, args []string) int {
	fs := newFlags(c.name)
	f := addRequestFlags(fs, "text")
	rooms, code, stop := parseInterspersed(fs, c.name, c.help+"\n"+envHelp, e, args)
	if stop {
		return code
	}
	if err := f.check(rooms, "ROOM_ID"); err != nil {
		return usageError(e.stderr, c.name, "%v", err)
	}
	ev, err := c.newRequest(rooms[0], f.options()...)
	if err != nil {
		// An invalid ROOM_ID, -id or -source.
		return usageError(e.stderr, c.name, "%s", printable(strings.TrimPrefix(err.Error(), c.errPrefix)))
	}
	render := func(r *resultEvent) (string, error) {
		if f.format == "json" {
			return r.format(f.format)
		}
		return c.line(r), nil
	}
	return send(ctx, e, outgoing{
		cmd:     c.name,
		ev:      ev,
		flags:   f,
		subject: c.subject,
		results: c.results,
		hint: func(ctx context.Context, s *session, err error) error {
			return s.requestStreamHint(ctx, err, c.subjectVar, c.subject(s), c.eventType)
		},
		await: func(results jetstream.MessagesContext) int {
			r, code := awaitAnswer(ctx, e, c.name, results, ev, time.Now().Add(f.timeout), "result", "within "+f.timeout.String(), render)
			if r != nil && c.refused != nil && c.refused(r) {
				return exitFailure
			}
			return code
		},
	})
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
