package worker_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/worker"
)

// booking is a room.create for roomID starting at start.
func booking(roomID string, start time.Time, extra ...string) *event.Event {
	ev := testenv.NewEvent("", testenv.Request(roomID, extra...))
	ev.SetExtension(events.ExtStartTime, start.UTC().Format(time.RFC3339Nano))
	return ev
}

// resultOf waits for the result of type typ answering request id.
func resultOf(t *testing.T, e *testenv.Env, id, typ string, within time.Duration) testenv.Result {
	t.Helper()
	var out testenv.Result
	e.Eventually(within, typ+" for "+id, func() bool {
		for _, r := range e.Results() {
			if r.RequestID() == id && r.Ev.Type() == typ {
				out = r
				return true
			}
		}
		return false
	})
	return out
}

func lead(d time.Duration) func(*worker.Config) { return func(c *worker.Config) { c.CreateLead = d } }

// A booking 3s ahead with CREATE_LEAD 1s is answered room.scheduled at once and created 2s
// later, its room.created answering the booking's own id; a past start creates at once.
func TestBookingIsCreatedOnTime(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, lead(time.Second))
	rw := e.StartWorker(nil)
	published := time.Now()
	b := booking("booked-3s", published.Add(3*time.Second))
	e.Publish(b)
	s := resultOf(t, e, b.ID(), events.TypeRoomScheduled, 2*time.Second)
	var sched events.RoomScheduled
	if err := json.Unmarshal(s.Ev.Data(), &sched); err != nil {
		t.Fatal(err)
	}
	if d := sched.CreateAt.Sub(published); d < 1900*time.Millisecond || d > 2100*time.Millisecond {
		t.Errorf("create_at %v after publishing, want 2s", d)
	}
	if n := e.Standin.CreateCalls("booked-3s"); n != 0 {
		t.Fatalf("%d create calls at booking time", n)
	}
	c := resultOf(t, e, b.ID(), events.TypeRoomCreated, 6*time.Second)
	created := time.Since(published)
	if created < 2*time.Second || created > 3*time.Second {
		t.Errorf("room.created %v after publishing, want between 2s and 3s", created)
	}
	if _, ok := e.Standin.ActiveRoom("booked-3s"); !ok || c.Created.Duplicate {
		t.Errorf("after the booking fired: live %t, duplicate %t", ok, c.Created.Duplicate)
	}
	mfs, err := rw.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "roomworker_booking_fire_lag_seconds" {
			if h := mf.GetMetric()[0].GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() > 1 {
				t.Errorf("fire lag: %d samples, sum %vs; want the one booking, under 1s", h.GetSampleCount(), h.GetSampleSum())
			}
		}
	}

	past := booking("booked-past", time.Now().Add(-time.Minute))
	e.Publish(past)
	r := resultOf(t, e, past.ID(), events.TypeRoomCreated, 5*time.Second)
	if r.Created.RoomID != "booked-past" {
		t.Errorf("past start: %s", r.Ev.Data())
	}
	for _, r := range e.Results() {
		if r.RequestID() == past.ID() && r.Ev.Type() == events.TypeRoomScheduled {
			t.Error("a past start was booked instead of created at once")
		}
	}
	e.CheckResultSchemas()
}

// A booking is validated at once: an invalid one fails at booking time with its pointers.
func TestInvalidBookingFailsAtOnce(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, lead(time.Second))
	e.StartWorker(nil)
	ev := testenv.NewEvent("", []byte(`{"room_id":"bad booking!","metadata":{}}`))
	ev.SetExtension(events.ExtStartTime, time.Now().Add(time.Hour).Format(time.RFC3339))
	e.Publish(ev)
	r := resultOf(t, e, ev.ID(), events.TypeRoomFailed, 3*time.Second)
	if r.Failed.Reason != events.ReasonInvalidRequest || len(r.Failed.Errors) == 0 {
		t.Fatalf("got %+v", r.Failed)
	}
	garbled := testenv.NewEvent("", testenv.Request("garbled-start"))
	garbled.SetExtension(events.ExtStartTime, "next tuesday")
	e.Publish(garbled)
	r = resultOf(t, e, garbled.ID(), events.TypeRoomFailed, 3*time.Second)
	if r.Failed.Reason != events.ReasonInvalidEvent || len(r.Failed.Errors) == 0 || r.Failed.Errors[0].Path != "/starttime" {
		t.Fatalf("got %+v, want invalid_event at /starttime", r.Failed)
	}
}

// Publishing again for a room with a pending booking replaces it: created once, at the new time,
// with the new settings.
func TestRebookingReplacesThePendingBooking(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, lead(time.Second))
	e.StartWorker(nil)
	published := time.Now()
	first := booking("moved", published.Add(10*time.Second))
	e.Publish(first)
	resultOf(t, e, first.ID(), events.TypeRoomScheduled, 2*time.Second)
	second := booking("moved", published.Add(4*time.Second), `"allow_webcams":true="allow_webcams":false`)
	e.Publish(second)
	s := resultOf(t, e, second.ID(), events.TypeRoomScheduled, 2*time.Second)
	var sched events.RoomScheduled
	_ = json.Unmarshal(s.Ev.Data(), &sched)
	if sched.Replaces != first.ID() {
		t.Errorf("replaces %q, want the first booking %q", sched.Replaces, first.ID())
	}
	c := resultOf(t, e, second.ID(), events.TypeRoomCreated, 6*time.Second)
	if at := time.Since(published); at > 4*time.Second {
		t.Errorf("created %v after the first publish, want about 3s", at)
	}
	if len(c.Created.Warnings) == 0 { // allow_webcams:false is the second booking's setting
		t.Errorf("room.created %s does not reflect the second booking's settings", c.Ev.Data())
	}
	time.Sleep(8 * time.Second) // past the first booking's time
	if n := e.Standin.CreateCalls("moved"); n != 1 {
		t.Errorf("%d create calls, want 1", n)
	}
	for _, r := range e.Results() {
		if r.RequestID() == first.ID() && r.Ev.Type() != events.TypeRoomScheduled {
			t.Errorf("the replaced booking got %s", r.Ev.Type())
		}
	}
}

func cancelEvent(roomID string) *event.Event {
	ev := testenv.NewEvent("", []byte(`{"room_id":"`+roomID+`"}`))
	ev.SetType(events.TypeCancelRoom)
	return ev
}

// Cancelling before the time removes the booking (no create call at all); cancelling a room
// that was already created answers so, and breaks nothing.
func TestCancelBooking(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, lead(time.Second))
	rw := e.StartWorker(nil)
	start := time.Now().Add(9 * time.Second)
	b := booking("cancel-me", start)
	e.Publish(b)
	resultOf(t, e, b.ID(), events.TypeRoomScheduled, 2*time.Second)
	// The gauge is polled every 5s.
	e.Eventually(6*time.Second, "one booking pending", func() bool { return value(t, rw.Reg, "roomworker_bookings_pending", nil) == 1 })
	cancel := cancelEvent("cancel-me")
	e.Publish(cancel)
	r := resultOf(t, e, cancel.ID(), events.TypeRoomCancelled, 3*time.Second)
	var c events.RoomCancelled
	_ = json.Unmarshal(r.Ev.Data(), &c)
	if !c.Cancelled || c.State != events.CancelCancelled || c.BookingID != b.ID() {
		t.Errorf("got %s", r.Ev.Data())
	}
	time.Sleep(time.Until(start) + time.Second)
	if n := e.Standin.CreateCalls("cancel-me"); n != 0 {
		t.Errorf("%d create calls after the cancel, want 0", n)
	}

	e.Publish(testenv.NewEvent("", testenv.Request("too-late")))
	e.Eventually(5*time.Second, "too-late created", func() bool { _, ok := e.Standin.ActiveRoom("too-late"); return ok })
	late := cancelEvent("too-late")
	e.Publish(late)
	r = resultOf(t, e, late.ID(), events.TypeRoomCancelled, 3*time.Second)
	_ = json.Unmarshal(r.Ev.Data(), &c)
	if c.Cancelled || c.State != events.CancelCreated || !strings.Contains(c.Message, "room.end") {
		t.Errorf("cancel after creation: %s", r.Ev.Data())
	}
	if _, ok := e.Standin.ActiveRoom("too-late"); !ok {
		t.Error("the cancel broke the live room")
	}
	never := cancelEvent("never-booked")
	e.Publish(never)
	r = resultOf(t, e, never.ID(), events.TypeRoomCancelled, 3*time.Second)
	_ = json.Unmarshal(r.Ev.Data(), &c)
	if c.State != events.CancelNeverScheduled {
		t.Errorf("cancel of an unknown room: %s", r.Ev.Data())
	}
	e.CheckResultSchemas()
}

// On a NATS server without message schedules, the worker says so at start-up and a booking gets
// a clear room.failed instead of being created at once; immediate requests work as before.
func TestOldServerRefusesBookings(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, lead(time.Second))
	e.BeforeRun = func(w *worker.Worker) { w.PretendServerVersion("2.11.4") }
	e.StartWorker(nil)
	if !strings.Contains(e.Logs.String(), "no message schedules") {
		t.Error("no start-up warning about the server lacking message schedules")
	}
	b := booking("old-server", time.Now().Add(time.Hour))
	e.Publish(b)
	r := resultOf(t, e, b.ID(), events.TypeRoomFailed, 3*time.Second)
	if r.Failed.Reason != events.ReasonInvalidRequest || !strings.Contains(r.Failed.Message, "2.11") {
		t.Errorf("got %+v, want invalid_request naming the server version", r.Failed)
	}
	if n := e.Standin.CreateCalls("old-server"); n != 0 {
		t.Errorf("%d create calls: a booking was created at once", n)
	}
	now := testenv.NewEvent("", testenv.Request("old-server-now"))
	e.Publish(now)
	resultOf(t, e, now.ID(), events.TypeRoomCreated, 5*time.Second)
}

// A booking moved to "now" creates at once and replaces the pending booking: no second creation
// when the old time comes.
func TestBookingMovedToNowReplacesThePendingOne(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, lead(time.Second))
	e.StartWorker(nil)
	old := booking("moved-now", time.Now().Add(4*time.Second))
	e.Publish(old)
	resultOf(t, e, old.ID(), events.TypeRoomScheduled, 2*time.Second)
	now := booking("moved-now", time.Now())
	e.Publish(now)
	resultOf(t, e, now.ID(), events.TypeRoomCreated, 3*time.Second)
	time.Sleep(4 * time.Second)
	for _, r := range e.Results() {
		if r.RequestID() == old.ID() && r.Ev.Type() != events.TypeRoomScheduled {
			t.Errorf("the replaced booking got %s: %s", r.Ev.Type(), r.Ev.Data())
		}
	}
	if n := e.Standin.CreateCalls("moved-now"); n != 1 {
		t.Errorf("%d create calls, want 1", n)
	}
}
