package events

import (
	"strings"
	"testing"
)

// htmlEscapes are what encoding/json writes for '<', '>' and '&' when it
// escapes HTML: six bytes for one.
var htmlEscapes = []string{`\u003c`, `\u003e`, `\u0026`}

func hasHTMLEscape(b []byte) bool {
	for _, esc := range htmlEscapes {
		if strings.Contains(string(b), esc) {
			return true
		}
	}
	return false
}

func TestEncodeStructuredDoesNotEscapeHTML(t *testing.T) {
	tests := []struct {
		name, contentType, data string
	}{
		{"JSON data", "application/json", `{"room_id":"r1","metadata":{"welcome_message":"<b>Hi</b> & welcome"}}`},
		{"text data", "text/plain", `<b>Hi</b> & welcome`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEvent("<room> & co")
			e.SetDataContentType(tt.contentType)
			e.DataEncoded = []byte(tt.data)
			e.SetExtension("note", "a<b>c&d")
			_, body, err := EncodeStructured(e)
			if err != nil {
				t.Fatal(err)
			}
			if hasHTMLEscape(body) {
				t.Errorf("body HTML-escapes '<', '>' or '&': %s", body)
			}
			back, _, err := Decode(ceJSON, body)
			if err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			if d := diffCanon(canon(t, e), canon(t, back)); d != "" {
				t.Errorf("round trip changed the event:\n%s", d)
			}
		})
	}
}

func TestEncodeStructuredSizeWithAngleBrackets(t *testing.T) {
	brackets := strings.Repeat("<", 100_000)
	for _, tt := range []struct{ contentType, data string }{
		{"application/json", `{"room_id":"r1","metadata":{"welcome_message":"` + brackets + `"}}`},
		{"text/plain", brackets},
	} {
		e := newEvent("")
		e.SetDataContentType(tt.contentType)
		e.DataEncoded = []byte(tt.data)
		_, body, err := EncodeStructured(e)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) >= 110_000 {
			t.Errorf("%s: 100,000 '<' in data encode to %d bytes, want < 110,000", tt.contentType, len(body))
		}
	}
}
