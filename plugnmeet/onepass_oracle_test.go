package plugnmeet

// The oracle of the differential tests in onepass_test.go: the decoding of answers through
// encoding/json alone, as it was before the one-pass decoder (onepass.go). That decoding is still
// production's fallback (RoomInfo.unmarshalEncodingJSON, and Client.decode without a one-pass
// decoder), so the oracle calls it rather than keeping a copy; the differential tests compare
// the one-pass decoder with it. RoomInfo's encoding is checked against the encoding it replaced
// (json.Marshal of the fields), which production no longer has and is kept here.

import (
	"bytes"
	"encoding/json"
	"errors"
)

// oracleRoomInfo is a RoomInfo decoded through encoding/json alone and encoded as RoomInfo was
// before the one-pass decoding.
type oracleRoomInfo struct{ RoomInfo }

// UnmarshalJSON is RoomInfo's encoding/json path, without the one-pass reader.
func (o *oracleRoomInfo) UnmarshalJSON(data []byte) error {
	return o.RoomInfo.unmarshalEncodingJSON(data)
}

// MarshalJSON writes plain JSON with Metadata as an object (null when empty), the fields but
// Metadata written by encoding/json: RoomInfo.MarshalJSON before the one-pass decoding.
func (o oracleRoomInfo) MarshalJSON() ([]byte, error) {
	type fields RoomInfo // the fields without the methods
	type plain struct {
		fields
		// Left nil and omitted, it hides fields.Metadata (the shallower field wins).
		Metadata json.RawMessage `json:"metadata,omitempty"`
	}
	head, err := json.Marshal(plain{fields: fields(o.RoomInfo)})
	if err != nil {
		return nil, err
	}
	md := bytes.TrimSpace(o.Metadata)
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

// oracleDecodeCreate is what CreateRoom makes of a 200 create answer through encoding/json
// alone: Client.decode without a one-pass decoder, then createdRoom.
func oracleDecodeCreate(data []byte) (*oracleRoomInfo, error) {
	var ans struct { // unnamed, as createAnswer: encoding/json names the type in its errors
		envelope
		RoomInfo *oracleRoomInfo `json:"room_info"`
	}
	if err := decode200(data, &ans, &ans.envelope, nil); err != nil {
		return nil, err
	}
	var info *RoomInfo
	if ans.RoomInfo != nil {
		info = &ans.RoomInfo.RoomInfo
	}
	if _, err := createdRoom(&createAnswer{envelope: ans.envelope, RoomInfo: info}); err != nil {
		return nil, err
	}
	return ans.RoomInfo, nil
}
