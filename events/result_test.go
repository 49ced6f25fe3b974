package events

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
)

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func request(source, id string) *event.Event {
	e := newEvent("")
	e.SetSource(source)
	e.SetID(id)
	e.SetExtension(ExtTraceParent, traceparent)
	e.SetExtension(ExtTraceState, "rojo=00f067aa0ba902b7")
	return e
}

func TestNewResultCreated(t *testing.T) {
	req := request("/scheduler/eu-1", "req-42")
	before := time.Now()
	res, err := NewResult(req, TypeRoomCreated, "roomworker/worker-0", RoomCreated{
		RoomID: "room01", SID: "aa229eca", RoomInfo: json.RawMessage(`{"room_id":"room01","is_running":1}`), Attempts: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := canon(t, res)
	want := map[string]string{
		"specversion": "1.0", "type": TypeRoomCreated, "source": "roomworker/worker-0", "subject": "room01",
		"datacontenttype": "application/json", "ext:" + ExtRequestID: "req-42",
		"ext:" + ExtTraceParent: traceparent, "ext:" + ExtTraceState: "rojo=00f067aa0ba902b7",
		"data": `{"room_id":"room01","sid":"aa229eca","room_info":{"room_id":"room01","is_running":1},"duplicate":false,"attempts":1,"warnings":[]}`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if tm := res.Time(); tm.Before(before) || tm.After(time.Now()) {
		t.Errorf("time %v is not now", tm)
	}

	// The same request redelivered gets the same id; the id is a UUID.
	again, _ := NewResult(request("/scheduler/eu-1", "req-42"), TypeRoomCreated, "roomworker/worker-1", RoomCreated{RoomID: "room01"})
	if res.ID() != again.ID() || len(res.ID()) != 36 {
		t.Errorf("ids %q and %q, want one stable UUID", res.ID(), again.ID())
	}
	// Another type, another source's request with the same id, or another id: another result id.
	failed, _ := NewResult(req, TypeRoomFailed, "roomworker/worker-0", RoomFailed{Reason: ReasonRejected})
	otherSource, _ := NewResult(request("/scheduler/us-1", "req-42"), TypeRoomCreated, "roomworker/worker-0", RoomCreated{})
	otherID, _ := NewResult(request("/scheduler/eu-1", "req-43"), TypeRoomCreated, "roomworker/worker-0", RoomCreated{})
	seen := map[string]string{res.ID(): "created"}
	for name, e := range map[string]*event.Event{"failed": failed, "other source": otherSource, "other id": otherID} {
		if prev, dup := seen[e.ID()]; dup {
			t.Errorf("%s result has the same id as %s", name, prev)
		}
		seen[e.ID()] = name
	}
	// The publish id is per request: created and failed share it, other requests do not.
	if ResultMsgID(OriginOf(req)) != ResultMsgID(OriginOf(request("/scheduler/eu-1", "req-42"))) {
		t.Error("ResultMsgID not stable across redeliveries")
	}
	if ResultMsgID(OriginOf(req)) == ResultMsgID(OriginOf(request("/scheduler/us-1", "req-42"))) {
		t.Error("ResultMsgID ignores the request source")
	}
}

func TestNewResultFailedRoundTrip(t *testing.T) {
	req := request("/scheduler", "r-1")
	data := RoomFailed{
		RoomID: "room 3!", Reason: ReasonInvalidRequest, Message: "2 errors",
		Errors:   []FieldError{{Path: "/room_id", Message: "does not match pattern"}, {Path: "/metadata/room_title", Message: "missing"}},
		Attempts: 0,
	}
	res, err := NewResult(req, TypeRoomFailed, "roomworker", &data)
	if err != nil {
		t.Fatal(err)
	}
	h, body, err := EncodeBinary(res)
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("ce-subject") != "room%203!" || h.Get("ce-requestid") != "r-1" || h.Get("Content-Type") != "application/json" ||
		h.Get("ce-datacontenttype") != "application/json" || h.Get("ce-traceparent") != traceparent {
		t.Errorf("headers = %v", h)
	}
	back, mode, err := Decode(h, body)
	if err != nil || mode != ModeBinary {
		t.Fatalf("decode: %v %q", err, mode)
	}
	var got RoomFailed
	if err := back.DataAs(&got); err != nil {
		t.Fatal(err)
	}
	if got.Reason != ReasonInvalidRequest || len(got.Errors) != 2 || got.Errors[1].Path != "/metadata/room_title" || got.RoomID != "room 3!" {
		t.Errorf("data = %+v", got)
	}
	if strings.Contains(string(body), "plugnmeet") {
		t.Errorf("unset plugNmeet fields rendered: %s", body)
	}
}

func TestRoomFailedJSON(t *testing.T) {
	b, _ := json.Marshal(RoomFailed{Reason: ReasonRejected, Message: "validation error", Attempts: 1, PlugNmeetStatusCode: 200, PlugNmeetCode: "INVALID_PARAMETERS"})
	want := `{"reason":"rejected","message":"validation error","attempts":1,"plugnmeet_status_code":200,"plugnmeet_code":"INVALID_PARAMETERS"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	b, _ = json.Marshal(&RoomCreated{RoomID: "r", Warnings: []Warning{{Path: "/max_participants", Requested: 1000, Applied: 100}}})
	want = `{"room_id":"r","sid":"","room_info":null,"duplicate":false,"attempts":0,"warnings":[{"path":"/max_participants","requested":1000,"applied":100}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestNewResultForStreamOrigin(t *testing.T) {
	o := StreamOrigin("ROOM_REQUESTS", 1234)
	res, err := NewResultFor(o, TypeRoomFailed, "roomworker", RoomFailed{Reason: ReasonInvalidEvent, Message: "invalid CloudEvent"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Subject() != "" {
		t.Errorf("subject = %q, want none when room_id is unknown", res.Subject())
	}
	if got := canon(t, res)["ext:requestid"]; got != "ROOM_REQUESTS/1234" {
		t.Errorf("requestid = %q", got)
	}
	if _, ok := res.Extensions()[ExtTraceParent]; ok {
		t.Error("traceparent set without one in the origin")
	}
	again, _ := NewResultFor(StreamOrigin("ROOM_REQUESTS", 1234), TypeRoomFailed, "roomworker", RoomFailed{})
	other, _ := NewResultFor(StreamOrigin("ROOM_REQUESTS", 1235), TypeRoomFailed, "roomworker", RoomFailed{})
	if res.ID() != again.ID() || res.ID() == other.ID() {
		t.Errorf("ids %s %s %s: want stable per stream sequence", res.ID(), again.ID(), other.ID())
	}
	if _, err := NewResultFor(Origin{}, TypeRoomFailed, "roomworker", nil); err == nil {
		t.Error("no error for an origin without id")
	}
}

func TestCopyTrace(t *testing.T) {
	from := request("/s", "1")
	to := newEvent("")
	CopyTrace(from, to)
	if canon(t, to)["ext:traceparent"] != traceparent || canon(t, to)["ext:tracestate"] != "rojo=00f067aa0ba902b7" {
		t.Errorf("extensions = %v", to.Extensions())
	}
	plain := newEvent("")
	CopyTrace(newEvent(""), plain)
	if len(plain.Extensions()) != 0 {
		t.Errorf("extensions appeared: %v", plain.Extensions())
	}
}

// A request embedded in room.failed (and plugNmeet's room_info in
// room.created) keeps '<', '>' and '&' as they are, so a request near
// MAX_MESSAGE_BYTES still fits in a result message.
func TestNewResultDoesNotEscapeHTML(t *testing.T) {
	brackets := strings.Repeat("<", 100_000)
	req := newEvent("")
	req.DataEncoded = []byte(`{"room_id":"r1","metadata":{"welcome_message":"<b>` + brackets + `</b> & more"}}`)
	_, embedded, err := EncodeStructured(req)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		typ  string
		data any
	}{
		{"room.failed with the request", TypeRoomFailed, RoomFailed{RoomID: "r1", Reason: ReasonRetriesExhausted, Message: "<503> & gave up", Request: embedded}},
		{"room.created with room_info", TypeRoomCreated, RoomCreated{RoomID: "r1", SID: "s", RoomInfo: req.DataEncoded}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := NewResult(req, tt.typ, "roomworker", tt.data)
			if err != nil {
				t.Fatal(err)
			}
			_, body, err := EncodeBinary(res)
			if err != nil {
				t.Fatal(err)
			}
			if hasHTMLEscape(body) {
				t.Errorf("result data HTML-escapes '<', '>' or '&': %.200s", body)
			}
			if len(body) >= 110_000 {
				t.Errorf("result data is %d bytes, want < 110,000", len(body))
			}
			if !json.Valid(body) {
				t.Errorf("result data is not JSON: %.200s", body)
			}
		})
	}
	var failed RoomFailed
	res, _ := NewResult(req, TypeRoomFailed, "roomworker", RoomFailed{Reason: ReasonRetriesExhausted, Request: embedded})
	if err := res.DataAs(&failed); err != nil {
		t.Fatal(err)
	}
	back, _, err := Decode(ceJSON, failed.Request)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffCanon(canon(t, req), canon(t, back)); d != "" {
		t.Errorf("embedded request changed:\n%s", d)
	}
}
