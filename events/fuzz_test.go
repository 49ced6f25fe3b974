package events

import (
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// parseHeader turns "key: value" lines into a header, keeping keys as given.
func parseHeader(s string) nats.Header {
	h := nats.Header{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			h.Add(k, strings.TrimLeft(v, " "))
		}
	}
	return h
}

// checkReencode asserts that a decoded event survives both encodings.
func checkReencode(t *testing.T, h nats.Header, body []byte) {
	e, _, err := Decode(h, body)
	if err != nil {
		return
	}
	want := canon(t, e)
	for _, enc := range []struct {
		name string
		f    func(*event.Event) (nats.Header, []byte, error)
	}{{"binary", EncodeBinary}, {"structured", EncodeStructured}} {
		h2, b2, err := enc.f(e)
		if err != nil {
			t.Fatalf("%s encode of a decoded event: %v", enc.name, err)
		}
		e2, _, err := Decode(h2, b2)
		if err != nil {
			t.Fatalf("%s re-decode: %v\nheader %v\nbody %q", enc.name, err, h2, b2)
		}
		if d := diffCanon(want, canon(t, e2)); d != "" {
			t.Fatalf("%s round trip changed the event:\n%s", enc.name, d)
		}
	}
}

func FuzzDecodeBinary(f *testing.F) {
	f.Add("ce-specversion: 1.0\nce-id: 1\nce-source: /s\nce-type: room.create", []byte(`{"room_id":"r"}`))
	f.Add("Ce-Specversion: 1.0\nCe-Id: a%20b\nCe-Source: http://x/y?z\nCe-Type: t\nContent-Type: application/json\nce-subject: Euro%20%E2%82%AC", []byte(" 1"))
	f.Add("ce-specversion: 1.0\nce-id: \"q\\\"d\"\nce-source: /s\nce-type: t\nce-time: 2020-01-01T00:00:00+02:00\nce-dataschema: https://x/s.json", []byte{0xff})
	f.Add("ce-specversion: 1.0\nce-id: 1\nce-source: /s\nce-type: t\nce-datacontenttype: text/plain\nce-ext: %zz", []byte("hi"))
	f.Add("ce-specversion: 0.3\nce-id: 1", []byte(nil))
	f.Add("ce-specversion: 1.0\nce-id: a%07\nce-source: /a%20b\nce-type: t\nce-traceparent: 00-x\nCe-Tracestate: \"k=v\"", []byte("<&>"))
	f.Add("Content-Type: application/cloudevents+json\nce-id: h\nce-source: /h", []byte(`{"id":"b","source":"/b","specversion":"1.0","type":"t"}`))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		h := parseHeader(header)
		checkReencode(t, h, body)
		checkPeek(t, h, body)
	})
}

func FuzzDecodeStructured(f *testing.F) {
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":{"room_id":"r"}}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","datacontenttype":"text/plain","data":"x y"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data_base64":"AAE=","n":5,"b":false,"time":"2020-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"data_base64":1,"specversion":"1.0"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"\u00e9","source":"mailto:a@b","type":"t","subject":"\u0000"}`))
	f.Add([]byte(`{"id":"a b","source":"/a b","specversion":"1.0","type":"t","traceparent":"00-x","tracestate":7,"data":{"id":"inner"}}`))
	f.Add([]byte(`{"id":"a","source":"/s","id":"b","specversion":"1.0","type":"t"}`))
	f.Add([]byte(`{"id":"cut","source":"/s","data":{"w":"<<`))
	f.Fuzz(func(t *testing.T, body []byte) {
		checkReencode(t, ceJSON, body)
		checkPeek(t, ceJSON, body)
	})
}
