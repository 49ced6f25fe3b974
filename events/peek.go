package events

import (
	"encoding/json"
	"slices"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// PeekLimit is how many bytes of a structured-mode body PeekOrigin reads at
// most (64 KiB).
const PeekLimit = 64 << 10

// originAttrs are the attributes an Origin carries, in the order of the
// arrays peekHeaders and peekMembers return.
var originAttrs = [...]string{"source", "id", ExtTraceParent, ExtTraceState}

// PeekOrigin reads the origin of a message that may not decode as a
// CloudEvent (too large, malformed, or invalid in another attribute), so
// that its room.failed result can still name the request.
//
// In binary mode it reads the ce-source, ce-id, ce-traceparent and
// ce-tracestate headers, whatever the body holds. In structured mode it
// reads the top-level "source", "id", "traceparent" and "tracestate"
// members found within the first PeekLimit bytes of the body, whatever
// follows them. Values are decoded and checked as Decode does.
//
// ok is false, with the zero Origin, unless source and id are each given
// once and are acceptable to Decode; the caller then falls back to
// StreamOrigin. A trace attribute that is unreadable or given twice is left
// out. Whenever Decode accepts a message (in structured mode, with a body
// of at most PeekLimit bytes), PeekOrigin returns ok and the OriginOf the
// decoded event.
func PeekOrigin(h nats.Header, body []byte) (o Origin, ok bool) {
	var v [len(originAttrs)]string
	var read [len(originAttrs)]bool
	contentType, ceHeaders := scanHeader(h)
	switch {
	case isStructured(contentType):
		if checkStructuredContentType(contentType) != "" {
			return Origin{}, false
		}
		v, read = peekMembers(body[:min(len(body), PeekLimit)])
	case ceHeaders > 0:
		v, read = peekHeaders(h)
	default:
		return Origin{}, false
	}
	if !read[0] || !read[1] {
		return Origin{}, false
	}
	u := types.ParseURIRef(v[0]) // as both decoders read source
	if u == nil {
		return Origin{}, false
	}
	o = Origin{Source: u.String(), ID: v[1]}
	if blank(o.Source) || checkString(o.Source) != "" || blank(o.ID) || checkString(o.ID) != "" {
		return Origin{}, false
	}
	if read[2] && checkString(v[2]) == "" {
		o.TraceParent = v[2]
	}
	if read[3] && checkString(v[3]) == "" {
		o.TraceState = v[3]
	}
	return o, true
}

// peekHeaders returns the decoded value of each of originAttrs' ce-
// headers, and whether it was given once, with one value, that decodes.
func peekHeaders(h nats.Header) (v [len(originAttrs)]string, read [len(originAttrs)]bool) {
	var n [len(originAttrs)]int
	for key, vals := range h {
		if !hasCEPrefix(key) {
			continue
		}
		i := slices.Index(originAttrs[:], lowerASCII(key[len(headerPrefix):]))
		if i < 0 {
			continue
		}
		n[i]++
		if len(vals) == 1 {
			var msg string
			v[i], msg = decodeHeaderValue(vals[0])
			read[i] = msg == ""
		}
	}
	for i := range n {
		if n[i] != 1 {
			v[i], read[i] = "", false
		}
	}
	return v, read
}

// peekMembers returns the string value of each of originAttrs' top-level
// members in b, which may be cut short, and whether it was given once with
// a value of the right kind: a JSON string for source and id; an extension
// value (string, integer or boolean) for the trace attributes.
func peekMembers(b []byte) (v [len(originAttrs)]string, read [len(originAttrs)]bool) {
	var n [len(originAttrs)]int
	eachMember(b, func(name string, raw []byte) bool {
		i := slices.Index(originAttrs[:], name)
		if i < 0 {
			return true
		}
		n[i]++
		// The body was not validated: check the value (jsonString would
		// replace invalid UTF-8, extensionValue trusts literals).
		if !utf8.Valid(raw) || !json.Valid(raw) {
			return true
		}
		if i < 2 {
			v[i], read[i] = jsonString(raw)
			return true
		}
		if x, msg := extensionValue(raw); msg == "" && x != nil {
			s, err := types.Format(x)
			v[i], read[i] = s, err == nil
		}
		return true
	})
	for i := range n {
		if n[i] != 1 {
			v[i], read[i] = "", false
		}
	}
	return v, read
}
