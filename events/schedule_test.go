package events

import (
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

func TestStartTimeRoundTripsInBothModes(t *testing.T) {
	at := time.Date(2026, 12, 1, 9, 30, 0, 250_000_000, time.UTC)
	ev, err := NewCreateRoomRequest(map[string]any{"room_id": "r", "metadata": map[string]any{"room_title": "t", "room_features": map[string]any{}}},
		WithStartTime(at))
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []func(*event.Event) (nats.Header, []byte, error){EncodeBinary, EncodeStructured} {
		h, body, err := enc(ev)
		if err != nil {
			t.Fatal(err)
		}
		dec, _, err := Decode(h, body)
		if err != nil {
			t.Fatal(err)
		}
		got, ok, err := StartTime(dec)
		if !ok || err != nil || !got.Equal(at) {
			t.Errorf("starttime %v %t %v, want %v", got, ok, err, at)
		}
	}
	plain, _ := NewCreateRoomRequest(map[string]any{"room_id": "r"})
	if _, ok, _ := StartTime(plain); ok {
		t.Error("a request without starttime has one")
	}
	plain.SetExtension(ExtStartTime, "tomorrow")
	if _, ok, err := StartTime(plain); !ok || err == nil {
		t.Errorf("starttime %q: ok %t err %v, want an error", "tomorrow", ok, err)
	}
}
