package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

const watchHelp = `Usage: roomctl watch [-type TYPE]... [-room ROOM_ID] [-format json|text] [-since DURATION] [-n N]

Prints roomworker's events as they arrive, one line each: the results
(room.created, room.ended, room.scheduled, room.cancelled and room.failed,
from EVENTS_STREAM) and the room
lifecycle events (plugnmeet.<event>: plugNmeet's webhooks as roomworker
republishes them, from LIFECYCLE_STREAM). A line is the event in the JSON
event format, or with -format text a line like

  2026-03-02T09:00:00Z room.created room=weekly request=ID sid=SID attempts=1 duplicate=false warnings=0
  2026-03-02T09:07:31Z room.failed room=weekly request=ID reason=retries_exhausted attempts=10: message
  2026-03-02T10:00:05Z room.ended room=weekly request=ID already_ended=false attempts=1
  2026-03-01T17:00:00Z room.scheduled room=weekly request=ID start=2026-03-02T09:00:00Z create_at=2026-03-02T08:50:00Z
  2026-03-01T18:00:00Z room.cancelled room=weekly request=ID state=cancelled booking=ID start=2026-03-02T09:00:00Z: message
  2026-03-02T09:01:12Z plugnmeet.participant_joined room=weekly sid=SID participant=alice id=EV_x
  2026-03-02T10:00:06Z plugnmeet.participant_left room=weekly sid=SID participant=alice reason=CLIENT_INITIATED id=EV_y
  2026-03-02T10:00:06Z plugnmeet.session_ended room=weekly sid=SID reconciled=true id=ID

The time is the event's (a lifecycle event's is plugNmeet's created_at,
whole seconds). A lifecycle line shows, when the delivery has them: sid
(plugNmeet's session), participant (identity), reason (disconnect reason),
track, source, kind, artifact, artifact_id, file_id, record_id,
recorder_msg, file; reconciled=true marks a session_ended roomworker
published itself because plugNmeet no longer had the room; id is the
delivery id. plugNmeet does not guarantee the order of its deliveries.

-type keeps only the given CloudEvents types (repeat it, or separate types
with commas): room.created, room.ended, room.scheduled, room.cancelled,
room.failed, or plugnmeet.<event>
(e.g. plugnmeet.participant_joined). -room keeps only the events of one
room. -since first prints the events stored in that past window, oldest
first across both streams. LIFECYCLE_STREAM is read as soon as it exists
(roomworker creates it when the first webhook arrives). watch runs until
interrupted (exit status 0), or until it has printed -n events.

Exit status:
  0  interrupted, or -n events printed
  2  usage or NATS error
`

func watchCommand() command {
	return command{
		name:    "watch",
		summary: "print results and room lifecycle events as they arrive",
		run:     runWatch,
	}
}

// resultTypes are the result types watch shows.
var resultTypes = []string{events.TypeRoomCreated, events.TypeRoomEnded, events.TypeRoomScheduled, events.TypeRoomCancelled,
	events.TypeRoomFailed}

// typeList is a -type flag: repeatable, each value a comma-separated list.
type typeList []string

func (t *typeList) String() string { return strings.Join(*t, ",") }

func (t *typeList) Set(v string) error {
	for _, typ := range strings.Split(v, ",") {
		typ = strings.TrimSpace(typ)
		switch {
		case typ == "":
			return errors.New("empty type")
		case slices.Contains(resultTypes, typ):
		case strings.HasPrefix(typ, events.TypeLifecyclePrefix) && validEventName(strings.TrimPrefix(typ, events.TypeLifecyclePrefix)):
		default:
			return fmt.Errorf("%q is not a type watch shows (%s or %s<event>)", typ,
				strings.Join(resultTypes, ", "), events.TypeLifecyclePrefix)
		}
		if !slices.Contains(*t, typ) {
			*t = append(*t, typ)
		}
	}
	return nil
}

// takenSubjects keeps of subjects those stream takes, so that watching an
// events stream made by an older roomworker (without the booking results)
// does not fail; when the stream cannot be read, all of them.
func (s *session) takenSubjects(ctx context.Context, stream string, subjects []string) []string {
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		return subjects
	}
	taken := st.CachedInfo().Config.Subjects
	kept := slices.DeleteFunc(slices.Clone(subjects), func(sub string) bool { return !slices.Contains(taken, sub) })
	if len(kept) == 0 {
		return subjects
	}
	return kept
}

// validEventName reports whether name can be a plugNmeet event name in a
// lifecycle type (it is a subject token): lowercase letters, digits and _.
func validEventName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// watched is an event watch prints: a result or a lifecycle event.
type watched interface {
	eventType() string
	roomID() string
	format(format string) (string, error)
}

func runWatch(ctx context.Context, e env, args []string) int {
	const cmd = "watch"
	fs := newFlags(cmd)
	var types typeList
	fs.Var(&types, "type", "print only events of this CloudEvents `TYPE` (repeatable, or comma-separated)")
	room := fs.String("room", "", "print only events for `ROOM_ID`")
	format := fs.String("format", "json", "print events as `json` or text")
	since := fs.Duration("since", 0, "also print events stored within this `DURATION` before now")
	count := fs.Int("n", 0, "exit after printing `N` events (0: run until interrupted)")
	if code, stop := parseFlags(fs, cmd, watchHelp+"\n"+envHelp, e, args); stop {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(e.stderr, cmd, "unexpected argument %q", fs.Arg(0))
	case *since < 0:
		return usageError(e.stderr, cmd, "-since must not be negative")
	case *count < 0:
		return usageError(e.stderr, cmd, "-n must not be negative")
	}
	if err := checkFormat(*format); err != nil {
		return usageError(e.stderr, cmd, "%v", err)
	}
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "roomctl watch: %s\n", printable(err.Error()))
		return exitUsage
	}
	s, err := connect(ctx, e.getenv)
	if err != nil {
		return fail(err)
	}
	defer s.close()

	// Each stream is read only for the subjects the -type filter needs.
	var resultSubjects, lifecycleSubjects []string
	for _, t := range types {
		if name, ok := strings.CutPrefix(t, events.TypeLifecyclePrefix); ok {
			lifecycleSubjects = append(lifecycleSubjects, s.lifecycleSubject(name))
		} else {
			resultSubjects = append(resultSubjects, s.resultSubject(t))
		}
	}
	if len(types) == 0 {
		for _, t := range resultTypes {
			resultSubjects = append(resultSubjects, s.resultSubject(t))
		}
		resultSubjects = s.takenSubjects(ctx, s.EventsStream, resultSubjects)
		lifecycleSubjects = []string{s.lifecycleSubject(">")}
	}
	var start time.Time
	if *since > 0 {
		start = time.Now().Add(-*since)
	}

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var feeds []*feed
	if len(resultSubjects) > 0 {
		// The events stream must exist: the worker creates it when it starts.
		f, err := openFeed(wctx, s, s.EventsStream, resultSubjects, start, func(m jetstream.Msg) (watched, error) {
			return decodeResult(m)
		})
		if err != nil {
			return fail(err)
		}
		feeds = append(feeds, f)
	}
	if len(lifecycleSubjects) > 0 {
		// The lifecycle stream may come later, with the first webhook.
		feeds = append(feeds, awaitFeed(wctx, s, s.LifecycleStream, lifecycleSubjects, start, func(m jetstream.Msg) (watched, error) {
			return decodeLifecycle(m)
		}))
	}

	printed := 0
	err = merge(wctx, feeds, func(it item) (bool, error) {
		if it.err != nil {
			fmt.Fprintf(e.stderr, "roomctl watch: skipping a message on %s: %s\n", printable(it.subject), printable(it.err.Error()))
			return false, nil
		}
		w := it.w
		if len(types) > 0 && !slices.Contains(types, w.eventType()) {
			return false, nil
		}
		if *room != "" && w.roomID() != *room {
			return false, nil
		}
		line, err := w.format(*format)
		if err != nil {
			return true, err
		}
		if _, err := fmt.Fprintln(e.stdout, line); err != nil {
			return true, err
		}
		printed++
		return *count > 0 && printed >= *count, nil
	})
	cancel()
	for _, f := range feeds {
		<-f.done
	}
	if err != nil && ctx.Err() == nil {
		return fail(err)
	}
	return exitOK
}
