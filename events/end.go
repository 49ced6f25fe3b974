package events

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"
)

// ErrInvalidRoomID is matched (errors.Is) by the error NewEndRoomRequest and
// NewCancelRoomRequest return for a room_id that roomworker would answer
// with room.failed (reason invalid_request).
var ErrInvalidRoomID = errors.New("invalid room_id")

// maxRoomID is the longest room_id plugNmeet accepts.
const maxRoomID = 64

// NewEndRoomRequest builds a room.end CloudEvent asking roomworker to end
// the live plugNmeet session of room roomID. Its data is {"room_id": roomID}
// (schema/end-room.schema.json); the event gets a fresh UUID id, source
// DefaultSource, the time now, subject = roomID and datacontenttype
// application/json, each overridable with opts. Publish it on the end
// subject (END_SUBJECT, default "rooms.end") with Publish or
// PublishStructured; roomworker answers with room.ended or room.failed,
// whose requestid is the event's id.
//
// roomID must follow the end-room schema: 1 to 64 ASCII letters, digits,
// '-' or '_', not starting with "user_" nor containing "-FIELD_" (both
// reserved by plugNmeet); otherwise the error matches ErrInvalidRoomID. An
// option that makes the event invalid CloudEvents 1.0 gives an error that
// matches ErrInvalidEvent.
func NewEndRoomRequest(roomID string, opts ...RequestOption) (*event.Event, error) {
	if problem := roomIDProblem(roomID); problem != "" {
		return nil, fmt.Errorf("events: end-room request: %w %s: %s", ErrInvalidRoomID, quote(roomID), problem)
	}
	body, err := Marshal(EndRoom{RoomID: roomID})
	if err != nil {
		return nil, fmt.Errorf("events: end-room request data: %w", err)
	}
	e, err := newRequest(TypeEndRoom, roomID, body, opts)
	if err != nil {
		return nil, fmt.Errorf("events: end-room request: %w", err)
	}
	return e, nil
}

// roomIDProblem says what makes id unacceptable to the end-room schema, or
// "" when it is fine. The events package cannot use the schema package (its
// tests import this one); a test checks that both agree.
func roomIDProblem(id string) string {
	switch {
	case id == "":
		return "is empty"
	case len(id) > maxRoomID:
		return fmt.Sprintf("is longer than %d characters", maxRoomID)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "must only contain ASCII letters, digits, '-' or '_'"
		}
	}
	switch {
	case strings.HasPrefix(id, "user_"):
		return `must not start with "user_" (reserved by plugNmeet)`
	case strings.Contains(id, "-FIELD_"):
		return `must not contain "-FIELD_" (reserved by plugNmeet)`
	}
	return ""
}
