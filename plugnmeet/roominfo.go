package plugnmeet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/roomworker/roomworker/internal/jsonscan"
)

// RoomInfo is a room's session as plugNmeet reports it (room_info).
//
// Decoding accepts the server's protojson shape (64-bit integers as strings,
// is_running as 0/1, metadata as a JSON string) as well as plain JSON.
// Encoding always writes plain JSON: numbers as numbers, flags as booleans
// and Metadata as an embedded object.
type RoomInfo struct {
	RoomTitle          string `json:"room_title"`
	RoomID             string `json:"room_id"`
	SID                string `json:"sid"`
	JoinedParticipants int64  `json:"joined_participants"`
	IsRunning          bool   `json:"is_running"`
	IsRecording        bool   `json:"is_recording"`
	IsActiveRTMP       bool   `json:"is_active_rtmp"`
	WebhookURL         string `json:"webhook_url"`
	IsBreakoutRoom     bool   `json:"is_breakout_room"`
	ParentRoomID       string `json:"parent_room_id"`
	CreationTime       int64  `json:"creation_time"`
	// Metadata is the room's applied settings, parsed: a JSON object (or null).
	Metadata json.RawMessage `json:"metadata"`

	// enc is the normalised JSON decoding wrote, with the fields it was written from.
	enc *roomInfoJSON
}

// roomInfoJSON is a RoomInfo's normalised JSON (MarshalJSON's bytes), written once when the
// RoomInfo is decoded.
type roomInfoJSON struct {
	from RoomInfo // the fields b holds (Metadata and enc left nil: b holds the metadata)
	b    []byte
	md   int // where the metadata value starts in b
}

// encodeRoomInfo writes r's normalised JSON, md being r.Metadata known to be compact, valid JSON
// (or empty: null).
func encodeRoomInfo(r *RoomInfo, md []byte) *roomInfoJSON {
	if len(md) == 0 {
		md = []byte("null")
	}
	e := &roomInfoJSON{from: *r}
	e.from.Metadata, e.from.enc = nil, nil
	b := make([]byte, 0, 200+len(r.RoomTitle)+len(r.RoomID)+len(r.SID)+len(r.WebhookURL)+len(r.ParentRoomID)+len(md))
	b = appendHead(b, r)
	b = append(b, `,"metadata":`...)
	e.md = len(b)
	b = append(b, md...)
	b = append(b, '}')
	e.b = b[:len(b):len(b)]
	return e
}

// holds reports whether e is r's normalised JSON: r's fields are still those e was written from.
func (e *roomInfoJSON) holds(r *RoomInfo) bool {
	f := &e.from
	if r.RoomTitle != f.RoomTitle || r.RoomID != f.RoomID || r.SID != f.SID ||
		r.JoinedParticipants != f.JoinedParticipants || r.IsRunning != f.IsRunning ||
		r.IsRecording != f.IsRecording || r.IsActiveRTMP != f.IsActiveRTMP || r.WebhookURL != f.WebhookURL ||
		r.IsBreakoutRoom != f.IsBreakoutRoom || r.ParentRoomID != f.ParentRoomID || r.CreationTime != f.CreationTime {
		return false
	}
	md := e.b[e.md : len(e.b)-1]
	if len(r.Metadata) == 0 {
		return string(md) == "null"
	}
	return bytes.Equal(r.Metadata, md)
}

// appendHead appends r's fields but the metadata as a JSON object without its closing brace,
// as json.Marshal writes them.
func appendHead(b []byte, r *RoomInfo) []byte {
	b = append(b, `{"room_title":`...)
	b = appendString(b, r.RoomTitle)
	b = append(b, `,"room_id":`...)
	b = appendString(b, r.RoomID)
	b = append(b, `,"sid":`...)
	b = appendString(b, r.SID)
	b = append(b, `,"joined_participants":`...)
	b = strconv.AppendInt(b, r.JoinedParticipants, 10)
	b = append(b, `,"is_running":`...)
	b = strconv.AppendBool(b, r.IsRunning)
	b = append(b, `,"is_recording":`...)
	b = strconv.AppendBool(b, r.IsRecording)
	b = append(b, `,"is_active_rtmp":`...)
	b = strconv.AppendBool(b, r.IsActiveRTMP)
	b = append(b, `,"webhook_url":`...)
	b = appendString(b, r.WebhookURL)
	b = append(b, `,"is_breakout_room":`...)
	b = strconv.AppendBool(b, r.IsBreakoutRoom)
	b = append(b, `,"parent_room_id":`...)
	b = appendString(b, r.ParentRoomID)
	b = append(b, `,"creation_time":`...)
	return strconv.AppendInt(b, r.CreationTime, 10)
}

// appendString appends s as json.Marshal writes a string.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // escapes, HTML-safe characters, invalid UTF-8: as encoding/json does them
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// MarshalJSON writes plain JSON with Metadata as an object (null when empty).
//
// A decoded RoomInfo returns the bytes written when it was decoded (unless its fields were
// changed since): callers must not modify them. Metadata is embedded as it is (decoding left it
// compact) rather than through encoding/json, which would re-validate and compact its several
// KB on every call; call MarshalJSON directly for the full benefit.
func (r RoomInfo) MarshalJSON() ([]byte, error) {
	if r.enc != nil && r.enc.holds(&r) {
		return r.enc.b, nil
	}
	md := bytes.TrimSpace(r.Metadata)
	if len(md) == 0 {
		md = []byte("null")
	} else if !json.Valid(md) {
		return nil, errors.New("plugnmeet: RoomInfo.Metadata is not valid JSON")
	}
	out := appendHead(make([]byte, 0, 256+len(md)), &r)
	out = append(out, `,"metadata":`...)
	out = append(out, md...)
	return append(out, '}'), nil
}

// UnmarshalJSON accepts the protojson shape and plain JSON.
func (r *RoomInfo) UnmarshalJSON(data []byte) error {
	rd := jsonscan.NewReader(data)
	if info, ok := readRoomInfo(&rd, 0); ok && rd.AtEnd() {
		*r = *info
		return nil
	}
	// Not what the one-pass reader takes: encoding/json decides, with its errors.
	return r.unmarshalEncodingJSON(data)
}

// unmarshalEncodingJSON is UnmarshalJSON through encoding/json alone, as RoomInfo was decoded
// before the one-pass reader (onepass.go): its fallback, and the oracle the one-pass reader is
// checked against (onepass_test.go).
func (r *RoomInfo) unmarshalEncodingJSON(data []byte) error {
	var w struct {
		RoomTitle          string          `json:"room_title"`
		RoomID             string          `json:"room_id"`
		SID                string          `json:"sid"`
		JoinedParticipants flexInt         `json:"joined_participants"`
		IsRunning          flexBool        `json:"is_running"`
		IsRecording        flexBool        `json:"is_recording"`
		IsActiveRTMP       flexBool        `json:"is_active_rtmp"`
		WebhookURL         string          `json:"webhook_url"`
		IsBreakoutRoom     flexBool        `json:"is_breakout_room"`
		ParentRoomID       string          `json:"parent_room_id"`
		CreationTime       flexInt         `json:"creation_time"`
		Metadata           json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	md, err := parseMetadata(w.Metadata)
	if err != nil {
		return err
	}
	*r = RoomInfo{
		RoomTitle:          w.RoomTitle,
		RoomID:             w.RoomID,
		SID:                w.SID,
		JoinedParticipants: int64(w.JoinedParticipants),
		IsRunning:          bool(w.IsRunning),
		IsRecording:        bool(w.IsRecording),
		IsActiveRTMP:       bool(w.IsActiveRTMP),
		WebhookURL:         w.WebhookURL,
		IsBreakoutRoom:     bool(w.IsBreakoutRoom),
		ParentRoomID:       w.ParentRoomID,
		CreationTime:       int64(w.CreationTime),
		Metadata:           md,
	}
	r.enc = encodeRoomInfo(r, md)
	return nil
}

// parseMetadata turns the metadata field (a JSON string holding an object,
// or an object, or null/absent) into the object's bytes.
func parseMetadata(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
		if s == "" {
			return nil, nil
		}
		raw = json.RawMessage(s)
	}
	// Compact checks the syntax as it goes; the first byte then tells an object.
	buf := bytes.NewBuffer(make([]byte, 0, len(raw)))
	if err := json.Compact(buf, raw); err != nil {
		return nil, fmt.Errorf("metadata is not a JSON object: %w", err)
	}
	if b := buf.Bytes(); len(b) == 0 || b[0] != '{' {
		return nil, errors.New("metadata is not a JSON object")
	}
	return json.RawMessage(buf.Bytes()), nil
}

// ActiveRoom is the answer of getActiveRoomInfo: the room and its participants.
type ActiveRoom struct {
	RoomInfo RoomInfo `json:"room_info"`
	// Participants are LiveKit ParticipantInfo objects, kept as sent.
	Participants []json.RawMessage `json:"participants_info"`
}

// flexInt decodes a JSON number or a string holding a base-10 integer.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
		if len(b) == 0 {
			*f = 0
			return nil
		}
	}
	n, err := parseInt64(b)
	if err != nil {
		return err
	}
	*f = flexInt(n)
	return nil
}

// parseInt64 reads a base-10 integer, or an integral number in another form.
func parseInt64(b []byte) (int64, error) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// protojson may write an integral value in exponent form (1e+06).
		fl, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || fl != float64(int64(fl)) {
			return 0, fmt.Errorf("not a 64-bit integer: %q", b)
		}
		n = int64(fl)
	}
	return n, nil
}

// flexBool decodes true/false, a number (non-zero is true) or such a string.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(bytes.TrimSpace(b), `"`))
	switch s {
	case "true":
		*f = true
	case "false", "null", "":
		*f = false
	default:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("not a boolean or integer flag: %q", b)
		}
		*f = n != 0
	}
	return nil
}
