package plugnmeet

// The decoding of answers as it was before the one-pass decoder (onepass.go), kept as the oracle
// of the differential tests in onepass_test.go: RoomInfo's decoding and encoding and the
// client's decoding of a create answer.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// oldRoomInfo is RoomInfo as it was before the one-pass decoding, verbatim but for the names:
// the oracle the one-pass decoding is checked against.
//
// Decoding accepts the server's protojson shape (64-bit integers as strings,
// is_running as 0/1, metadata as a JSON string) as well as plain JSON.
// Encoding always writes plain JSON: numbers as numbers, flags as booleans
// and Metadata as an embedded object.
type oldRoomInfo struct {
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
func (r oldRoomInfo) MarshalJSON() ([]byte, error) {
	type fields oldRoomInfo // the fields without the methods
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
func (r *oldRoomInfo) UnmarshalJSON(data []byte) error {
	var w struct {
		RoomTitle          string          `json:"room_title"`
		RoomID             string          `json:"room_id"`
		SID                string          `json:"sid"`
		JoinedParticipants oldFlexInt      `json:"joined_participants"`
		IsRunning          oldFlexBool     `json:"is_running"`
		IsRecording        oldFlexBool     `json:"is_recording"`
		IsActiveRTMP       oldFlexBool     `json:"is_active_rtmp"`
		WebhookURL         string          `json:"webhook_url"`
		IsBreakoutRoom     oldFlexBool     `json:"is_breakout_room"`
		ParentRoomID       string          `json:"parent_room_id"`
		CreationTime       oldFlexInt      `json:"creation_time"`
		Metadata           json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	md, err := oldParseMetadata(w.Metadata)
	if err != nil {
		return err
	}
	*r = oldRoomInfo{
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

// oldParseMetadata turns the metadata field (a JSON string holding an object,
// or an object, or null/absent) into the object's bytes.
func oldParseMetadata(raw json.RawMessage) (json.RawMessage, error) {
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

// oldFlexInt decodes a JSON number or a string holding a base-10 integer.
type oldFlexInt int64

func (f *oldFlexInt) UnmarshalJSON(b []byte) error {
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
	*f = oldFlexInt(n)
	return nil
}

// oldFlexBool decodes true/false, a number (non-zero is true) or such a string.
type oldFlexBool bool

func (f *oldFlexBool) UnmarshalJSON(b []byte) error {
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

// oldDecodeCreate is what CreateRoom made of a 200 create answer before the one-pass decoder
// (Client.call's decoding of a 200 answer, then CreateRoom's).
func oldDecodeCreate(data []byte) (*oldRoomInfo, error) {
	const route = RouteCreate
	status, ctype := http.StatusOK, "application/json"
	var ans struct {
		envelope
		RoomInfo *oldRoomInfo `json:"room_info"`
	}
	notPlugNmeet := func() error {
		return &Error{Route: route, HTTPStatus: status, Class: ClassSystemic,
			Msg: describeBody(ctype, data), Err: ErrNotPlugNmeet}
	}
	if !startsLikeObject(data) {
		return nil, notPlugNmeet()
	}
	if err := json.Unmarshal(data, &ans); err != nil {
		var syntax *json.SyntaxError
		if !errors.As(err, &syntax) && !hasEnvelope(data) {
			return nil, notPlugNmeet()
		}
		return nil, &Error{Route: route, HTTPStatus: status, Class: ClassTransient,
			Msg: "undecodable answer (cut short or mangled): " + snippet(data), Err: err}
	}
	if !hasEnvelope(data) {
		return nil, notPlugNmeet()
	}
	if !ans.Status {
		return nil, &Error{Route: route, HTTPStatus: status, StatusCode: ans.StatusCode, Msg: ans.Msg,
			Class: classifyAnswer(ans.StatusCode, ans.Msg)}
	}
	if ans.RoomInfo == nil {
		return nil, &Error{Route: RouteCreate, HTTPStatus: http.StatusOK, StatusCode: ans.StatusCode,
			Msg: "success answer without room_info", Class: ClassTransient}
	}
	return ans.RoomInfo, nil
}
