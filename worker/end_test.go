package worker_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/worker"
)

// endEvent is a room.end request for roomID.
func endEvent(roomID string) *event.Event {
	ev := event.New()
	ev.SetID(uuid.NewString())
	ev.SetSource("worker-test")
	ev.SetType(events.TypeEndRoom)
	if err := ev.SetData(event.ApplicationJSON, []byte(`{"room_id":"`+roomID+`"}`)); err != nil {
		panic(err)
	}
	return &ev
}

func (r endResult) String() string { return r.typ + " " + string(r.data) }

type endResult struct {
	typ   string
	data  []byte
	ended events.RoomEnded
}

// endResultFor finds the result of request id among the stored results.
func endResultFor(t *testing.T, e *testenv.Env, id string, within time.Duration) endResult {
	t.Helper()
	var out endResult
	e.Eventually(within, "the result of "+id, func() bool {
		for _, r := range e.Results() {
			if r.RequestID() == id {
				out = endResult{typ: r.Ev.Type(), data: r.Ev.Data()}
				if r.Ev.Type() == events.TypeRoomEnded {
					if err := json.Unmarshal(r.Ev.Data(), &out.ended); err != nil {
						t.Fatal(err)
					}
				}
				return true
			}
		}
		return false
	})
	return out
}

func TestEndActiveRoomThenCreateMakesANewSession(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	rw := e.StartWorker(nil)
	body := testenv.Request("end-me")
	e.Publish(testenv.NewEvent("", body))
	first := e.WaitResults(1, 10*time.Second)[0]

	end := endEvent("end-me")
	e.Publish(end)
	r := endResultFor(t, e, end.ID(), 10*time.Second)
	if r.typ != events.TypeRoomEnded || r.ended.AlreadyEnded || r.ended.RoomID != "end-me" || r.ended.Attempts != 1 {
		t.Fatalf("got %s", r)
	}
	if _, ok := e.Standin.ActiveRoom("end-me"); ok {
		t.Fatal("room.ended, but plugNmeet still has the room")
	}
	// The record says the session ended: the next create makes a new one without asking first.
	before := value(t, rw.Reg, "roomworker_plugnmeet_requests_total", map[string]string{"route": plugnmeet.RouteIsRoomActive, "class": "ok"})
	next := testenv.NewEvent("", body)
	e.Publish(next)
	var created testenv.Result
	e.Eventually(10*time.Second, "the next room.created", func() bool {
		for _, res := range e.Results() {
			if res.RequestID() == next.ID() {
				created = res
				return true
			}
		}
		return false
	})
	if created.Created.SID == first.Created.SID || created.Created.Duplicate {
		t.Errorf("after room.end: sid %s duplicate=%t, want a new session (old %s)", created.Created.SID, created.Created.Duplicate, first.Created.SID)
	}
	after := value(t, rw.Reg, "roomworker_plugnmeet_requests_total", map[string]string{"route": plugnmeet.RouteIsRoomActive, "class": "ok"})
	if after != before {
		t.Errorf("%v isRoomActive calls for a room recorded as ended, want none", after-before)
	}
	e.CheckResultSchemas()
}

func TestEndUnknownRoomIsAlreadyEnded(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.StartWorker(nil)
	end := endEvent("never-created")
	e.Publish(end)
	r := endResultFor(t, e, end.ID(), 10*time.Second)
	if r.typ != events.TypeRoomEnded || !r.ended.AlreadyEnded {
		t.Fatalf("got %s, want room.ended already_ended", r)
	}
	bad := endEvent("bad room!")
	e.Publish(bad)
	r = endResultFor(t, e, bad.ID(), 10*time.Second)
	var f events.RoomFailed
	_ = json.Unmarshal(r.data, &f)
	if r.typ != events.TypeRoomFailed || f.Reason != events.ReasonInvalidRequest || len(f.Errors) == 0 || f.Errors[0].Path != "/room_id" {
		t.Fatalf("got %s, want room.failed invalid_request at /room_id", r)
	}
}

// An end during a slow create waits for it (the room's lease serialises both) and ends the
// session the create made.
func TestEndDuringSlowCreate(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	slow := newSlowAPI(t, e, 2*time.Second)
	e.StartWorker(slow)
	e.StartWorker(slow)
	create := testenv.NewEvent("", testenv.Request("slow-then-end"))
	e.Publish(create)
	e.Eventually(5*time.Second, "the create call started", func() bool { return slow.calls.Load() == 1 })
	end := endEvent("slow-then-end")
	e.Publish(end)
	r := endResultFor(t, e, end.ID(), 20*time.Second)
	if r.typ != events.TypeRoomEnded || r.ended.AlreadyEnded {
		t.Fatalf("got %s, want the session the create made ended", r)
	}
	if _, ok := e.Standin.ActiveRoom("slow-then-end"); ok {
		t.Error("the room is live after room.ended")
	}
	if c := endResultFor(t, e, create.ID(), 5*time.Second); c.typ != events.TypeRoomCreated {
		t.Errorf("create: %s", c)
	}
}

// flakyEnd fails the first n endRoom calls as a plugNmeet outage would.
type flakyEnd struct {
	worker.RoomAPI
	left atomic.Int64
}

func (a *flakyEnd) EndRoom(ctx context.Context, roomID string) error {
	if a.left.Add(-1) >= 0 {
		return &plugnmeet.Error{Route: plugnmeet.RouteEndRoom, HTTPStatus: 503, Msg: "Service Unavailable", Class: plugnmeet.ClassTransient}
	}
	return a.RoomAPI.EndRoom(ctx, roomID)
}

func TestEndDuringOutageIsRetried(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	client, _ := plugnmeet.New(plugnmeet.Config{URL: e.Standin.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret})
	api := &flakyEnd{RoomAPI: client}
	e.StartWorker(api)
	e.Publish(testenv.NewEvent("", testenv.Request("end-outage")))
	e.WaitResults(1, 10*time.Second)
	api.left.Store(3)
	end := endEvent("end-outage")
	e.Publish(end)
	r := endResultFor(t, e, end.ID(), 20*time.Second)
	if r.typ != events.TypeRoomEnded || r.ended.AlreadyEnded || r.ended.Attempts != 4 {
		t.Fatalf("got %s, want room.ended after 4 attempts", r)
	}
	if _, ok := e.Standin.ActiveRoom("end-outage"); ok {
		t.Error("the room is live after room.ended")
	}
}
