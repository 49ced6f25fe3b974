package events

import (
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
)

// NewCancelRoomRequest builds a room.cancel CloudEvent asking roomworker to
// remove the pending booking of room roomID (a room.create whose starttime
// put its creation off until CREATE_LEAD before the meeting). Its data is
// {"room_id": roomID} (schema/end-room.schema.json); the event gets a fresh
// UUID id, source DefaultSource, the time now, subject = roomID and
// datacontenttype application/json, each overridable with opts. Publish it
// on the cancel subject (CANCEL_SUBJECT, default "rooms.cancel") with
// Publish or PublishStructured; roomworker answers with room.cancelled
// (state cancelled, created or never_scheduled) or room.failed, whose
// requestid is the event's id.
//
// roomID follows the same rules as for NewEndRoomRequest; otherwise the
// error matches ErrInvalidRoomID. An option that makes the event invalid
// CloudEvents 1.0 gives an error that matches ErrInvalidEvent.
func NewCancelRoomRequest(roomID string, opts ...RequestOption) (*event.Event, error) {
	if problem := roomIDProblem(roomID); problem != "" {
		return nil, fmt.Errorf("events: cancel-room request: %w %s: %s", ErrInvalidRoomID, quote(roomID), problem)
	}
	body, err := Marshal(EndRoom{RoomID: roomID})
	if err != nil {
		return nil, fmt.Errorf("events: cancel-room request data: %w", err)
	}
	e, err := newRequest(TypeCancelRoom, roomID, body, opts)
	if err != nil {
		return nil, fmt.Errorf("events: cancel-room request: %w", err)
	}
	return e, nil
}
