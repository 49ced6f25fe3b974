package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

// Bookings. A room.create whose starttime is further than CREATE_LEAD away is validated at once
// and then stored, as it arrived, as a JetStream message schedule on
// SCHEDULE_SUBJECT_PREFIX.<room_id> (one per room: a new booking replaces the pending one) that
// fires onto REQUEST_SUBJECT at starttime - CREATE_LEAD. The fired message is the same request
// (same id and source), now due, and is created like any other: lease, record, one result.
// room.cancel purges the pending schedule. Schedules need nats-server 2.12 or later.

// Headers of JetStream message schedules (ADR-51).
const (
	scheduleHeader       = "Nats-Schedule"
	scheduleTargetHeader = "Nats-Schedule-Target"
	schedulerHeader      = "Nats-Scheduler" // set on a message a schedule fired
)

// dueTolerance is how far in the future a creation time may be and still count as due: a
// schedule fires a few milliseconds early or late, and must never be booked again.
const dueTolerance = time.Second

// supportsSchedules reports whether a nats-server version ("2.15.2") has message schedules.
func supportsSchedules(version string) bool {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > 2 || major == 2 && minor >= 12
}

// scheduleSubject is where a room's pending booking is stored.
func (w *Worker) scheduleSubject(roomID string) string {
	return w.cfg.ScheduleSubjectPrefix + "." + roomID
}

// createAt is when a meeting starting at start is created.
func (w *Worker) createAt(start time.Time) time.Time { return start.Add(-w.cfg.CreateLead) }

// pendingBooking returns the room's pending booking (the schedule message), or nil.
func (w *Worker) pendingBooking(ctx context.Context, roomID string) (*jetstream.RawStreamMsg, error) {
	s, err := w.js.Stream(ctx, w.cfg.RequestStream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", w.cfg.RequestStream, err)
	}
	m, err := s.GetLastMsgForSubject(ctx, w.scheduleSubject(roomID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the pending booking of %s: %w", roomID, err)
	}
	return m, nil
}

// book is the verdict for a valid room.create that is not due yet: store it as a schedule and
// answer room.scheduled.
func (w *Worker) book(ctx context.Context, d *delivery, start time.Time) verdict {
	req := d.req
	if !w.schedules.Load() {
		return failure(req.roomID, events.RoomFailed{
			Reason: events.ReasonInvalidRequest,
			Message: fmt.Sprintf("the request's starttime %s is more than CREATE_LEAD (%s) away, but the NATS server (%s) has no "+
				"message schedules (nats-server 2.12 or later): bookings cannot be stored; publish the request at the time to create it",
				start.UTC().Format(time.RFC3339), w.cfg.CreateLead, w.serverVersion()),
			Errors: []events.FieldError{{Path: "/" + events.ExtStartTime, Message: "a future start needs nats-server 2.12 or later"}},
		})
	}
	pending, err := w.pendingBooking(d.ops, req.roomID)
	if err != nil {
		return natsTrouble(err)
	}
	at := w.createAt(start)
	data := events.RoomScheduled{RoomID: req.roomID, StartTime: start.UTC(), CreateAt: at.UTC()}
	if pending != nil {
		if ev, _, err := events.Decode(pending.Header, pending.Data); err == nil &&
			requestKey(ev.Source(), ev.ID()) != req.key {
			data.Replaces = ev.ID()
		}
	}
	body, err := events.Marshal(data)
	if err != nil {
		return natsTrouble(err)
	}
	h := nats.Header{}
	for k, vs := range d.msg.Headers() {
		if k == jetstream.MsgIDHeader || k == schedulerHeader || strings.HasPrefix(k, "Nats-Schedule") {
			continue
		}
		h[k] = vs
	}
	h.Set(scheduleHeader, "@at "+at.UTC().Format(time.RFC3339Nano))
	h.Set(scheduleTargetHeader, w.cfg.RequestSubject)
	return verdict{
		result: &result{typ: events.TypeRoomScheduled, roomID: req.roomID, label: "scheduled", data: body,
			message: "create at " + at.UTC().Format(time.RFC3339)},
		end:      ending{act: actAck},
		why:      "scheduled",
		schedule: &nats.Msg{Subject: w.scheduleSubject(req.roomID), Header: h, Data: d.msg.Data()},
	}
}

// cancelBooking is the verdict for a room.cancel: remove the room's pending booking, or say
// why there is none.
func (w *Worker) cancelBooking(d *delivery) verdict {
	room := d.req.roomID
	pending, err := w.pendingBooking(d.ops, room)
	if err != nil {
		return natsTrouble(err)
	}
	c := events.RoomCancelled{RoomID: room}
	var purge string
	if pending != nil {
		c.State, c.Cancelled = events.CancelCancelled, true
		c.Message = "the pending booking was removed: the room will not be created"
		if ev, _, err := events.Decode(pending.Header, pending.Data); err == nil {
			c.BookingID = ev.ID()
			if start, ok, err := events.StartTime(ev); ok && err == nil {
				c.StartTime = &start
			}
		}
		purge = w.scheduleSubject(room)
	} else {
		if rec := d.lease.record(); rec != nil && rec.SID != "" {
			c.State = events.CancelCreated
			c.Message = fmt.Sprintf("no booking is pending for %s: the room was already created (session %s, by request %s), "+
				"or is being created right now; publish room.end to end a live room", room, rec.SID, rec.RequestID)
		} else {
			c.State = events.CancelNeverScheduled
			c.Message = fmt.Sprintf("no booking is pending for %s, and roomworker has no record of creating it "+
				"(never scheduled, or created longer ago than IDEMPOTENCY_WINDOW); room.end ends a live room", room)
		}
	}
	body, err := events.Marshal(c)
	if err != nil {
		return natsTrouble(err)
	}
	return verdict{
		result:  &result{typ: events.TypeRoomCancelled, roomID: room, label: c.State, data: body, message: c.Message},
		end:     ending{act: actAck},
		why:     c.State,
		outcome: true,
		purge:   purge,
	}
}

// carryOutBooking stores or removes the schedule a verdict names, before its result is published.
func (w *Worker) carryOutBooking(d *delivery, v verdict) error {
	ctx, cancel := context.WithTimeout(d.ops, 10*time.Second)
	defer cancel()
	if v.schedule != nil {
		if _, err := w.js.PublishMsg(ctx, v.schedule); err != nil {
			return fmt.Errorf("store the booking on %s: %w", v.schedule.Subject, err)
		}
	}
	if v.purge != "" {
		s, err := w.js.Stream(ctx, w.cfg.RequestStream)
		if err == nil {
			err = s.Purge(ctx, jetstream.WithPurgeSubject(v.purge))
		}
		if err != nil {
			return fmt.Errorf("remove the booking on %s: %w", v.purge, err)
		}
	}
	return nil
}

// pendingBookings counts the rooms with a pending booking.
func (w *Worker) pendingBookings(ctx context.Context) (int, error) {
	s, err := w.js.Stream(ctx, w.cfg.RequestStream)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(w.cfg.ScheduleSubjectPrefix+".>"))
	if err != nil {
		return 0, err
	}
	return len(info.State.Subjects), nil
}
