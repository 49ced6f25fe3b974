package testenv

import (
	"context"
	"encoding/json"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
)

// LifecycleEvent is a plugnmeet.<event> CloudEvent read back from the lifecycle stream.
type LifecycleEvent struct {
	Ev      *event.Event
	Seq     uint64 // its stream sequence
	Subject string // the NATS subject it was stored under
	MsgID   string // its Nats-Msg-Id
	// Name is the plugNmeet event name (the type without "plugnmeet.").
	Name string
	// Body is the parts of the delivery's body tests look at.
	Body struct {
		Event     string `json:"event"`
		ID        string `json:"id"`
		CreatedAt string `json:"created_at"`
		Room      struct {
			SID    string `json:"sid"`
			RoomID string `json:"room_id"`
		} `json:"room"`
		Participant *struct {
			Identity         string `json:"identity"`
			DisconnectReason string `json:"disconnect_reason"`
		} `json:"participant"`
	}
}

// Lifecycle reads every event stored in the lifecycle stream (LIFECYCLE_STREAM) whose subject
// (CloudEvents subject, the room_id) is roomID, or every event when roomID is "", in stream order.
// A stream that does not exist yet holds none.
func (e *Env) Lifecycle(roomID string) []LifecycleEvent {
	e.t.Helper()
	all, _ := e.storedEvents(e.Cfg.Webhook.Stream, "lifecycle event")
	var out []LifecycleEvent
	for _, st := range all {
		ev, m, seq := st.ev, st.msg, st.seq
		if roomID != "" && ev.Subject() != roomID {
			continue
		}
		l := LifecycleEvent{Ev: ev, Seq: seq, Subject: m.Subject, MsgID: m.Header.Get(jetstream.MsgIDHeader)}
		l.Name = ev.Type()[len(events.TypeLifecyclePrefix):]
		if err := json.Unmarshal(ev.Data(), &l.Body); err != nil {
			e.t.Fatalf("lifecycle event %d: data: %v", seq, err)
		}
		out = append(out, l)
	}
	return out
}

// NewEndEvent builds a room.end CloudEvent for roomID (subject = roomID).
func NewEndEvent(roomID string) *event.Event {
	ev := event.New()
	ev.SetID(uuid.NewString())
	ev.SetSource("worker-test")
	ev.SetType(events.TypeEndRoom)
	ev.SetSubject(roomID)
	body, _ := json.Marshal(events.EndRoom{RoomID: roomID})
	if err := ev.SetData(event.ApplicationJSON, body); err != nil {
		panic(err)
	}
	return &ev
}

// PublishEnd sends a room.end event in binary mode on END_SUBJECT.
func (e *Env) PublishEnd(ev *event.Event) {
	e.t.Helper()
	h, body, err := events.EncodeBinary(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.JS.PublishMsg(ctx, &nats.Msg{Subject: e.Cfg.EndSubject, Header: h, Data: body}); err != nil {
		e.t.Fatal(err)
	}
}
