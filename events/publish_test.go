package events

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/internal/jstest"
)

func TestNewCreateRoomRequest(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	type room struct {
		RoomID string `json:"room_id"`
	}
	tests := []struct {
		name        string
		data        any
		opts        []RequestOption
		wantErr     string // substring; "" = success
		wantSubject string
		wantData    string
		wantSource  string
	}{
		{"bytes", []byte(`{"room_id":"r1"}`), nil, "", "r1", `{"room_id":"r1"}`, DefaultSource},
		{"raw message", json.RawMessage(`{"room_id":"r2","x":1}`), nil, "", "r2", `{"room_id":"r2","x":1}`, DefaultSource},
		{"struct", room{RoomID: "r3"}, nil, "", "r3", `{"room_id":"r3"}`, DefaultSource},
		{"struct with <>&: not HTML-escaped", room{RoomID: "<r&5>"}, nil, "", "<r&5>", `{"room_id":"<r&5>"}`, DefaultSource},
		{"options", []byte(`{"room_id":"r4"}`), []RequestOption{WithSource("urn:test"), WithSubject("other"), WithTime(at)},
			"", "other", `{"room_id":"r4"}`, "urn:test"},
		{"no room_id: no subject", []byte(`{"metadata":{}}`), nil, "", "", `{"metadata":{}}`, DefaultSource},
		{"room_id not a string", []byte(`{"room_id":5}`), nil, "", "", `{"room_id":5}`, DefaultSource},
		{"not JSON", []byte(`{"room_id":`), nil, "not valid JSON", "", "", ""},
		{"empty", []byte{}, nil, "not valid JSON", "", "", ""},
		{"unmarshalable", func() {}, nil, "request data", "", "", ""},
		{"empty id", []byte(`{}`), []RequestOption{WithID("")}, "id is required", "", "", ""},
		{"bad extension name", []byte(`{}`), []RequestOption{WithExtension("Trace-Parent", "x")}, "Trace-Parent", "", "", ""},
		{"control character in source", []byte(`{}`), []RequestOption{WithSource("a\nb")}, "member \"source\"", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := NewCreateRoomRequest(tt.data, tt.opts...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type() != TypeCreateRoom || ev.Subject() != tt.wantSubject || ev.Source() != tt.wantSource ||
				string(ev.Data()) != tt.wantData || ev.DataContentType() != "application/json" || ev.ID() == "" || ev.Time().IsZero() {
				t.Errorf("event = %v", ev)
			}
		})
	}

	a, _ := NewCreateRoomRequest([]byte(`{}`))
	b, _ := NewCreateRoomRequest([]byte(`{}`))
	if a.ID() == b.ID() {
		t.Error("two requests got the same id")
	}
	c, _ := NewCreateRoomRequest([]byte(`{}`), WithID("fixed"), WithTime(at))
	if c.ID() != "fixed" || !c.Time().Equal(at) {
		t.Errorf("id %q time %v", c.ID(), c.Time())
	}
	_, err := NewCreateRoomRequest([]byte(`{}`), WithID(""))
	if !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("invalid event error %v does not match ErrInvalidEvent", err)
	}
}

func TestPublish(t *testing.T) {
	srv := jstest.Server(t)
	_, js := jstest.Connect(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ROOM_REQUESTS", Subjects: []string{"rooms.create"}})
	if err != nil {
		t.Fatal(err)
	}

	ev, err := NewCreateRoomRequest([]byte(`{"room_id":"weekly"}`), WithSource("urn:test"),
		WithExtension(ExtTraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		publish func(context.Context, jetstream.JetStream, string, *event.Event, ...jetstream.PublishOpt) (*jetstream.PubAck, error)
		mode    Mode
	}{
		{"binary", Publish, ModeBinary},
		{"structured", PublishStructured, ModeStructured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := ev.Clone()
			ev.SetID("id-" + tc.name)
			ack, err := tc.publish(ctx, js, "rooms.create", &ev)
			if err != nil {
				t.Fatal(err)
			}
			if ack.Duplicate || ack.Stream != "ROOM_REQUESTS" {
				t.Fatalf("ack = %+v", ack)
			}
			m, err := stream.GetMsg(ctx, ack.Sequence)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Header.Get(jetstream.MsgIDHeader); got != ev.ID() {
				t.Errorf("Nats-Msg-Id = %q, want the event id %q", got, ev.ID())
			}
			got, mode, err := Decode(m.Header, m.Data)
			if err != nil {
				t.Fatal(err)
			}
			if mode != tc.mode {
				t.Errorf("stored in %s mode, want %s", mode, tc.mode)
			}
			if d := diffCanon(canon(t, &ev), canon(t, got)); d != "" {
				t.Errorf("stored event differs:\n%s", d)
			}
			// Publishing the same event again is dropped by JetStream.
			again, err := tc.publish(ctx, js, "rooms.create", &ev)
			if err != nil {
				t.Fatal(err)
			}
			if !again.Duplicate || again.Sequence != ack.Sequence {
				t.Errorf("second publish: %+v, want a duplicate of sequence %d", again, ack.Sequence)
			}
		})
	}

	// Publish options are passed through, and failures name the subject.
	_, err = Publish(ctx, js, "rooms.create", ev, jetstream.WithExpectStream("OTHER"))
	if err == nil || !strings.Contains(err.Error(), "rooms.create") {
		t.Errorf("publish with a wrong expected stream: %v", err)
	}
	bad := ev.Clone()
	bad.SetExtension("note", "a\x01b")
	if _, err := Publish(ctx, js, "rooms.create", &bad); !errors.Is(err, ErrInvalidEvent) {
		t.Errorf("publishing an invalid event: %v, want ErrInvalidEvent", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("stream holds %d messages, want 2", info.State.Msgs)
	}
}
