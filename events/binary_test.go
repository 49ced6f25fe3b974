package events

import (
	"errors"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

func TestBinaryRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		value string // used as subject and as extension "note"
	}{
		{"plain", "room01"},
		{"space", "Weekly sync room"},
		{"double quote", `the "big" meeting`},
		{"percent", "100% ready %20 not an escape"},
		{"latin", "Grüße aus Köln"},
		{"emoji", "Euro € 😀"},
		{"cjk", "会议室"},
		{"ascii punctuation", "a:b;c,d=e&f?g#h/i\\j'k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := newEvent(tt.value)
			in.SetExtension("note", tt.value)
			in.SetExtension(ExtTraceParent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
			in.SetExtension("priority", int32(7))
			in.SetExtension("urgent", true)
			h, body, err := EncodeBinary(in)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range h {
				for _, v := range vs {
					for i := 0; i < len(v); i++ {
						if v[i] < 0x21 || v[i] > 0x7e {
							if k == "Content-Type" && v[i] == ' ' {
								continue
							}
							t.Fatalf("header %s value %q has byte 0x%02X", k, v, v[i])
						}
					}
				}
			}
			out, mode, err := Decode(h, body)
			if err != nil {
				t.Fatal(err)
			}
			if mode != ModeBinary {
				t.Errorf("mode = %q, want binary", mode)
			}
			want := canon(t, in)
			if d := diffCanon(want, canon(t, out)); d != "" {
				t.Errorf("round trip changed the event:\n%s", d)
			}
			if got := out.Subject(); got != tt.value {
				t.Errorf("subject = %q, want %q", got, tt.value)
			}
		})
	}
}

func TestEncodeBinaryHeaders(t *testing.T) {
	e := newEvent("Euro € 😀")
	h, body, err := EncodeBinary(e)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ce-specversion":     "1.0",
		"ce-id":              "req-1",
		"ce-source":          "/scheduler/eu-1",
		"ce-type":            "room.create",
		"ce-subject":         "Euro%20%E2%82%AC%20%F0%9F%98%80", // the binding's own example
		"ce-time":            "2026-05-04T03:02:01.123456789Z",
		"ce-datacontenttype": "application/json",
		"Content-Type":       "application/json",
	}
	if len(h) != len(want) {
		t.Errorf("got %d headers %v, want %d", len(h), h, len(want))
	}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if string(body) != `{"max_participants":10,"room_id":"room01"}` {
		t.Errorf("body = %s", body)
	}
}

func TestEncodeBinaryNeverWritesLineBreaks(t *testing.T) {
	attack := "x\r\nNats-Msg-Id: evil\r\n\r\nbody"
	e := newEvent(attack)
	e.SetExtension("note", "a\nb\rc")
	h, body, err := EncodeBinary(e)
	// Attribute values may not contain control characters at all, so the
	// encoder refuses the event rather than writing it.
	if !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("err = %v (header %v), want ErrInvalidEvent", err, h)
	}
	if h != nil || body != nil {
		t.Errorf("header/body returned with error: %v %q", h, body)
	}
	for _, want := range []string{"ce-subject: value contains control character U+000D", "ce-note: value contains control character U+000A"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	// Bad extension names cannot become header names either.
	e = newEvent("")
	e.Context.(*event.EventContextV1).Extensions = map[string]any{"x\r\nNats-Msg-Id": "v", "Upper": "v"}
	if _, _, err := EncodeBinary(e); !errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), "invalid extension name") {
		t.Fatalf("err = %v, want invalid extension name", err)
	}

	// A datacontenttype that would break the Content-Type header.
	e = newEvent("")
	ct := "application/json\r\nNats-Msg-Id: evil"
	e.Context.(*event.EventContextV1).DataContentType = &ct
	if _, _, err := EncodeBinary(e); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("err = %v, want ErrInvalidEvent", err)
	}
}

func TestEncodeBinaryRejectsInvalidEvents(t *testing.T) {
	tests := []struct {
		name   string
		modify func(e *event.Event)
		want   string
	}{
		{"no id", func(e *event.Event) { e.Context.(*event.EventContextV1).ID = "" }, "missing required attribute id (ce-id)"},
		{"no source", func(e *event.Event) { e.Context.(*event.EventContextV1).Source.URL.Path = "" }, "missing required attribute source"},
		{"no type", func(e *event.Event) { e.Context.(*event.EventContextV1).Type = "" }, "missing required attribute type"},
		{"specversion 0.3", func(e *event.Event) { e.SetSpecVersion("0.3") }, `specversion "0.3" is not supported`},
		{"invalid utf-8 subject", func(e *event.Event) { e.SetSubject("a\xffb") }, "ce-subject: value is not valid UTF-8"},
		{"noncharacter", func(e *event.Event) { e.SetExtension("note", "a\uFFFEb") }, "noncharacter U+FFFE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent("room01")
			tt.modify(e)
			_, _, err := EncodeBinary(e)
			if !errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDecodeBinary(t *testing.T) {
	tests := []struct {
		name   string
		header nats.Header
		body   string
		check  map[string]string // canon keys to compare
	}{
		{
			name:   "spec example",
			header: minimalBinary("ce-time", "2018-04-05T03:56:24Z", "ce-datacontenttype", "application/json"),
			body:   `{"room_id":"r1"}`,
			check:  map[string]string{"id": "abc-1", "time": "2018-04-05T03:56:24Z", "datacontenttype": "application/json", "data": `{"room_id":"r1"}`},
		},
		{
			name:   "canonicalised and upper-case keys",
			header: binaryHeader("Ce-Specversion", "1.0", "Ce-Id", "x1", "CE-SOURCE", "/s", "ce-Type", "room.create", "Ce-Traceparent", "00-a-b-01"),
			check:  map[string]string{"id": "x1", "source": "/s", "type": "room.create", "ext:traceparent": "00-a-b-01"},
		},
		{
			name:   "datacontenttype from Content-Type",
			header: minimalBinary("Content-Type", "application/json; charset=utf-8"),
			body:   `{}`,
			check:  map[string]string{"datacontenttype": "application/json; charset=utf-8", "data": "{}"},
		},
		{
			name:   "ce-datacontenttype wins over Content-Type",
			header: minimalBinary("ce-datacontenttype", "text/plain", "content-type", "application/octet-stream"),
			body:   "hello",
			check:  map[string]string{"datacontenttype": "text/plain", "data": "hello"},
		},
		{
			name:   "lower-case escapes and unnecessary escapes",
			header: minimalBinary("ce-subject", "%c3%a9t%C3%A9%41"),
			check:  map[string]string{"subject": "étéA"},
		},
		{
			name:   "quoted-string value from older producers",
			header: minimalBinary("ce-subject", `"say \"hi\" 100%25"`),
			check:  map[string]string{"subject": `say "hi" 100%`},
		},
		{
			name:   "raw interior space accepted",
			header: minimalBinary("ce-subject", "room one"),
			check:  map[string]string{"subject": "room one"},
		},
		{
			name:   "other headers ignored",
			header: minimalBinary("Nats-Msg-Id", "m1", "Nats-Expected-Stream", "X", "cex", "y"),
			check:  map[string]string{"id": "abc-1"},
		},
		{
			name:   "empty body is no data",
			header: minimalBinary(),
			check:  map[string]string{"data": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, mode, err := Decode(tt.header, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if mode != ModeBinary {
				t.Errorf("mode = %q", mode)
			}
			got := canon(t, e)
			for k, v := range tt.check {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
			if len(e.Extensions()) != countPrefix(tt.check, "ext:") {
				t.Errorf("extensions = %v", e.Extensions())
			}
		})
	}
}

func countPrefix(m map[string]string, p string) int {
	n := 0
	for k := range m {
		if strings.HasPrefix(k, p) {
			n++
		}
	}
	return n
}
