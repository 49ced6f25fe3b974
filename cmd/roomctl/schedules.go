package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

const schedulesHelp = `Usage: roomctl schedules [-room ROOM_ID] [-format text|json]

Lists the pending bookings: the room.create requests published with a
starttime further away than CREATE_LEAD, which roomworker keeps as JetStream
message schedules on SCHEDULE_SUBJECT_PREFIX.<room_id> in REQUEST_STREAM
until their creation time. One booking per room; soonest first. With
-format text (the default) a table:

  ROOM         CREATE_AT             START                 REQUEST
  weekly-sync  2026-03-02T08:50:00Z  2026-03-02T09:00:00Z  3f1c...

with -format json one object per line:

  {"room_id":"weekly-sync","create_at":"...","start_time":"...","request_id":"3f1c...","source":"roomctl"}

CREATE_AT is when roomworker creates the room: the schedule's own time
(its Nats-Schedule header), or START minus CREATE_LEAD as configured here.
A booking leaves the list when it fires (the room is then being created),
when a new booking for the room replaces it, and when "roomctl cancel"
removes it.

Exit status:
  0  listed (also when there is none)
  2  usage or NATS error
`

func schedulesCommand() command {
	return command{
		name:    "schedules",
		summary: "list pending bookings (room.create requests with a future starttime)",
		run:     runSchedules,
	}
}

// booking is one pending booking as schedules prints it.
type booking struct {
	RoomID    string    `json:"room_id"`
	CreateAt  time.Time `json:"create_at"`
	StartTime time.Time `json:"start_time"`
	RequestID string    `json:"request_id"`
	Source    string    `json:"source"`
}

func runSchedules(ctx context.Context, e env, args []string) int {
	const cmd = "schedules"
	fs := newFlags(cmd)
	room := fs.String("room", "", "list only the booking of `ROOM_ID`")
	format := fs.String("format", "text", "print a `text` table or json lines")
	if code, stop := parseFlags(fs, cmd, schedulesHelp+"\n"+envHelp, e, args); stop {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(e.stderr, cmd, "unexpected argument %q", fs.Arg(0))
	case strings.ContainsAny(*room, " \t.*>"):
		return usageError(e.stderr, cmd, "-room %q is not a room_id", printable(*room))
	}
	if err := checkFormat(*format); err != nil {
		return usageError(e.stderr, cmd, "%v", err)
	}
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "roomctl schedules: %s\n", printable(err.Error()))
		return exitUsage
	}
	s, err := connect(ctx, e.getenv)
	if err != nil {
		return fail(err)
	}
	defer s.close()
	list, err := s.bookings(ctx, *room, func(subject string, err error) {
		fmt.Fprintf(e.stderr, "roomctl schedules: skipping the message on %s: %s\n", printable(subject), printable(err.Error()))
	})
	if err != nil {
		return fail(err)
	}
	if *format == "json" {
		for _, b := range list {
			line, err := json.Marshal(b)
			if err != nil {
				return fail(err)
			}
			fmt.Fprintln(e.stdout, string(line))
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tCREATE_AT\tSTART\tREQUEST")
	for _, b := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", printable(b.RoomID), stamp(b.CreateAt), stamp(b.StartTime), printable(b.RequestID))
	}
	if err := tw.Flush(); err != nil {
		return fail(err)
	}
	return exitOK
}

// bookings reads the pending bookings (of room only, unless it is ""),
// soonest first; skip hears of a message that is no booking roomctl can read.
func (s *session) bookings(ctx context.Context, room string, skip func(subject string, err error)) ([]booking, error) {
	filter := s.scheduleSubject(">")
	if room != "" {
		filter = s.scheduleSubject(room)
	}
	st, err := s.js.Stream(ctx, s.RequestStream)
	if err != nil {
		return nil, streamHint(err, s.RequestStream)
	}
	// Counting first keeps a stream that does not take the schedule subjects (a worker on a
	// server without message schedules) from failing the read: it has no bookings.
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s.RequestStream, err)
	}
	if len(info.State.Subjects) == 0 {
		return nil, nil
	}
	// The stream is a work queue: a consumer that acked would delete the bookings, so they
	// are read with message gets, each the next one on the schedule subjects.
	var list []booking
	for seq := info.State.FirstSeq; ; {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(filter))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", s.RequestStream, err)
		}
		seq = m.Sequence + 1
		b, err := s.readBooking(m)
		if err != nil {
			skip(m.Subject, err)
			continue
		}
		list = append(list, b)
	}
	slices.SortFunc(list, func(a, b booking) int {
		return cmp.Or(a.CreateAt.Compare(b.CreateAt), cmp.Compare(a.RoomID, b.RoomID))
	})
	return list, nil
}

// readBooking decodes a schedule message: the room.create request as it
// arrived, with the schedule's time in its Nats-Schedule header.
func (s *session) readBooking(m *jetstream.RawStreamMsg) (booking, error) {
	ev, _, err := events.Decode(m.Header, m.Data)
	if err != nil {
		return booking{}, err
	}
	start, ok, err := events.StartTime(ev)
	switch {
	case err != nil:
		return booking{}, err
	case !ok:
		return booking{}, fmt.Errorf("request %s has no %s", ev.ID(), events.ExtStartTime)
	}
	b := booking{RoomID: strings.TrimPrefix(m.Subject, s.SchedulePrefix+"."), StartTime: start.UTC(),
		CreateAt: start.Add(-s.CreateLead).UTC(), RequestID: ev.ID(), Source: ev.Source()}
	if at, ok := strings.CutPrefix(m.Header.Get("Nats-Schedule"), "@at "); ok {
		if t, err := time.Parse(time.RFC3339Nano, at); err == nil {
			b.CreateAt = t.UTC()
		}
	}
	return b, nil
}
