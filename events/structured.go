package events

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
)

// memberName names an attribute's JSON member in messages.
func memberName(attr string) string { return "member " + strconv.Quote(attr) }

// decodeStructured reads a JSON event format body. It uses encoding/json
// rather than the SDK's reader, which accepts trailing bytes after the
// object and panics on a non-string data_base64 given before specversion.
func decodeStructured(body []byte) (*event.Event, error) {
	var p problems
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		p.add("", "structured message has an empty body")
	case !utf8.Valid(body):
		p.add("", "body is not valid UTF-8")
	}
	if len(p) > 0 {
		return nil, p.err(ModeStructured)
	}
	if !json.Valid(body) {
		var v any
		msg := "body is not a JSON object"
		if err := json.Unmarshal(body, &v); err != nil {
			msg += ": " + err.Error()
		}
		p.add("", msg)
		return nil, p.err(ModeStructured)
	}
	members, dup, ok := splitObject(body)
	if !ok {
		p.add("", "body is not a JSON object")
		return nil, p.err(ModeStructured)
	}
	if dup != "" {
		p.add(dup, fmt.Sprintf("%s is given more than once; readers would disagree on which counts", memberName(dup)))
		return nil, p.err(ModeStructured)
	}
	if len(members) > MaxAttributes+2 { // attributes and extensions, data, data_base64
		p.add("", fmt.Sprintf("%d members, more than the %d allowed", len(members), MaxAttributes+2))
		return nil, p.err(ModeStructured)
	}

	// str reads an optional string member; ok is false when absent or null.
	str := func(attr string) (v string, ok bool) {
		raw, present := members[attr]
		if !present || isNull(raw) {
			return "", false
		}
		v, ok = jsonString(raw)
		if !ok {
			p.add(attr, fmt.Sprintf("%s: must be a JSON string", memberName(attr)))
		}
		return v, ok
	}

	sv, ok := str("specversion")
	switch {
	case !ok && !p.has("specversion"):
		p.add("specversion", `missing required attribute specversion (member "specversion")`)
	case ok && sv != event.CloudEventsVersionV1:
		p.add("specversion", fmt.Sprintf(`member "specversion": specversion %s is not supported (want "1.0")`, quote(sv)))
	}
	if len(p) > 0 {
		return nil, p.err(ModeStructured)
	}

	ctx := &event.EventContextV1{}
	ctx.ID, _ = str("id")
	ctx.Type, _ = str("type")
	if v, ok := str("source"); ok && v != "" {
		if u := types.ParseURIRef(v); u != nil {
			ctx.Source = *u
		} else {
			p.add("source", fmt.Sprintf(`member "source": %s is not a URI-reference`, quote(v)))
		}
	}
	if v, ok := str("subject"); ok {
		ctx.Subject = &v
	}
	if v, ok := str("time"); ok {
		if t, err := types.ParseTimestamp(v); err == nil && t != nil {
			ctx.Time = t
		} else {
			p.add("time", fmt.Sprintf(`member "time": %s is not an RFC 3339 timestamp`, quote(v)))
		}
	}
	if v, ok := str("datacontenttype"); ok {
		ctx.DataContentType = &v
	}
	if v, ok := str("dataschema"); ok {
		if u := types.ParseURI(v); u != nil {
			ctx.DataSchema = u
		} else {
			p.add("dataschema", fmt.Sprintf(`member "dataschema": %s is not a URI`, quote(v)))
		}
	}
	for name, raw := range members {
		if knownBits[name] != 0 || name == "data" || name == "data_base64" {
			continue
		}
		if !validName(name) {
			p.add("", fmt.Sprintf("member %s: not a valid attribute name (lowercase ASCII letters and digits)", quote(name)))
			continue
		}
		v, err := extensionValue(raw)
		if err != "" {
			p.add(name, fmt.Sprintf("%s: %s", memberName(name), err))
			continue
		}
		if v == nil {
			continue // null: absent
		}
		if ctx.Extensions == nil {
			ctx.Extensions = make(map[string]any, 4)
		}
		ctx.Extensions[name] = v
	}

	e := &event.Event{Context: ctx}
	data, hasData := members["data"]
	if hasData && isNull(data) {
		hasData = false
	}
	data64, hasData64 := members["data_base64"]
	if hasData64 && isNull(data64) {
		hasData64 = false
	}
	switch {
	case hasData && hasData64:
		p.add("data", `members "data" and "data_base64" must not both be present`)
	case hasData64:
		s, ok := jsonString(data64)
		if !ok {
			p.add("data_base64", `member "data_base64": must be a JSON string`)
			break
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			p.add("data_base64", fmt.Sprintf(`member "data_base64": not base64: %v`, err))
			break
		}
		e.DataEncoded, e.DataBase64 = b, true
	case hasData && isJSONMediaType(e.DataContentType()):
		e.DataEncoded = data
	case hasData:
		s, ok := jsonString(data)
		if !ok {
			p.add("data", fmt.Sprintf(`member "data": must be a JSON string for datacontenttype %s (or use "data_base64")`, quote(e.DataContentType())))
			break
		}
		e.DataEncoded = []byte(s)
	}
	if len(p) > 0 {
		return nil, p.err(ModeStructured)
	}
	validateEvent(e, memberName, &p)
	if err := p.err(ModeStructured); err != nil {
		return nil, err
	}
	return e, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// Marshal is json.Marshal without HTML escaping: '<', '>' and '&' are
// written as they are, not as six-byte \u escapes, so markup in a request
// does not multiply the size of the events (and records) that carry it.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// jsonString decodes a JSON string value; ok is false for any other value.
func jsonString(raw []byte) (s string, ok bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if in := raw[1 : len(raw)-1]; bytes.IndexByte(in, '\\') < 0 {
		return string(in), true // valid JSON: no escapes, no control characters
	}
	return s, json.Unmarshal(raw, &s) == nil
}

// splitObject returns the members of b, which must be valid JSON, as
// slices of b, or ok = false when b is not an object. dup is the first member
// name given twice, if any (encoding/json would silently keep the last).
func splitObject(b []byte) (m map[string]json.RawMessage, dup string, ok bool) {
	m = make(map[string]json.RawMessage, 12)
	ok = eachMember(b, func(name string, raw []byte) bool {
		if _, seen := m[name]; seen && dup == "" {
			dup = name
		}
		m[name] = raw
		return true
	})
	if !ok {
		return nil, "", false
	}
	return m, dup, true
}

// eachMember calls f with the name and raw value (a slice of b) of each
// top-level member of the JSON object at the start of b, in order, until f
// returns false, and reports whether b starts with an object. It checks only
// the structure it walks, so b may be invalid JSON or cut short: a member
// reaches f only when its name is a JSON string followed by ':' and its
// value is not empty and is followed by ',' or '}' within b; the walk stops
// at the first member that is not. Values are not validated.
func eachMember(b []byte, f func(name string, raw []byte) bool) bool {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		end := stringEnd(b, i)
		name, ok := memberNameOf(b[i:end])
		if !ok {
			break
		}
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			break
		}
		i = skipSpace(b, i+1)
		end = valueEnd(b, i)
		next := skipSpace(b, end)
		if end == i || next >= len(b) || (b[next] != ',' && b[next] != '}') {
			break
		}
		if !f(name, b[i:end:end]) || b[next] == '}' {
			break
		}
		i = skipSpace(b, next+1)
	}
	return true
}

// memberNameOf decodes a member name, without allocating for the names
// of the JSON event format.
func memberNameOf(raw []byte) (string, bool) {
	if len(raw) >= 2 {
		switch string(raw[1 : len(raw)-1]) {
		case "specversion":
			return "specversion", true
		case "id":
			return "id", true
		case "source":
			return "source", true
		case "type":
			return "type", true
		case "subject":
			return "subject", true
		case "time":
			return "time", true
		case "datacontenttype":
			return "datacontenttype", true
		case "dataschema":
			return "dataschema", true
		case "data":
			return "data", true
		case "data_base64":
			return "data_base64", true
		}
	}
	return jsonString(raw)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string starting at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(b)
}

// valueEnd returns the index after the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	return j
}

// extensionValue converts a JSON member to a CloudEvents value: String,
// Integer (int32) or Boolean; nil for null.
func extensionValue(raw json.RawMessage) (any, string) {
	switch raw[0] {
	case 'n':
		return nil, ""
	case 't':
		return true, ""
	case 'f':
		return false, ""
	case '"':
		s, ok := jsonString(raw)
		if !ok {
			return nil, "invalid JSON string"
		}
		return s, ""
	case '{', '[':
		return nil, "must be a string, an integer or a boolean"
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
		return nil, fmt.Sprintf("number %s is not an integer in the 32-bit range", quote(string(raw)))
	}
	return int32(f), ""
}

// EncodeStructured renders e in structured mode: Content-Type
// application/cloudevents+json and the JSON event format as the body. Data
// is written as JSON when datacontenttype is JSON and the data is valid
// JSON, as a string when it is text, and as data_base64 otherwise. The event
// must be a valid CloudEvents 1.0 event (errors match ErrInvalidEvent).
func EncodeStructured(e *event.Event) (nats.Header, []byte, error) {
	var p problems
	validateEvent(e, memberName, &p)
	if err := p.err(ModeStructured); err != nil {
		return nil, nil, err
	}
	b := make([]byte, 0, 256+len(e.DataEncoded)*4/3)
	member := func(name string, v []byte) {
		if len(b) == 0 {
			b = append(b, '{')
		} else {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, name)
		b = append(b, ':')
		b = append(b, v...)
	}
	jstr := func(s string) []byte { v, _ := Marshal(s); return v }
	member("specversion", jstr(event.CloudEventsVersionV1))
	member("id", jstr(e.ID()))
	member("source", jstr(e.Source()))
	member("type", jstr(e.Type()))
	if s := e.Subject(); s != "" {
		member("subject", jstr(s))
	}
	if t := e.Time(); !t.IsZero() {
		member("time", jstr(t.UTC().Format(time.RFC3339Nano)))
	}
	ct := e.DataContentType()
	if ct != "" {
		member("datacontenttype", jstr(ct))
	}
	if ds := e.DataSchema(); ds != "" {
		member("dataschema", jstr(ds))
	}
	exts := e.Extensions()
	names := make([]string, 0, len(exts))
	for k := range exts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		switch v := exts[k].(type) {
		case int32:
			member(k, strconv.AppendInt(nil, int64(v), 10))
		case bool:
			member(k, strconv.AppendBool(nil, v))
		default:
			s, _ := types.Format(v) // validated above
			member(k, jstr(s))
		}
	}
	if e.DataEncoded != nil {
		switch {
		case !e.DataBase64 && isJSONMediaType(ct) && utf8.Valid(e.DataEncoded) && json.Valid(e.DataEncoded) &&
			len(bytes.TrimSpace(e.DataEncoded)) == len(e.DataEncoded):
			// Only UTF-8 JSON without surrounding space comes back byte for byte.
			member("data", e.DataEncoded)
		case !e.DataBase64 && !isJSONMediaType(ct) && utf8.Valid(e.DataEncoded):
			member("data", jstr(string(e.DataEncoded)))
		default:
			member("data_base64", jstr(base64.StdEncoding.EncodeToString(e.DataEncoded)))
		}
	}
	b = append(b, '}')
	h := nats.Header{headerContentType: []string{event.ApplicationCloudEventsJSON}}
	return h, b, nil
}
