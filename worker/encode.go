package worker

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"sync"

	"github.com/roomworker/roomworker/events"
)

// hashTree identifies a request's meaning: a SHA-256 over its decoded JSON with object keys
// sorted, so whitespace and key order do not matter while every value does.
func hashTree(v any) string {
	c := canonicalPool.Get().(*canonical)
	c.buf = c.appendValue(c.buf[:0], v)
	sum := sha256.Sum256(c.buf)
	canonicalPool.Put(c)
	return hex.EncodeToString(sum[:])
}

// canonical holds the scratch space of one hashing: the encoding being built and a stack of
// object keys being sorted.
type canonical struct {
	buf  []byte
	keys []string
}

var canonicalPool = sync.Pool{New: func() any { return &canonical{buf: make([]byte, 0, 4096)} }}

// appendValue appends an unambiguous encoding of v: a type tag, then length-prefixed strings.
func (c *canonical) appendValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case map[string]any:
		buf = append(buf, '{')
		base := len(c.keys)
		for k := range x {
			c.keys = append(c.keys, k)
		}
		keys := c.keys[base:]
		slices.Sort(keys)
		for i := range keys {
			k := c.keys[base+i] // c.keys may grow (and move) while values are appended
			buf = appendString(buf, k)
			buf = c.appendValue(buf, x[k])
		}
		clear(c.keys[base:])
		c.keys = c.keys[:base]
		return append(buf, '}')
	case []any:
		buf = append(buf, '[')
		for _, e := range x {
			buf = c.appendValue(buf, e)
		}
		return append(buf, ']')
	case string:
		return appendString(append(buf, '"'), x)
	case json.Number:
		return appendString(append(buf, '#'), string(x))
	case bool:
		if x {
			return append(buf, 't')
		}
		return append(buf, 'f')
	case nil:
		return append(buf, 'n')
	default: // not produced by the decoder; hash its text so nothing is silently equal
		return appendString(append(buf, '?'), jsonText(x))
	}
}

func appendString(buf []byte, s string) []byte {
	buf = binary.BigEndian.AppendUint64(buf, uint64(len(s)))
	return append(buf, s...)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// withRaw adds "key":raw to the JSON object obj, raw being JSON already compact. Embedding
// room_info this way keeps encoding/json from re-validating and compacting the room's metadata
// (several KB) each time a record or result is written.
func withRaw(obj []byte, key string, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		raw = json.RawMessage("null")
	}
	out := make([]byte, 0, len(obj)+len(key)+len(raw)+4)
	out = append(out, obj[:len(obj)-1]...)
	if len(obj) > 2 {
		out = append(out, ',')
	}
	out = strconv.AppendQuote(out, key)
	out = append(out, ':')
	out = append(out, raw...)
	return append(out, '}')
}

// encodeCreated renders room.created data, embedding room_info as it is.
func encodeCreated(c events.RoomCreated) ([]byte, error) {
	if c.Warnings == nil {
		c.Warnings = []events.Warning{}
	}
	b, err := json.Marshal(struct {
		RoomID    string           `json:"room_id"`
		SID       string           `json:"sid"`
		Duplicate bool             `json:"duplicate"`
		Attempts  int              `json:"attempts"`
		Warnings  []events.Warning `json:"warnings"`
	}{c.RoomID, c.SID, c.Duplicate, c.Attempts, c.Warnings})
	if err != nil {
		return nil, err
	}
	return withRaw(b, "room_info", c.RoomInfo), nil
}

// encode renders the record, embedding room_info and the outcome's data as they are, in one
// buffer of the right size.
func (r Record) encode() ([]byte, error) {
	info, out := r.RoomInfo, r.Outcome
	r.RoomInfo, r.Outcome = nil, nil
	b, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	var o []byte
	if out != nil {
		if o, err = out.encode(); err != nil {
			return nil, err
		}
	}
	if len(o) == 0 && len(info) == 0 {
		return b, nil
	}
	buf := make([]byte, 0, len(b)+len(o)+len(info)+len(`,"outcome":,"room_info":`))
	buf = append(buf, b[:len(b)-1]...)
	if len(o) > 0 {
		buf = append(append(buf, `,"outcome":`...), o...)
	}
	if len(info) > 0 {
		buf = append(append(buf, `,"room_info":`...), info...)
	}
	return append(buf, '}'), nil
}

// encode renders the outcome, embedding its data as it is (json.Marshal would scan and compact
// the result's data again).
func (o Outcome) encode() ([]byte, error) {
	data := o.Data
	o.Data = nil
	b, err := events.Marshal(o)
	if err != nil || len(data) == 0 {
		return b, err
	}
	return withRaw(b, "data", data), nil
}
