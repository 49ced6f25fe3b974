package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/jstest"
)

// A room.created outcome that its Record carries without its data is rebuilt, when the request
// is answered again, into the very bytes that were published: numbers as the request and
// plugNmeet wrote them (exponents, big integers), strings with HTML characters, arrays.
func TestOwnOutcomeRebuildsThePublishedBytes(t *testing.T) {
	info := json.RawMessage(`{"room_id":"r1","sid":"s1","metadata":{"room_title":"<b>&x</b>","max_participants":1e2}}`)
	warnings := []events.Warning{
		{Path: "/max_participants", Requested: json.Number("1e2"), Applied: json.Number("50")},
		{Path: "/metadata/extra_data/big", Requested: json.Number("9007199254740993"), Applied: nil},
		{Path: "/metadata/room_title", Requested: "<i>T&C</i>", Applied: "T"},
		{Path: "/metadata/room_features/chat_features/allowed_file_types", Requested: []any{"pdf", "png"}, Applied: []any{}},
		{Path: "/metadata/room_features/allow_webcams", Requested: false, Applied: true},
	}
	for _, ws := range [][]events.Warning{nil, warnings} {
		published, err := encodeCreated(events.RoomCreated{RoomID: "r1", SID: "s1", RoomInfo: info, Attempts: 2, Warnings: ws})
		if err != nil {
			t.Fatal(err)
		}
		rec := Record{State: StateCreated, RoomID: "r1", RequestKey: "k1", SID: "s1", RoomInfo: info, Attempts: 2,
			Warnings: ws, Outcome: &Outcome{Type: events.TypeRoomCreated, RoomID: "r1", Label: "created", SID: "s1", InRecord: true}}
		b, err := rec.encode()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(`"data"`)) {
			t.Errorf("the record repeats the outcome's data: %s", b)
		}
		var back Record
		if err := decodeJSON(b, &back); err != nil {
			t.Fatal(err)
		}
		got := back.ownOutcome()
		if !bytes.Equal(got.Data, published) || got.InRecord {
			t.Errorf("rebuilt outcome data\n%s\nwant the published\n%s", got.Data, published)
		}
	}
}

// Marking a session ended rewrites its record; the rebuilt outcome must still be the published
// bytes, so the rewrite keeps the warnings' numbers as written.
func TestMarkEndedKeepsTheOwnOutcome(t *testing.T) {
	ns := jstest.Server(t)
	_, js := jstest.Connect(t, ns)
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "rooms", History: 1, LimitMarkerTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	s := &store{js: js, kv: kv, bucket: "rooms", window: time.Hour}

	info := json.RawMessage(`{"room_id":"r1","sid":"s1"}`)
	ws := []events.Warning{{Path: "/max_participants", Requested: json.Number("1e2"), Applied: json.Number("50")}}
	published, err := encodeCreated(events.RoomCreated{RoomID: "r1", SID: "s1", RoomInfo: info, Attempts: 1, Warnings: ws})
	if err != nil {
		t.Fatal(err)
	}
	rec := Record{State: StateCreated, RoomID: "r1", RequestKey: "k1", SID: "s1", RoomInfo: info, Attempts: 1, Warnings: ws,
		Outcome: &Outcome{Type: events.TypeRoomCreated, RoomID: "r1", Label: "created", SID: "s1", InRecord: true}}
	wait, err := s.putRoom(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.markEnded(ctx, "r1", "s1"); err != nil || !changed {
		t.Fatalf("markEnded: %v, %v", changed, err)
	}
	back, err := s.room(ctx, "r1")
	if err != nil || back == nil || back.State != StateEnded {
		t.Fatalf("record after markEnded: %+v, %v", back, err)
	}
	if got := back.ownOutcome().Data; !bytes.Equal(got, published) {
		t.Errorf("rebuilt outcome after markEnded\n%s\nwant the published\n%s", got, published)
	}
}
