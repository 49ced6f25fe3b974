package main

import (
	"fmt"

	"github.com/roomworker/roomworker/events"
)

const cancelHelp = `Usage: roomctl cancel ROOM_ID [flags]

Publishes a room.cancel CloudEvent for ROOM_ID (data {"room_id": ROOM_ID})
on CANCEL_SUBJECT in JetStream, in binary mode (or structured with
-structured), with the event id as Nats-Msg-Id so that publishing the same
id twice stores it once. roomworker removes the room's pending booking (a
room.create published with a starttime, see "roomctl publish -at"), so the
room is not created. Prints the event id.

ROOM_ID must be a room_id roomworker accepts: 1 to 64 ASCII letters,
digits, '-' or '_', not starting with "user_" nor containing "-FIELD_".

With -wait, roomctl also waits for roomworker's answer to this event (the
room.cancelled or room.failed whose requestid is the event id) and prints
it as one more line:

  cancelled ROOM_ID booking=ID start=TIME       the pending booking was removed
  not cancelled ROOM_ID: created: MESSAGE       no booking pending: the room was created
  not cancelled ROOM_ID: never_scheduled: MESSAGE
                                                no booking pending, and no record of one
  failed ROOM_ID: REASON: MESSAGE

or, with -format json, the result event in the JSON event format. A room
that was already created is not ended by room.cancel: "roomctl end" does.

Exit status:
  0  published (with -wait: the booking was cancelled)
  1  with -wait: nothing was cancelled (the room was created, or was never
     booked), or the result is room.failed
  2  usage, I/O or NATS error (an invalid ROOM_ID included), or no result
     within -timeout
`

func cancelCommand() command {
	return roomCommand{
		name:       "cancel",
		summary:    "cancel a room's pending booking (publish a room.cancel request)",
		help:       cancelHelp,
		subjectVar: "CANCEL_SUBJECT",
		subject:    func(s *session) string { return s.CancelSubject },
		eventType:  events.TypeCancelRoom,
		newRequest: events.NewCancelRoomRequest,
		errPrefix:  "events: cancel-room request: ",
		results:    (*session).cancelResultSubjects,
		line:       cancelLine,
		refused:    func(r *resultEvent) bool { return r.ev.Type() == events.TypeRoomCancelled && !r.cancelled.Cancelled },
	}.command()
}

// cancelLine is the text line for the result of a room.cancel request.
func cancelLine(r *resultEvent) string {
	room := r.roomID()
	if room == "" {
		room = r.ev.Subject()
	}
	room = printable(room)
	if r.ev.Type() != events.TypeRoomCancelled {
		return fmt.Sprintf("failed %s: %s: %s", room, r.failed.Reason, printable(r.failed.Message))
	}
	c := r.cancelled
	if !c.Cancelled {
		return fmt.Sprintf("not cancelled %s: %s: %s", room, printable(c.State), printable(c.Message))
	}
	line := "cancelled " + room
	if c.BookingID != "" {
		line += " booking=" + printable(c.BookingID)
	}
	if c.StartTime != nil {
		line += " start=" + stamp(*c.StartTime)
	}
	return line
}
