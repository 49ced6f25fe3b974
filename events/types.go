package events

import (
	"encoding/json"
	"time"
)

// CloudEvent types consumed and produced by roomworker.
const (
	// TypeCreateRoom is the type of a request to create a room.
	TypeCreateRoom = "room.create"
	// TypeRoomCreated is the type of the result published when a room exists.
	TypeRoomCreated = "room.created"
	// TypeRoomFailed is the type of the result published when a request
	// (room.create or room.end) cannot be served.
	TypeRoomFailed = "room.failed"
	// TypeEndRoom is the type of a request to end a room's live session.
	TypeEndRoom = "room.end"
	// TypeRoomEnded is the type of the result published when a room has no
	// live session any more (ended by the request, or already ended).
	TypeRoomEnded = "room.ended"
	// TypeCancelRoom is the type of a request to cancel a booking: a room.create whose
	// creation was scheduled for later (starttime) and has not happened yet.
	TypeCancelRoom = "room.cancel"
	// TypeRoomScheduled is the type of the result published when a room.create with a
	// starttime is valid and its creation is scheduled for later.
	TypeRoomScheduled = "room.scheduled"
	// TypeRoomCancelled is the type of the result of a room.cancel.
	TypeRoomCancelled = "room.cancelled"
	// TypeLifecyclePrefix prefixes the type of a plugNmeet webhook delivery
	// republished as a CloudEvent: "plugnmeet." + the delivery's event name,
	// e.g. "plugnmeet.room_started".
	TypeLifecyclePrefix = "plugnmeet."
)

// Extension attribute names used by roomworker.
const (
	// ExtRequestID carries, on a result event, the id of the request event
	// it answers.
	ExtRequestID = "requestid"
	// ExtTraceParent is the W3C traceparent (CloudEvents distributed
	// tracing extension).
	ExtTraceParent = "traceparent"
	// ExtTraceState is the W3C tracestate.
	ExtTraceState = "tracestate"
	// ExtStartTime carries, on a room.create, the meeting's start time (RFC 3339). A start
	// further away than roomworker's CREATE_LEAD schedules the creation for CREATE_LEAD before it.
	ExtStartTime = "starttime"
	// ExtReconciled is set (true) on a plugnmeet.session_ended event that
	// roomworker published itself, because plugNmeet no longer had a room
	// roomworker recorded as live and no webhook said it ended.
	ExtReconciled = "reconciled"
)

// Mode is a CloudEvents content mode on NATS.
type Mode string

// Content modes.
const (
	// ModeBinary carries attributes in ce- headers and data as the body.
	ModeBinary Mode = "binary"
	// ModeStructured carries the whole event as a JSON event format body.
	ModeStructured Mode = "structured"
)

// Reason says why a request ended in room.failed.
type Reason string

// Failure reasons (DESIGN.md, messaging contract).
const (
	// ReasonInvalidEvent: the message was not a valid CloudEvent, had an
	// unknown type, or was too large.
	ReasonInvalidEvent Reason = "invalid_event"
	// ReasonInvalidRequest: the event data failed the create-room schema.
	ReasonInvalidRequest Reason = "invalid_request"
	// ReasonRejected: plugNmeet refused the request for good.
	ReasonRejected Reason = "rejected"
	// ReasonRetriesExhausted: every allowed attempt failed transiently.
	ReasonRetriesExhausted Reason = "retries_exhausted"
)

// Warning records a setting that plugNmeet did not apply as requested.
type Warning struct {
	// Path is the JSON Pointer of the setting in the request data.
	Path string `json:"path"`
	// Requested is the value the request asked for.
	Requested any `json:"requested"`
	// Applied is the value plugNmeet applied.
	Applied any `json:"applied"`
}

// FieldError is one problem found in a request, located by Path: a JSON
// Pointer into the request data for schema errors, "/<attribute>" for a
// CloudEvents attribute, or "" for the message as a whole.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// RoomCreated is the data of a room.created event.
type RoomCreated struct {
	RoomID string `json:"room_id"`
	SID    string `json:"sid"`
	// RoomInfo is the room_info object as plugNmeet answered it (numbers
	// normalised by the caller).
	RoomInfo json.RawMessage `json:"room_info"`
	// Duplicate is true when the result was served from the idempotency
	// record without calling plugNmeet.
	Duplicate bool `json:"duplicate"`
	// Attempts is the number of create calls made for the request.
	Attempts int `json:"attempts"`
	// Warnings is always rendered as a JSON array, never null.
	Warnings []Warning `json:"warnings"`
}

// MarshalJSON renders the data with warnings as [] when there are none and
// room_info as null when unknown.
func (c RoomCreated) MarshalJSON() ([]byte, error) {
	type plain RoomCreated
	if c.Warnings == nil {
		c.Warnings = []Warning{}
	}
	if len(c.RoomInfo) == 0 {
		c.RoomInfo = json.RawMessage("null")
	}
	return Marshal(plain(c))
}

// RoomFailed is the data of a room.failed event.
type RoomFailed struct {
	// RoomID is set when the request's room_id could be read.
	RoomID  string `json:"room_id,omitempty"`
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
	// Errors lists every problem found (schema errors, invalid attributes).
	Errors   []FieldError `json:"errors,omitempty"`
	Attempts int          `json:"attempts"`
	// PlugNmeetStatusCode is the HTTP status of plugNmeet's last answer,
	// when it answered.
	PlugNmeetStatusCode int `json:"plugnmeet_status_code,omitempty"`
	// PlugNmeetCode is the status_code plugNmeet put in its last answer
	// (for example "INVALID_PARAMETERS"), when it answered. plugNmeet
	// reports validation and server errors with HTTP 200, so this is what
	// tells them apart.
	PlugNmeetCode string `json:"plugnmeet_code,omitempty"`
	// Request is the request event in the JSON event format, carried by
	// retries_exhausted failures only, so the request can be replayed
	// after the outage even when the request stream no longer holds it
	// (work-queue retention deletes a request once it is answered).
	Request json.RawMessage `json:"request,omitempty"`
}

// EndRoom is the data of a room.end request.
type EndRoom struct {
	RoomID string `json:"room_id"`
}

// RoomEnded is the data of a room.ended event.
type RoomEnded struct {
	RoomID string `json:"room_id"`
	// AlreadyEnded is true when plugNmeet had no live session for the room
	// ("room not found or not active"): nothing was ended, and the room is
	// not live, which is what the request asked for.
	AlreadyEnded bool `json:"already_ended"`
	// Attempts is the number of endRoom calls made for the request.
	Attempts int `json:"attempts"`
}

// RoomScheduled is the data of a room.scheduled event.
type RoomScheduled struct {
	RoomID string `json:"room_id"`
	// StartTime is the meeting's start, from the request's starttime.
	StartTime time.Time `json:"start_time"`
	// CreateAt is when roomworker will create the room: CREATE_LEAD before StartTime.
	CreateAt time.Time `json:"create_at"`
	// Replaces is the id of the request whose pending booking this one replaced (a moved
	// meeting or changed settings); that booking will not be created.
	Replaces string `json:"replaces,omitempty"`
}

// Cancellation states of a room.cancelled event.
const (
	// CancelCancelled: a pending booking was removed; the room will not be created.
	CancelCancelled = "cancelled"
	// CancelCreated: no booking is pending because the room was already created (or is being
	// created right now); room.end ends a live room.
	CancelCreated = "created"
	// CancelNeverScheduled: roomworker knows of no booking for the room.
	CancelNeverScheduled = "never_scheduled"
)

// RoomCancelled is the data of a room.cancelled event.
type RoomCancelled struct {
	RoomID string `json:"room_id"`
	// State says what was found: CancelCancelled, CancelCreated or CancelNeverScheduled.
	State string `json:"state"`
	// Cancelled is true when a pending booking was removed.
	Cancelled bool `json:"cancelled"`
	// BookingID is the id of the room.create whose booking was removed.
	BookingID string `json:"booking_id,omitempty"`
	// StartTime is the removed booking's start time.
	StartTime *time.Time `json:"start_time,omitempty"`
	// Message says it in words, and what to do instead (room.end for a live room).
	Message string `json:"message"`
}
