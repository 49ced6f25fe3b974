package main

import (
	"fmt"

	"github.com/roomworker/roomworker/events"
)

const endHelp = `Usage: roomctl end ROOM_ID [flags]

Publishes a room.end CloudEvent for ROOM_ID (data {"room_id": ROOM_ID}) on
END_SUBJECT in JetStream, in binary mode (or structured with -structured),
with the event id as Nats-Msg-Id so that publishing the same id twice
stores it once. roomworker ends the room's live plugNmeet session. Prints
the event id.

ROOM_ID must be a room_id roomworker accepts: 1 to 64 ASCII letters,
digits, '-' or '_', not starting with "user_" nor containing "-FIELD_".

With -wait, roomctl also waits for roomworker's answer to this event (the
room.ended or room.failed whose requestid is the event id) and prints it as
one more line:

  ended ROOM_ID              the live session was ended
  already ended ROOM_ID      plugNmeet had no live session for the room
  failed ROOM_ID: REASON: MESSAGE

or, with -format json, the result event in the JSON event format.

Exit status:
  0  published (with -wait: the room has no live session any more)
  1  with -wait: the result is room.failed
  2  usage, I/O or NATS error (an invalid ROOM_ID included), or no result
     within -timeout
`

func endCommand() command {
	return roomCommand{
		name:       "end",
		summary:    "end a room's live session (publish a room.end request)",
		help:       endHelp,
		subjectVar: "END_SUBJECT",
		subject:    func(s *session) string { return s.EndSubject },
		eventType:  events.TypeEndRoom,
		newRequest: events.NewEndRoomRequest,
		errPrefix:  "events: end-room request: ",
		results:    (*session).endResultSubjects,
		line:       endLine,
	}.command()
}

// endLine is the text line for the result of a room.end request.
func endLine(r *resultEvent) string {
	room := r.roomID()
	if room == "" {
		room = r.ev.Subject()
	}
	room = printable(room)
	switch {
	case r.ev.Type() == events.TypeRoomEnded && r.ended.AlreadyEnded:
		return "already ended " + room
	case r.ev.Type() == events.TypeRoomEnded:
		return "ended " + room
	}
	return fmt.Sprintf("failed %s: %s: %s", room, r.failed.Reason, printable(r.failed.Message))
}
