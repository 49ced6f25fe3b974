package events

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

var ceJSON = nats.Header{"Content-Type": []string{"application/cloudevents+json"}}

func TestDecodeStructured(t *testing.T) {
	const attrs = `"specversion":"1.0","id":"e-1","source":"https://scheduler.example/eu","type":"room.create"`
	tests := []struct {
		name  string
		ct    string
		body  string
		check map[string]string
		b64   bool
	}{
		{
			name:  "data as JSON object",
			ct:    "application/cloudevents+json",
			body:  `{` + attrs + `,"datacontenttype":"application/json","data":{"room_id":"r1","metadata":{"room_title":"T"}}}`,
			check: map[string]string{"id": "e-1", "source": "https://scheduler.example/eu", "data": `{"room_id":"r1","metadata":{"room_title":"T"}}`},
		},
		{
			name:  "data without datacontenttype is JSON",
			ct:    "application/cloudevents+json",
			body:  `{` + attrs + `,"data":[1, 2]}`,
			check: map[string]string{"datacontenttype": "", "data": `[1, 2]`},
		},
		{
			name:  "data_base64",
			ct:    "application/cloudevents+json",
			body:  `{` + attrs + `,"datacontenttype":"application/octet-stream","data_base64":"AAEC/w=="}`,
			check: map[string]string{"data": "\x00\x01\x02\xff"},
			b64:   true,
		},
		{
			name:  "text data",
			ct:    "application/cloudevents+json",
			body:  `{` + attrs + `,"datacontenttype":"text/plain","data":"hello \"you\""}`,
			check: map[string]string{"data": `hello "you"`},
		},
		{
			name:  "charset parameter and case",
			ct:    "Application/CloudEvents+JSON; charset=UTF-8",
			body:  `{` + attrs + `}`,
			check: map[string]string{"id": "e-1", "data": ""},
		},
		{
			name:  "extensions of every type, null is absent",
			ct:    "application/cloudevents+json",
			body:  `{` + attrs + `,"traceparent":"00-a-b-01","priority":7,"urgent":true,"gone":null,"subject":"room01","time":"2026-01-02T03:04:05+01:00"}`,
			check: map[string]string{"ext:traceparent": "00-a-b-01", "ext:priority": "7", "ext:urgent": "true", "subject": "room01", "time": "2026-01-02T02:04:05Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, mode, err := Decode(nats.Header{"Content-Type": []string{tt.ct}}, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if mode != ModeStructured {
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
			if e.DataBase64 != tt.b64 {
				t.Errorf("DataBase64 = %v", e.DataBase64)
			}
			// Structured and binary renderings both give the event back.
			for _, enc := range []func(*event.Event) (nats.Header, []byte, error){EncodeStructured, EncodeBinary} {
				h, b, err := enc(e)
				if err != nil {
					t.Fatal(err)
				}
				again, _, err := Decode(h, b)
				if err != nil {
					t.Fatalf("re-decode %q: %v", b, err)
				}
				if d := diffCanon(got, canon(t, again)); d != "" {
					t.Errorf("re-encoded event differs:\n%s", d)
				}
			}
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	valid := `"specversion":"1.0","id":"e-1","source":"/s","type":"room.create"`
	tests := []struct {
		name   string
		header nats.Header
		body   string
		mode   Mode
		path   string   // Path of the first problem
		want   []string // substrings of the error
	}{
		{"empty message", nil, "", "", "", []string{"not a CloudEvent: the message is empty"}},
		{"plain JSON body without ce- headers", nil, `{` + valid + `}`, "", "",
			[]string{"not a CloudEvent", "needs Content-Type: application/cloudevents+json"}},
		{"unrelated headers only", binaryHeader("Content-Type", "application/json"), `{}`, "", "", []string{"no ce-specversion header"}},

		{"binary: missing specversion", binaryHeader("ce-id", "1", "ce-source", "/s", "ce-type", "t"), "", ModeBinary, "/specversion",
			[]string{"missing required attribute specversion (header ce-specversion)"}},
		{"binary: specversion 0.3", binaryHeader("ce-specversion", "0.3", "ce-id", "1", "ce-source", "/s", "ce-type", "t"), "", ModeBinary, "/specversion",
			[]string{`specversion "0.3" is not supported (want "1.0")`}},
		{"binary: missing id", binaryHeader("ce-specversion", "1.0", "ce-source", "/s", "ce-type", "t"), "", ModeBinary, "/id",
			[]string{"missing required attribute id (ce-id)"}},
		{"binary: missing source", binaryHeader("ce-specversion", "1.0", "ce-id", "1", "ce-type", "t"), "", ModeBinary, "/source",
			[]string{"missing required attribute source (ce-source)"}},
		{"binary: missing type", binaryHeader("ce-specversion", "1.0", "ce-id", "1", "ce-source", "/s"), "", ModeBinary, "/type",
			[]string{"missing required attribute type (ce-type)"}},
		{"binary: blank id", binaryHeader("ce-specversion", "1.0", "ce-id", "%20", "ce-source", "/s", "ce-type", "t"), "", ModeBinary, "/id",
			[]string{"missing required attribute id (ce-id)"}},
		{"binary: two values", minimalBinary("ce-id", "again"), "", ModeBinary, "/id", []string{`header "ce-id": attribute id given 2 times`}},
		{"binary: missing everything reports all", binaryHeader("ce-specversion", "1.0"), "", ModeBinary, "/id",
			[]string{"attribute id (ce-id)", "attribute source (ce-source)", "attribute type (ce-type)"}},
		{"binary: bad escape", minimalBinary("ce-subject", "room%zz"), "", ModeBinary, "/subject",
			[]string{`header "ce-subject": invalid percent-encoding "%zz" at offset 4`}},
		{"binary: truncated escape", minimalBinary("ce-subject", "room%4"), "", ModeBinary, "/subject", []string{`invalid percent-encoding "%4"`}},
		{"binary: invalid UTF-8 after decoding", minimalBinary("ce-subject", "a%FFb"), "", ModeBinary, "/subject",
			[]string{"decoded value is not valid UTF-8"}},
		{"binary: overlong UTF-8", minimalBinary("ce-subject", "%C0%A0"), "", ModeBinary, "/subject", []string{"not valid UTF-8"}},
		{"binary: encoded CR LF", minimalBinary("ce-subject", "a%0D%0Ab"), "", ModeBinary, "/subject", []string{"control character U+000D"}},
		{"binary: raw non-ASCII", minimalBinary("ce-subject", "Köln"), "", ModeBinary, "/subject",
			[]string{"byte 0xC3 at offset 1 is not printable ASCII"}},
		{"binary: unencoded quote", minimalBinary("ce-subject", `a"b`), "", ModeBinary, "/subject", []string{"unencoded double quote"}},
		{"binary: unterminated quoted string", minimalBinary("ce-subject", `"abc`), "", ModeBinary, "/subject", []string{"not terminated"}},
		{"binary: bad percent in source", binaryHeader("ce-specversion", "1.0", "ce-id", "1", "ce-source", "/a%G0", "ce-type", "t"), "", ModeBinary, "/source",
			[]string{`header "ce-source": invalid percent-encoding "%G0"`}},
		{"binary: source not a URI-reference", binaryHeader("ce-specversion", "1.0", "ce-id", "1", "ce-source", "http://%41:80:x", "ce-type", "t"), "", ModeBinary, "/source",
			[]string{`header "ce-source": "http://A:80:x" is not a URI-reference`}},
		{"binary: same attribute under two spellings", minimalBinary("Ce-Id", "other"), "", ModeBinary, "/id", []string{"attribute id given more than once"}},
		{"binary: bad extension name", minimalBinary("ce-my-ext", "v"), "", ModeBinary, "", []string{`"my-ext" is not a valid attribute name`}},
		{"binary: empty attribute name", minimalBinary("ce-", "v"), "", ModeBinary, "", []string{"not a valid attribute name"}},
		{"binary: data as extension", minimalBinary("ce-data", "v"), "", ModeBinary, "/data", []string{"reserved"}},
		{"binary: bad time", minimalBinary("ce-time", "yesterday"), "", ModeBinary, "/time", []string{`"yesterday" is not an RFC 3339 timestamp`}},
		{"binary: relative dataschema", minimalBinary("ce-dataschema", "schema.json"), "", ModeBinary, "/dataschema", []string{"ce-dataschema"}},
		{"binary: bad datacontenttype", minimalBinary("ce-datacontenttype", "not%20a%20type"), "", ModeBinary, "/datacontenttype", []string{"ce-datacontenttype"}},
		{"binary: empty subject", minimalBinary("ce-subject", ""), "", ModeBinary, "/subject", []string{"subject"}},

		{"structured: empty body", ceJSON, "", ModeStructured, "", []string{"empty body"}},
		{"structured: not JSON", ceJSON, "room please", ModeStructured, "", []string{"body is not a JSON object"}},
		{"structured: JSON array", ceJSON, `[1]`, ModeStructured, "", []string{"body is not a JSON object"}},
		{"structured: trailing bytes", ceJSON, `{` + valid + `} x`, ModeStructured, "", []string{"body is not a JSON object"}},
		{"structured: invalid UTF-8", ceJSON, "{\"specversion\":\"1.0\",\"id\":\"\xff\"}", ModeStructured, "", []string{"not valid UTF-8"}},
		{"structured: type missing", ceJSON, `{"specversion":"1.0","id":"1","source":"/s"}`, ModeStructured, "/type",
			[]string{`missing required attribute type (member "type")`}},
		{"structured: specversion 0.3", ceJSON, `{"specversion":"0.3","id":"1","source":"/s","type":"t"}`, ModeStructured, "/specversion",
			[]string{`specversion "0.3" is not supported`}},
		{"structured: no specversion", ceJSON, `{"id":"1","source":"/s","type":"t"}`, ModeStructured, "/specversion", []string{"missing required attribute specversion"}},
		{"structured: id given twice", ceJSON, `{` + valid + `,"id":"other"}`, ModeStructured, "/id", []string{`member "id" is given more than once`}},
		{"structured: id not a string", ceJSON, `{"specversion":"1.0","id":1,"source":"/s","type":"t"}`, ModeStructured, "/id", []string{`member "id": must be a JSON string`}},
		{"structured: data and data_base64", ceJSON, `{` + valid + `,"data":{},"data_base64":"AA=="}`, ModeStructured, "/data", []string{"must not both be present"}},
		{"structured: numeric data_base64 (panics the SDK reader)", ceJSON, `{"data_base64":1,` + valid + `}`, ModeStructured, "/data_base64", []string{"must be a JSON string"}},
		{"structured: bad base64", ceJSON, `{` + valid + `,"data_base64":"%%%"}`, ModeStructured, "/data_base64", []string{"not base64"}},
		{"structured: text data not a string", ceJSON, `{` + valid + `,"datacontenttype":"text/plain","data":{}}`, ModeStructured, "/data", []string{"must be a JSON string"}},
		{"structured: object extension", ceJSON, `{` + valid + `,"ext":{"a":1}}`, ModeStructured, "/ext", []string{"must be a string, an integer or a boolean"}},
		{"structured: fractional extension", ceJSON, `{` + valid + `,"ext":1.5}`, ModeStructured, "/ext", []string{"not an integer"}},
		{"structured: upper-case extension name", ceJSON, `{` + valid + `,"Ext":"v"}`, ModeStructured, "", []string{`member "Ext": not a valid attribute name`}},
		{"structured: control character", ceJSON, `{` + valid + `,"subject":"a\nb"}`, ModeStructured, "/subject", []string{"control character U+000A"}},
		{"structured: other format", binaryHeader("Content-Type", "application/cloudevents+avro"), `x`, ModeStructured, "", []string{"only the JSON event format"}},
		{"structured: batch", binaryHeader("Content-Type", "application/cloudevents-batch+json"), `[]`, ModeStructured, "", []string{"only the JSON event format"}},
		{"structured: charset latin1", binaryHeader("Content-Type", "application/cloudevents+json; charset=iso-8859-1"), `{}`, ModeStructured, "", []string{"charset must be UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, mode, err := Decode(tt.header, []byte(tt.body))
			if err == nil {
				t.Fatalf("decoded %v, want an error", e)
			}
			if e != nil {
				t.Errorf("event returned with error")
			}
			if !errors.Is(err, ErrInvalidEvent) {
				t.Errorf("errors.Is(%v, ErrInvalidEvent) = false", err)
			}
			if mode != tt.mode {
				t.Errorf("mode = %q, want %q", mode, tt.mode)
			}
			var ie *InvalidEventError
			if !errors.As(err, &ie) || len(ie.Problems) == 0 {
				t.Fatalf("error %v is not an *InvalidEventError with problems", err)
			}
			if ie.Problems[0].Path != tt.path {
				t.Errorf("first problem path = %q, want %q (%v)", ie.Problems[0].Path, tt.path, ie.Problems)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDecodeBoundsAttributes(t *testing.T) {
	h := minimalBinary()
	for i := 0; i < 10000; i++ {
		h.Set("ce-x"+strconv.Itoa(i), "v")
	}
	_, _, err := Decode(h, nil)
	if !errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), "more than the 64 allowed") {
		t.Fatalf("err = %v", err)
	}
	var ie *InvalidEventError
	errors.As(err, &ie)
	if len(ie.Problems) != 1 {
		t.Errorf("got %d problems, want 1 summary", len(ie.Problems))
	}

	many := `{"specversion":"1.0","id":"1","source":"/s","type":"t"`
	for i := 0; i < 1000; i++ {
		many += `,"x` + strconv.Itoa(i) + `":1`
	}
	if _, _, err := Decode(ceJSON, []byte(many+"}")); !errors.Is(err, ErrInvalidEvent) || !strings.Contains(err.Error(), "members, more than") {
		t.Fatalf("1000 extensions: err = %v", err)
	}
	deep := []byte(`{"specversion":"1.0","id":"1","source":"/s","type":"t","data":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`)
	if _, _, err := Decode(ceJSON, deep); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("deeply nested data: err = %v, want ErrInvalidEvent", err)
	}
}
