package events

import (
	"bytes"
	"mime"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// Decode reads a CloudEvent from a NATS message's header and body, in
// whichever content mode the message uses, and returns the event and that
// mode. The event's data may alias body (do not modify body afterwards).
//
// On failure the error is an *InvalidEventError (errors.Is ErrInvalidEvent)
// listing every problem found, and the mode is the one the message was read
// in, or "" when the message is not recognisably a CloudEvent.
func Decode(h nats.Header, body []byte) (*event.Event, Mode, error) {
	contentType, ceHeaders := scanHeader(h)
	if isStructured(contentType) {
		var p problems
		if msg := checkStructuredContentType(contentType); msg != "" {
			p.add("", msg)
			return nil, ModeStructured, p.err(ModeStructured)
		}
		e, err := decodeStructured(body)
		return e, ModeStructured, err
	}
	if ceHeaders > 0 {
		e, err := decodeBinary(h, body, contentType, ceHeaders)
		return e, ModeBinary, err
	}
	var p problems
	switch {
	case len(h) == 0 && len(body) == 0:
		p.add("", "not a CloudEvent: the message is empty")
	case bytes.Contains(body, []byte(`"specversion"`)):
		p.add("", "not a CloudEvent: no ce- headers and Content-Type is not application/cloudevents+json "+
			"(a JSON event format body needs Content-Type: application/cloudevents+json)")
	default:
		p.add("", "not a CloudEvent: no ce-specversion header and Content-Type is not application/cloudevents+json")
	}
	return nil, "", p.err("")
}

// scanHeader returns a message's Content-Type ("" when absent) and its
// number of ce- headers. Given Content-Type under several spellings, it
// takes the first spelling in byte order, so that every reading of one
// message agrees on its content mode.
func scanHeader(h nats.Header) (contentType string, ceHeaders int) {
	ctKey := ""
	for k, v := range h {
		switch {
		case hasCEPrefix(k):
			ceHeaders++
		case len(v) > 0 && strings.EqualFold(k, headerContentType) && (ctKey == "" || k < ctKey):
			contentType, ctKey = v[0], k
		}
	}
	return contentType, ceHeaders
}

// isStructured reports whether a Content-Type announces structured mode
// (media type starting with application/cloudevents, any case).
func isStructured(ct string) bool {
	const prefix = "application/cloudevents"
	ct = strings.TrimSpace(ct)
	return len(ct) >= len(prefix) && strings.EqualFold(ct[:len(prefix)], prefix)
}

// checkStructuredContentType accepts application/cloudevents+json with an
// optional UTF-8 charset, and returns what is wrong otherwise.
func checkStructuredContentType(ct string) string {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "Content-Type " + quote(ct) + " is not a valid media type"
	}
	if mt != event.ApplicationCloudEventsJSON {
		return "Content-Type " + quote(ct) + ": only the JSON event format (application/cloudevents+json) is supported"
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return "Content-Type " + quote(ct) + ": charset must be UTF-8"
	}
	return ""
}
