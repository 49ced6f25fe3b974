package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

// resultEvent is a result event read from the events stream.
type resultEvent struct {
	ev        *event.Event
	requestID string
	created   events.RoomCreated   // when ev is room.created
	ended     events.RoomEnded     // when ev is room.ended
	failed    events.RoomFailed    // when ev is room.failed
	scheduled events.RoomScheduled // when ev is room.scheduled
	cancelled events.RoomCancelled // when ev is room.cancelled
	stored    time.Time            // when JetStream stored it
}

// decodeResult reads a result message.
func decodeResult(m jetstream.Msg) (*resultEvent, error) {
	ev, _, err := events.Decode(m.Headers(), m.Data())
	if err != nil {
		return nil, err
	}
	r := &resultEvent{ev: ev}
	r.requestID, _ = ev.Extensions()[events.ExtRequestID].(string)
	if meta, err := m.Metadata(); err == nil {
		r.stored = meta.Timestamp
	}
	switch ev.Type() {
	case events.TypeRoomCreated:
		err = json.Unmarshal(ev.Data(), &r.created)
	case events.TypeRoomEnded:
		err = json.Unmarshal(ev.Data(), &r.ended)
	case events.TypeRoomFailed:
		err = json.Unmarshal(ev.Data(), &r.failed)
	case events.TypeRoomScheduled:
		err = json.Unmarshal(ev.Data(), &r.scheduled)
	case events.TypeRoomCancelled:
		err = json.Unmarshal(ev.Data(), &r.cancelled)
	default:
		return nil, fmt.Errorf("event %s has type %q, not a result", ev.ID(), ev.Type())
	}
	if err != nil {
		return nil, fmt.Errorf("event %s: %s data: %w", ev.ID(), ev.Type(), err)
	}
	return r, nil
}

// answers reports whether r is the result of request ev: its requestid is
// ev's id and its id is the one the worker derives from ev's source and id.
func (r *resultEvent) answers(ev *event.Event) bool {
	return r.requestID == ev.ID() && r.ev.ID() == events.ResultID(events.OriginOf(ev), r.ev.Type())
}

// roomID is the room the result is about ("" when unknown).
func (r *resultEvent) roomID() string {
	switch r.ev.Type() {
	case events.TypeRoomCreated:
		return r.created.RoomID
	case events.TypeRoomEnded:
		return r.ended.RoomID
	case events.TypeRoomScheduled:
		return r.scheduled.RoomID
	case events.TypeRoomCancelled:
		return r.cancelled.RoomID
	}
	return r.failed.RoomID
}

// eventType is the CloudEvents type of the result.
func (r *resultEvent) eventType() string { return r.ev.Type() }

// format renders r as one line: the JSON event format ("json") or words
// ("text").
func (r *resultEvent) format(format string) (string, error) {
	if format == "json" {
		return rawJSON(r.ev)
	}
	var sb strings.Builder
	lineStart(&sb, r.ev, r.stored, r.roomID())
	fmt.Fprintf(&sb, " request=%s", printable(r.requestID))
	switch r.ev.Type() {
	case events.TypeRoomCreated:
		c := r.created
		fmt.Fprintf(&sb, " sid=%s attempts=%d duplicate=%v warnings=%d", printable(c.SID), c.Attempts, c.Duplicate, len(c.Warnings))
		return sb.String(), nil
	case events.TypeRoomEnded:
		fmt.Fprintf(&sb, " already_ended=%v attempts=%d", r.ended.AlreadyEnded, r.ended.Attempts)
		return sb.String(), nil
	case events.TypeRoomScheduled:
		c := r.scheduled
		fmt.Fprintf(&sb, " start=%s create_at=%s", stamp(c.StartTime), stamp(c.CreateAt))
		if c.Replaces != "" {
			fmt.Fprintf(&sb, " replaces=%s", printable(c.Replaces))
		}
		return sb.String(), nil
	case events.TypeRoomCancelled:
		c := r.cancelled
		fmt.Fprintf(&sb, " state=%s", printable(c.State))
		if c.BookingID != "" {
			fmt.Fprintf(&sb, " booking=%s", printable(c.BookingID))
		}
		if c.StartTime != nil {
			fmt.Fprintf(&sb, " start=%s", stamp(*c.StartTime))
		}
		fmt.Fprintf(&sb, ": %s", printable(c.Message))
		return sb.String(), nil
	}
	f := r.failed
	fmt.Fprintf(&sb, " reason=%s attempts=%d", f.Reason, f.Attempts)
	if len(f.Errors) > 0 {
		fmt.Fprintf(&sb, " errors=%d", len(f.Errors))
	}
	fmt.Fprintf(&sb, ": %s", printable(f.Message))
	return sb.String(), nil
}

// stamp renders a time in UTC, RFC 3339, with fractions of a second only
// when it has them.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// rawJSON renders ev in the JSON event format, on one line.
func rawJSON(ev *event.Event) (string, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return "", fmt.Errorf("render event %s: %w", printable(ev.ID()), err)
	}
	return string(b), nil
}

// lineStart writes the start every text line shares: the event time (when
// JetStream stored it if the event has none), the type and the room ("-"
// when unknown).
func lineStart(sb *strings.Builder, ev *event.Event, stored time.Time, room string) {
	at := ev.Time()
	if at.IsZero() {
		at = stored
	}
	if room == "" {
		room = "-"
	}
	fmt.Fprintf(sb, "%s %s room=%s", at.UTC().Format(time.RFC3339), printable(ev.Type()), printable(room))
}

// checkFormat validates a --format value.
func checkFormat(f string) error {
	if f != "json" && f != "text" {
		return fmt.Errorf("-format must be json or text, got %q", f)
	}
	return nil
}
