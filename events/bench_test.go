package events

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// requestData is a create-room body of about 2 KB.
func requestData(tb testing.TB) []byte {
	tb.Helper()
	b, err := json.Marshal(map[string]any{
		"room_id": "room-2026-05-04-weekly", "max_participants": 100, "empty_timeout": 300,
		"metadata": map[string]any{
			"room_title": "Weekly engineering sync", "welcome_message": strings.Repeat("Welcome to the meeting. ", 60),
			"room_features": map[string]any{"allow_webcams": true, "mute_on_start": false, "allow_screen_share": true,
				"recording_features": map[string]any{"is_allow": true, "is_allow_cloud": true}},
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func BenchmarkDecodeBinary(b *testing.B) {
	body := requestData(b)
	h := nats.Header{
		"ce-specversion": {"1.0"}, "ce-id": {"7d3c1f0e-5b2a-4c8e-9f61-0a1b2c3d4e5f"}, "ce-source": {"https://scheduler.example/eu-1"},
		"ce-type": {"room.create"}, "ce-time": {"2026-05-04T03:02:01.123Z"}, "ce-datacontenttype": {"application/json"},
		"ce-subject": {"Weekly%20sync"}, "ce-traceparent": {traceparent}, "Nats-Msg-Id": {"m-1"},
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := Decode(h, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeStructured(b *testing.B) {
	e := newEvent("Weekly sync")
	e.SetExtension(ExtTraceParent, traceparent)
	e.DataEncoded = requestData(b)
	h, body, err := EncodeStructured(e)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, _, err := Decode(h, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeBinary(b *testing.B) {
	res, err := NewResult(request("/scheduler/eu-1", "req-42"), TypeRoomCreated, "roomworker", RoomCreated{
		RoomID: "room01", SID: "aa229eca-2f5e-4c8e-9f61-0a1b2c3d4e5f", Attempts: 1,
		RoomInfo: json.RawMessage(`{"room_title":"Test","room_id":"room01","sid":"aa229eca","joined_participants":0,"is_running":1}`),
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := EncodeBinary(res); err != nil {
			b.Fatal(err)
		}
	}
}
