package worker

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash"
	"slices"
	"strconv"

	"github.com/roomworker/roomworker/events"
)

// hashTree identifies a request's meaning: a SHA-256 over its decoded JSON with object keys
// sorted, so whitespace and key order do not matter while every value does.
func hashTree(v any) string {
	h := sha256.New()
	hashValue(h, v)
	return hex.EncodeToString(h.Sum(nil))
}

func hashValue(h hash.Hash, v any) {
	var tag [1]byte
	writeString := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	switch x := v.(type) {
	case map[string]any:
		tag[0] = '{'
		h.Write(tag[:])
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			writeString(k)
			hashValue(h, x[k])
		}
		tag[0] = '}'
	case []any:
		tag[0] = '['
		h.Write(tag[:])
		for _, e := range x {
			hashValue(h, e)
		}
		tag[0] = ']'
	case string:
		tag[0] = '"'
		h.Write(tag[:])
		writeString(x)
		return
	case json.Number:
		tag[0] = '#'
		h.Write(tag[:])
		writeString(x.String())
		return
	case bool:
		tag[0] = 'f'
		if x {
			tag[0] = 't'
		}
	case nil:
		tag[0] = 'n'
	default: // not produced by the decoder; hash its text so nothing is silently equal
		tag[0] = '?'
		h.Write(tag[:])
		writeString(strconv.Quote(jsonText(x)))
		return
	}
	h.Write(tag[:])
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

// encode renders the record, embedding room_info as it is.
func (r Record) encode() ([]byte, error) {
	info := r.RoomInfo
	r.RoomInfo = nil
	b, err := json.Marshal(r)
	if err != nil || len(info) == 0 {
		return b, err
	}
	return withRaw(b, "room_info", info), nil
}
