package plugnmeet

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Class says what a caller should do about a failed call.
type Class int

// The error classes. The zero value is never used for a returned *Error.
const (
	// ClassTransient: the same call may succeed later; retry with backoff.
	ClassTransient Class = iota + 1
	// ClassPermanent: the server refused this request; retrying it will not help.
	ClassPermanent
	// ClassSystemic: the client or its configuration is wrong (credentials,
	// URL, limits); no request can succeed until an operator fixes it.
	ClassSystemic
)

// String returns "transient", "permanent" or "systemic".
func (c Class) String() string {
	switch c {
	case ClassTransient:
		return "transient"
	case ClassPermanent:
		return "permanent"
	case ClassSystemic:
		return "systemic"
	default:
		return "class(" + strconv.Itoa(int(c)) + ")"
	}
}

// Sentinels matched with errors.Is against any error returned by a Client.
var (
	// ErrTransient matches errors of ClassTransient.
	ErrTransient = errors.New("plugnmeet: transient error")
	// ErrPermanent matches errors of ClassPermanent.
	ErrPermanent = errors.New("plugnmeet: permanent error")
	// ErrSystemic matches errors of ClassSystemic.
	ErrSystemic = errors.New("plugnmeet: systemic error")
	// ErrRoomNotFound matches a ROOM_NOT_FOUND answer: the room has no active session.
	ErrRoomNotFound = errors.New("plugnmeet: room not found or not active")
)

// Status codes the server puts in status_code.
const (
	StatusSuccess             = "SUCCESS"
	StatusInvalidParameters   = "INVALID_PARAMETERS"
	StatusInternalServerError = "INTERNAL_SERVER_ERROR"
	StatusRoomNotFound        = "ROOM_NOT_FOUND"
	StatusRoomNotActive       = "ROOM_NOT_ACTIVE"
)

// Error is the one error type a Client returns. Its Class is decided so:
//
//   - transient: no complete answer (network error, reset, EOF: the lost
//     answer, timeout or cancelled context); HTTP 5xx and 429 (Retry-After
//     honoured); HTTP 200 with status false and INTERNAL_SERVER_ERROR (the
//     lock timeout, database or NATS trouble); a 200 whose body cannot be
//     decoded (cut short or mangled on the way: the outcome is unknown and
//     every call is safe to repeat, create returning the live session).
//   - permanent: INVALID_PARAMETERS and any other status_code with status
//     false (ROOM_NOT_FOUND included); the INTERNAL_SERVER_ERROR answers that
//     are the request's own fault found late ("Data too long for column",
//     the reserved room-id patterns 'user_' and '-FIELD_'); HTTP 4xx other
//     than 401, 403 and 429 (413 included).
//   - systemic: HTTP 401 and 403 (key or signature refused); 1xx/3xx
//     answers (redirects are not followed: the URL is wrong); an answer
//     larger than MaxResponseBytes, which repeats on every retry and is
//     fixed by configuration (the limit or the URL), not by waiting.
type Error struct {
	Route      string        // e.g. /auth/room/create
	HTTPStatus int           // 0 when no HTTP answer was received
	StatusCode string        // the answer's status_code, when there was one
	Msg        string        // the answer's msg, or a description of the failure
	Class      Class         // what to do about it
	RetryAfter time.Duration // from a Retry-After header; 0 when none
	Err        error         // the underlying cause (network error, ctx error, ...), may be nil
}

// Error describes the failure for an operator: route, HTTP status,
// status_code, message and class. It never contains the API secret.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("plugnmeet ")
	b.WriteString(e.Route)
	if e.HTTPStatus != 0 {
		b.WriteString(": HTTP ")
		b.WriteString(strconv.Itoa(e.HTTPStatus))
	}
	if e.StatusCode != "" {
		b.WriteString(": ")
		b.WriteString(e.StatusCode)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteString(")")
	}
	b.WriteString(" [")
	b.WriteString(e.Class.String())
	b.WriteString("]")
	return b.String()
}

// Unwrap returns the underlying cause, so errors.Is(err, context.Canceled) works.
func (e *Error) Unwrap() error { return e.Err }

// Is matches the class sentinels and ErrRoomNotFound.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrTransient:
		return e.Class == ClassTransient
	case ErrPermanent:
		return e.Class == ClassPermanent
	case ErrSystemic:
		return e.Class == ClassSystemic
	case ErrRoomNotFound:
		return e.StatusCode == StatusRoomNotFound || e.StatusCode == StatusRoomNotActive
	}
	return false
}

// ClassOf returns the class of err, or 0 when err is not (and does not wrap) an *Error.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return 0
}

// RetryAfter returns the delay the server asked for (Retry-After) in err, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// permanentServerErrors are INTERNAL_SERVER_ERROR messages that are not
// server trouble but the request's own fault, found late by the database or
// by the server's room-id checks: retrying cannot help.
var permanentServerErrors = []string{
	"Data too long for column",
	"RoomId cannot start with the reserved pattern",
	"RoomId cannot contain the reserved pattern",
}

// classifyAnswer classifies an HTTP 200 answer whose status is false.
func classifyAnswer(statusCode, msg string) Class {
	switch statusCode {
	case StatusInternalServerError:
		for _, p := range permanentServerErrors {
			if strings.Contains(msg, p) {
				return ClassPermanent
			}
		}
		return ClassTransient
	default:
		// INVALID_PARAMETERS, ROOM_NOT_FOUND and any code this client does not
		// know: the server looked at the request and said no.
		return ClassPermanent
	}
}

// classifyHTTP classifies a non-200 HTTP status.
func classifyHTTP(status int) Class {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return ClassSystemic
	case status == http.StatusTooManyRequests, status >= 500:
		return ClassTransient
	case status >= 400:
		return ClassPermanent
	default:
		// 1xx/3xx (redirects are not followed) and 2xx other than 200: the
		// URL does not point at a plugNmeet API; that is configuration.
		return ClassSystemic
	}
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

var errTooLarge = errors.New("answer larger than the response limit")
