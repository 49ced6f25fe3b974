package events

import (
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// checkPeek asserts that PeekOrigin agrees with Decode whenever Decode
// succeeds (for structured bodies within PeekLimit), and that an origin it
// recovers always makes a valid room.failed result.
func checkPeek(t *testing.T, h nats.Header, body []byte) {
	t.Helper()
	o, ok := PeekOrigin(h, body)
	if !ok && o != (Origin{}) {
		t.Fatalf("PeekOrigin = %+v with ok false, want the zero Origin", o)
	}
	if ok {
		if _, err := NewResultFor(o, TypeRoomFailed, "roomworker", RoomFailed{Reason: ReasonInvalidEvent}); err != nil {
			t.Fatalf("PeekOrigin = %+v, which makes no result: %v", o, err)
		}
	}
	e, mode, err := Decode(h, body)
	if err != nil || (mode == ModeStructured && len(body) > PeekLimit) {
		return
	}
	if want := OriginOf(e); !ok || o != want {
		t.Fatalf("PeekOrigin = %+v, %v; Decode gives %+v\nheader %v\nbody %q", o, ok, want, h, body)
	}
}

func TestPeekOrigin(t *testing.T) {
	const mb = 1 << 20
	attrs := `"specversion":"1.0","type":"room.create"`
	// padTo returns a data member that pushes what follows it to offset n.
	padTo := func(head string, n int) string {
		const open, closing = `"pad":"`, `",`
		return open + strings.Repeat("x", n-len(head)-len(open)-len(closing)) + closing
	}
	head := `{"source":"/scheduler",`
	straddling := head + padTo(head, PeekLimit-len(`"id":"abc`)) + `"id":"abcdef",` + attrs + `}`
	tests := []struct {
		name   string
		header nats.Header
		body   string
		want   Origin // zero: ok is false
	}{
		{
			name:   "binary headers with a 1 MB body",
			header: minimalBinary("ce-traceparent", traceparent, "ce-tracestate", "rojo=1"),
			body:   strings.Repeat("<", mb),
			want:   Origin{Source: "/scheduler", ID: "abc-1", TraceParent: traceparent, TraceState: "rojo=1"},
		},
		{
			name:   "binary headers are enough",
			header: binaryHeader("CE-ID", "only-id", "Ce-Source", "urn:x"),
			want:   Origin{Source: "urn:x", ID: "only-id"},
		},
		{
			name: "percent-encoded and quoted header values",
			header: binaryHeader("ce-id", "req%201%20%E2%82%AC", "ce-source", "/a%20b", "ce-tracestate", `"a=1%2Cb=2"`,
				"ce-specversion", "1.0", "ce-type", "room.create"),
			want: Origin{Source: "/a%20b", ID: "req 1 €", TraceState: "a=1,b=2"},
		},
		{
			name:   "binary: a trace header that does not decode is left out",
			header: minimalBinary("ce-traceparent", "%zz"),
			want:   Origin{Source: "/scheduler", ID: "abc-1"},
		},
		{
			name:   "binary: missing id",
			header: binaryHeader("ce-specversion", "1.0", "ce-source", "/s", "ce-type", "room.create"),
		},
		{
			name:   "binary: id under two spellings",
			header: minimalBinary("Ce-Id", "abc-2"),
		},
		{
			name:   "binary: id given twice",
			header: binaryHeader("ce-id", "a", "ce-id", "b", "ce-source", "/s"),
		},
		{
			name:   "binary: percent-encoded control character",
			header: binaryHeader("ce-id", "a%07b", "ce-source", "/s"),
		},
		{
			name:   "binary: bad percent-encoding",
			header: binaryHeader("ce-id", "a%2", "ce-source", "/s"),
		},
		{
			name:   "binary: blank id",
			header: binaryHeader("ce-id", "%20", "ce-source", "/s"),
		},
		{
			name:   "binary: source not a URI-reference",
			header: binaryHeader("ce-id", "a", "ce-source", "http://%zz"),
		},
		{
			name:   "structured: id at the start of a 1 MB body",
			header: ceJSON,
			body:   `{"id":"big-1","source":"/scheduler",` + attrs + `,"traceparent":"` + traceparent + `","data":{"w":"` + strings.Repeat("<", mb) + `"}}`,
			want:   Origin{Source: "/scheduler", ID: "big-1", TraceParent: traceparent},
		},
		{
			name:   "structured: body cut short after the id",
			header: ceJSON,
			body:   `{"id":"cut-1", "source" : "/scheduler" ,` + attrs + `,"data":{"w":"<<<`,
			want:   Origin{Source: "/scheduler", ID: "cut-1"},
		},
		{
			name:   "structured: id after the scan limit",
			header: ceJSON,
			body:   `{"source":"/scheduler",` + attrs + `,"data":"` + strings.Repeat("x", mb) + `","id":"late"}`,
		},
		{
			name:   "structured: id straddling the scan limit",
			header: ceJSON,
			body:   straddling,
		},
		{
			name:   "structured: escaped strings, charset parameter, extensions of other types",
			header: nats.Header{"content-type": {"application/cloudevents+json; charset=utf-8"}},
			body:   `{"i\u0064":"a\"\u00e9","source":"urn:s",` + attrs + `,"traceparent":7,"tracestate":true}`,
			want:   Origin{Source: "urn:s", ID: `a"é`, TraceParent: "7", TraceState: "true"},
		},
		{
			name:   "structured: the body wins over ce- headers",
			header: binaryHeader("Content-Type", "application/cloudevents+json", "ce-id", "h", "ce-source", "/h"),
			body:   `{"id":"b","source":"/b"}`,
			want:   Origin{Source: "/b", ID: "b"},
		},
		{
			name:   "structured: missing id",
			header: ceJSON,
			body:   `{"source":"/scheduler",` + attrs + `}`,
		},
		{
			name:   "structured: only a nested id",
			header: ceJSON,
			body:   `{"source":"/scheduler","data":{"id":"inner"}}`,
		},
		{
			name:   "structured: duplicate id",
			header: ceJSON,
			body:   `{"id":"a","source":"/scheduler","id":"b"}`,
		},
		{
			name:   "structured: duplicate source",
			header: ceJSON,
			body:   `{"source":"/a","id":"a","source":"/b"}`,
		},
		{
			name:   "structured: non-string id",
			header: ceJSON,
			body:   `{"id":42,"source":"/scheduler"}`,
		},
		{
			name:   "structured: null id",
			header: ceJSON,
			body:   `{"id":null,"source":"/scheduler"}`,
		},
		{
			name:   "structured: empty id",
			header: ceJSON,
			body:   `{"id":"","source":"/scheduler"}`,
		},
		{
			name:   "structured: escaped control character",
			header: ceJSON,
			body:   `{"id":"a\u0000b","source":"/scheduler"}`,
		},
		{
			name:   "structured: raw control character",
			header: ceJSON,
			body:   "{\"id\":\"a\x01b\",\"source\":\"/scheduler\"}",
		},
		{
			name:   "structured: C1 control character",
			header: ceJSON,
			body:   `{"id":"a` + "\u0085" + `b","source":"/scheduler"}`,
		},
		{
			name:   "structured: invalid UTF-8 beside an escape",
			header: ceJSON,
			body:   "{\"id\":\"\\u00e9\xff\",\"source\":\"/scheduler\"}",
		},
		{
			name:   "structured: a trace member with a control character is left out",
			header: ceJSON,
			body:   `{"id":"a","source":"/s","tracestate":"x\u0001"}`,
			want:   Origin{Source: "/s", ID: "a"},
		},
		{
			name:   "structured: a trace member that is not JSON is left out",
			header: ceJSON,
			body:   `{"id":"a","source":"/s","traceparent":tru,"tracestate":"ok"}`,
			want:   Origin{Source: "/s", ID: "a", TraceState: "ok"},
		},
		{
			name:   "structured: not an object",
			header: ceJSON,
			body:   `["id","a"]`,
		},
		{
			name:   "structured: unsupported format",
			header: nats.Header{"Content-Type": {"application/cloudevents+xml"}},
			body:   `{"id":"a","source":"/s"}`,
		},
		{
			name: "not a CloudEvent",
			body: `{"id":"a","source":"/s"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := PeekOrigin(tt.header, []byte(tt.body))
			if wantOK := tt.want != (Origin{}); ok != wantOK || got != tt.want {
				t.Errorf("PeekOrigin = %+v, %v; want %+v, %v", got, ok, tt.want, wantOK)
			}
			checkPeek(t, tt.header, []byte(tt.body))
		})
	}
}

// Every message the decoder accepts yields the same origin through
// PeekOrigin, in both modes.
func TestPeekOriginAgreesWithDecode(t *testing.T) {
	e := request("/scheduler/a b", "req 1")
	e.SetExtension("tracestate", "k=<v>&w")
	for _, enc := range []struct {
		name string
		f    func(*event.Event) (nats.Header, []byte, error)
	}{{"binary", EncodeBinary}, {"structured", EncodeStructured}} {
		h, body, err := enc.f(e)
		if err != nil {
			t.Fatal(err)
		}
		o, ok := PeekOrigin(h, body)
		if want := OriginOf(e); !ok || o != want {
			t.Errorf("%s: PeekOrigin = %+v, %v; want %+v", enc.name, o, ok, want)
		}
		checkPeek(t, h, body)
	}
}

// A message with Content-Type under two spellings is read in one content
// mode, every time, by both Decode and PeekOrigin.
func TestContentTypeSpellingsReadOneWay(t *testing.T) {
	h := binaryHeader("content-type", "text/plain", "Content-Type", "application/cloudevents+json",
		"ce-specversion", "1.0", "ce-id", "h", "ce-source", "/h", "ce-type", "room.create")
	body := []byte(`{"specversion":"1.0","id":"b","source":"/b","type":"room.create"}`)
	for range 50 {
		if _, mode, err := Decode(h, body); err != nil || mode != ModeStructured {
			t.Fatalf("Decode: mode %q, %v; want structured (\"Content-Type\" sorts first)", mode, err)
		}
		if o, ok := PeekOrigin(h, body); !ok || o.ID != "b" {
			t.Fatalf("PeekOrigin = %+v, %v; want the body's id", o, ok)
		}
	}
}
