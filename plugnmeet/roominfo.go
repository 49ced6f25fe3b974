package plugnmeet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
}

// MarshalJSON writes plain JSON with Metadata as an object (null when empty).
//
// Metadata is embedded as it is (decoding left it compact) rather than through encoding/json,
// which would re-validate and compact its several KB on every call; call MarshalJSON directly
// for the full benefit.
func (r RoomInfo) MarshalJSON() ([]byte, error) {
	type fields RoomInfo // the fields without the methods
	type plain struct {
		fields
		// Left nil and omitted, it hides fields.Metadata (the shallower field wins).
		Metadata json.RawMessage `json:"metadata,omitempty"`
	}
	head, err := json.Marshal(plain{fields: fields(r)})
	if err != nil {
		return nil, err
	}
	md := bytes.TrimSpace(r.Metadata)
	if len(md) == 0 {
		md = []byte("null")
	} else if !json.Valid(md) {
		return nil, errors.New("plugnmeet: RoomInfo.Metadata is not valid JSON")
	}
	out := make([]byte, 0, len(head)+len(md)+12)
	out = append(out, head[:len(head)-1]...)
	out = append(out, `,"metadata":`...)
	out = append(out, md...)
	return append(out, '}'), nil
}

// UnmarshalJSON accepts the protojson shape and plain JSON.
func (r *RoomInfo) UnmarshalJSON(data []byte) error {
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
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		// protojson may write an integral value in exponent form (1e+06).
		fl, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || fl != float64(int64(fl)) {
			return fmt.Errorf("not a 64-bit integer: %q", b)
		}
		n = int64(fl)
	}
	*f = flexInt(n)
	return nil
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
