package events

import (
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

const (
	headerPrefix      = "ce-"
	headerContentType = "Content-Type"
)

// Bits for the v1.0 context attributes, to catch one given twice.
const (
	seenSpecVersion uint8 = 1 << iota
	seenID
	seenSource
	seenType
	seenSubject
	seenTime
	seenDataContentType
	seenDataSchema
)

var knownBits = map[string]uint8{
	"specversion": seenSpecVersion, "id": seenID, "source": seenSource, "type": seenType,
	"subject": seenSubject, "time": seenTime, "datacontenttype": seenDataContentType, "dataschema": seenDataSchema,
}

// headerName names an attribute's binary-mode header in messages.
func headerName(attr string) string { return headerPrefix + attr }

// hasCEPrefix reports whether a header key starts with "ce-", in any case.
func hasCEPrefix(key string) bool {
	return len(key) >= len(headerPrefix) && strings.EqualFold(key[:len(headerPrefix)], headerPrefix)
}

// lowerASCII returns s in lowercase, without allocating when it already is.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// decodeBinary reads a binary-mode event: ce- headers and data as body.
// contentType is the message's Content-Type header ("" when absent) and
// ceHeaders the number of ce- headers.
func decodeBinary(h nats.Header, body []byte, contentType string, ceHeaders int) (*event.Event, error) {
	var p problems
	ctx := &event.EventContextV1{}
	var seen uint8 // one bit per known attribute, to catch duplicates
	if ceHeaders > MaxAttributes {
		p.add("", fmt.Sprintf("%d ce- headers, more than the %d allowed", ceHeaders, MaxAttributes))
		return nil, p.err(ModeBinary)
	}
	specversion := ""
	for key, vals := range h {
		if !hasCEPrefix(key) {
			continue
		}
		attr := lowerASCII(key[len(headerPrefix):])
		if !validName(attr) {
			p.add("", fmt.Sprintf("header %s: %s is not a valid attribute name (lowercase ASCII letters and digits)", quote(key), quote(key[len(headerPrefix):])))
			continue
		}
		if reservedNames[attr] && knownBits[attr] == 0 { // "data"
			p.add(attr, fmt.Sprintf("header %s: %s is reserved and cannot be an extension", quote(key), attr))
			continue
		}
		if len(vals) != 1 {
			p.add(attr, fmt.Sprintf("header %s: attribute %s given %d times", quote(key), attr, len(vals)))
			continue
		}
		if b := knownBits[attr]; b != 0 {
			if seen&b != 0 {
				p.add(attr, fmt.Sprintf("header %s: attribute %s given more than once", quote(key), attr))
				continue
			}
			seen |= b
		} else if _, dup := ctx.Extensions[attr]; dup {
			p.add(attr, fmt.Sprintf("header %s: attribute %s given more than once", quote(key), attr))
			continue
		}
		v, err := decodeHeaderValue(vals[0])
		if err != "" {
			p.add(attr, fmt.Sprintf("header %s: %s", quote(key), err))
			continue
		}
		switch attr {
		case "specversion":
			specversion = v
		case "id":
			ctx.ID = v
		case "type":
			ctx.Type = v
		case "source":
			if v == "" {
				break // reported as missing
			}
			u := types.ParseURIRef(v)
			if u == nil {
				p.add(attr, fmt.Sprintf("header %s: %s is not a URI-reference", quote(key), quote(v)))
				break
			}
			ctx.Source = *u
		case "subject":
			ctx.Subject = &v
		case "time":
			t, err := types.ParseTimestamp(v)
			if err != nil || t == nil {
				p.add(attr, fmt.Sprintf("header %s: %s is not an RFC 3339 timestamp", quote(key), quote(v)))
				break
			}
			ctx.Time = t
		case "datacontenttype":
			ctx.DataContentType = &v
		case "dataschema":
			u := types.ParseURI(v)
			if u == nil {
				p.add(attr, fmt.Sprintf("header %s: %s is not a URI", quote(key), quote(v)))
				break
			}
			ctx.DataSchema = u
		default:
			if ctx.Extensions == nil {
				ctx.Extensions = make(map[string]any, 4)
			}
			ctx.Extensions[attr] = v
		}
	}
	if seen&seenSpecVersion == 0 {
		p.add("specversion", "missing required attribute specversion (header ce-specversion)")
	} else if specversion != event.CloudEventsVersionV1 && !p.has("specversion") {
		p.add("specversion", fmt.Sprintf("header ce-specversion: specversion %s is not supported (want \"1.0\")", quote(specversion)))
	}
	if len(p) > 0 {
		return nil, p.err(ModeBinary)
	}
	if seen&seenDataContentType == 0 && contentType != "" {
		ct := contentType
		ctx.DataContentType = &ct
	}
	e := &event.Event{Context: ctx}
	if len(body) > 0 {
		e.DataEncoded = body
	}
	validateEvent(e, headerName, &p)
	if err := p.err(ModeBinary); err != nil {
		return nil, err
	}
	return e, nil
}

func (p problems) has(attr string) bool {
	for _, f := range p {
		if f.Path == "/"+attr {
			return true
		}
	}
	return false
}

// decodeHeaderValue undoes the binding's header value encoding: an
// RFC 7230 quoted-string is unquoted, then one round of percent-decoding is
// applied. The raw value must be printable ASCII (space allowed, for older
// producers). It returns the value, or a description of what is wrong.
func decodeHeaderValue(raw string) (string, string) {
	pct := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c < 0x20 || c > 0x7e:
			return "", fmt.Sprintf("byte 0x%02X at offset %d is not printable ASCII; it must be percent-encoded", c, i)
		case c == '%':
			pct = true
		case c == '"' && i > 0:
			if raw[0] != '"' {
				return "", fmt.Sprintf("unencoded double quote at offset %d", i)
			}
		}
	}
	v := raw
	if len(v) > 0 && v[0] == '"' {
		var msg string
		if v, msg = unquote(v); msg != "" {
			return "", msg
		}
	}
	if pct {
		var msg string
		if v, msg = percentDecode(v); msg != "" {
			return "", msg
		}
	}
	if msg := checkString(v); msg != "" {
		return "", "decoded value " + msg
	}
	return v, ""
}

// unquote removes RFC 7230 quoted-string quoting from v, which starts
// with '"'.
func unquote(v string) (string, string) {
	if len(v) < 2 || v[len(v)-1] != '"' {
		return "", "quoted string is not terminated"
	}
	in := v[1 : len(v)-1]
	if !strings.ContainsAny(in, `\"`) {
		return in, ""
	}
	b := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		switch c := in[i]; c {
		case '\\':
			i++
			if i == len(in) {
				return "", "quoted string ends with a lone backslash"
			}
			b = append(b, in[i])
		case '"':
			return "", fmt.Sprintf("unescaped double quote inside quoted string at offset %d", i+1)
		default:
			b = append(b, c)
		}
	}
	return string(b), ""
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// percentDecode decodes every %XX escape in v; any other '%' is an error.
func percentDecode(v string) (string, string) {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(v) {
			return "", fmt.Sprintf("invalid percent-encoding %s at offset %d", quote(v[i:]), i)
		}
		hi, ok1 := unhex(v[i+1])
		lo, ok2 := unhex(v[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Sprintf("invalid percent-encoding %s at offset %d", quote(v[i:i+3]), i)
		}
		b = append(b, hi<<4|lo)
		i += 2
	}
	return string(b), ""
}

// needsEscape reports whether the binding requires byte c of a UTF-8
// header value to be percent-encoded.
func needsEscape(c byte) bool {
	return c < 0x21 || c > 0x7e || c == '"' || c == '%'
}

// encodeHeaderValue percent-encodes s (valid UTF-8) for a ce- header.
// The result contains only bytes 0x21-0x7E.
func encodeHeaderValue(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if needsEscape(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hexDigits = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&0xf])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}

// EncodeBinary renders e for publishing in binary mode: one
// percent-encoded "ce-<name>" header per attribute and extension,
// Content-Type set to datacontenttype, and the data as the body. The event
// must be a valid CloudEvents 1.0 event (errors match ErrInvalidEvent).
func EncodeBinary(e *event.Event) (nats.Header, []byte, error) {
	var p problems
	validateEvent(e, headerName, &p)
	ct := ""
	if len(p) == 0 {
		ct = e.DataContentType()
		for i := 0; i < len(ct); i++ {
			if ct[i] < 0x20 || ct[i] > 0x7e {
				p.add("datacontenttype", "datacontenttype: Content-Type value must be printable ASCII")
				break
			}
		}
	}
	if err := p.err(ModeBinary); err != nil {
		return nil, nil, err
	}
	exts := e.Extensions()
	h := make(nats.Header, 8+len(exts))
	set := func(attr, v string) { h[headerPrefix+attr] = []string{encodeHeaderValue(v)} }
	set("specversion", event.CloudEventsVersionV1)
	set("id", e.ID())
	set("source", e.Source())
	set("type", e.Type())
	if s := e.Subject(); s != "" {
		set("subject", s)
	}
	if t := e.Time(); !t.IsZero() {
		set("time", t.UTC().Format(time.RFC3339Nano))
	}
	if ct != "" {
		set("datacontenttype", ct)
		h[headerContentType] = []string{ct}
	}
	if ds := e.DataSchema(); ds != "" {
		set("dataschema", ds)
	}
	for k, v := range exts {
		s, _ := types.Format(v) // validated above
		set(k, s)
	}
	return h, e.DataEncoded, nil
}
