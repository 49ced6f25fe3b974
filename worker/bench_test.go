package worker

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/schema"
)

// BenchmarkHotPath is the CPU work roomworker adds per request before the create call: decode
// the CloudEvent (binary mode), decode and validate its data, hash it for idempotency, and sign
// the body. The seed example (~2 KB) is the payload.
func BenchmarkHotPath(b *testing.B) {
	data, err := os.ReadFile("../examples/create-room.json")
	if err != nil {
		b.Fatal(err)
	}
	ev := event.New()
	ev.SetID(uuid.NewString())
	ev.SetSource("bench")
	ev.SetType(events.TypeCreateRoom)
	ev.SetExtension(events.ExtTraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	if err := ev.SetData(event.ApplicationJSON, data); err != nil {
		b.Fatal(err)
	}
	h, body, err := events.EncodeBinary(&ev)
	if err != nil {
		b.Fatal(err)
	}
	secret := []byte("bench-secret")
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		got, _, err := events.Decode(h, body)
		if err != nil {
			b.Fatal(err)
		}
		tree, err := schema.Parse(got.Data())
		if err != nil {
			b.Fatal(err)
		}
		_ = hashTree(tree)
		_ = plugnmeet.Sign(secret, got.Data())
	}
}

// BenchmarkCreatedResult is the work after a successful create: compare requested and applied
// settings, get the room_info JSON (MarshalJSON hands out the bytes written once when the
// answer was decoded; plugnmeet's BenchmarkDecodeCreateAnswer measures that decoding), render
// the record and the room.created event.
func BenchmarkCreatedResult(b *testing.B) {
	data, err := os.ReadFile("../examples/create-room.json")
	if err != nil {
		b.Fatal(err)
	}
	answer, err := os.ReadFile("../plugnmeet/testdata/recorded/01-create.json")
	if err != nil {
		b.Fatal(err)
	}
	var rec struct {
		ResponseBody string `json:"response_body"`
	}
	if err := json.Unmarshal(answer, &rec); err != nil {
		b.Fatal(err)
	}
	var resp struct {
		RoomInfo plugnmeet.RoomInfo `json:"room_info"`
	}
	if err := json.Unmarshal([]byte(rec.ResponseBody), &resp); err != nil {
		b.Fatal(err)
	}
	tree, err := schema.Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	req := event.New()
	req.SetID("r1")
	req.SetSource("bench")
	req.SetType(events.TypeCreateRoom)
	b.ReportAllocs()
	for b.Loop() {
		warnings, err := appliedWarnings(tree["metadata"], resp.RoomInfo.Metadata)
		if err != nil {
			b.Fatal(err)
		}
		info, err := resp.RoomInfo.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		r := Record{State: StateCreated, SID: resp.RoomInfo.SID, RoomInfo: info, Warnings: warnings}
		if _, err := r.encode(); err != nil {
			b.Fatal(err)
		}
		body, err := encodeCreated(events.RoomCreated{RoomID: "room01", SID: r.SID, RoomInfo: info, Warnings: warnings})
		if err != nil {
			b.Fatal(err)
		}
		out, err := events.NewResultFor(events.OriginOf(&req), events.TypeRoomCreated, "roomworker", body)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := events.EncodeBinary(out); err != nil {
			b.Fatal(err)
		}
	}
}
