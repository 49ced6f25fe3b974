package plugnmeet

import (
	"errors"
	"math"
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

	// ErrNotPlugNmeet matches a systemic error for an answer that is not the
	// plugNmeet API's JSON envelope: a 404 or 405 page, a 200 whose body is
	// not JSON (an HTML page) or is JSON without status/status_code/msg, or
	// any 1xx, 3xx or 2xx other than 200. The URL (PLUGNMEET_URL) most likely
	// points at something else than the plugNmeet server. It is the *Error's Err.
	ErrNotPlugNmeet = errors.New("not a plugNmeet API answer: PLUGNMEET_URL probably does not point at the plugNmeet server")
	// ErrCredentials matches a systemic error for HTTP 401, 403 or 407: the
	// server refused the API key or signature, or something in front of it
	// (a proxy, a web application firewall) refused the call. Whether a 403
	// concerns every request or only this one takes a probe call to tell. It
	// is the *Error's Err.
	ErrCredentials = errors.New("credentials or call refused: check PLUGNMEET_API_KEY and PLUGNMEET_API_SECRET, and what stands in front of plugNmeet")
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
//     honoured), whatever their body; HTTP 200 with status false and
//     INTERNAL_SERVER_ERROR (the lock timeout, database or NATS trouble); a
//     200 that starts like a JSON object but does not decode (cut short or
//     mangled on the way: the outcome is unknown and every call is safe to
//     repeat, create returning the live session).
//   - permanent: INVALID_PARAMETERS and any other status_code with status
//     false (ROOM_NOT_FOUND included); the INTERNAL_SERVER_ERROR answers that
//     are the request's own fault found late ("Data too long for column",
//     the reserved room-id patterns 'user_' and '-FIELD_'); HTTP 413; HTTP
//     4xx other than 401, 403, 407 and 429, and a 404 or 405 only when its
//     body is plugNmeet's JSON envelope.
//   - systemic, with Err = ErrCredentials: HTTP 401, 403 and 407 (key or
//     signature refused, or a proxy or firewall in front refusing).
//   - systemic, with Err = ErrNotPlugNmeet: an answer that is not plugNmeet's
//     JSON envelope where the API must answer with one: a 404 or 405 page
//     (a wrong path in the URL), a 200 whose body is not a JSON object (an
//     HTML page from a web app's fallback route, plain text, empty) or is
//     complete JSON without a boolean status and a status_code or msg, and
//     any 1xx, 3xx (redirects are not followed) or 2xx other than 200.
//   - systemic, with neither: an answer larger than MaxResponseBytes, which
//     repeats on every retry and is fixed by configuration (the limit or the
//     URL), not by waiting; whether the body would have been plugNmeet's is
//     not looked at.
//
// Systemic errors never say anything about the request itself: the caller
// keeps it and tries again once the configuration is fixed.
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

// classifyHTTP classifies a non-200 HTTP status; isEnvelope says whether
// the body is plugNmeet's JSON envelope. The cause is ErrCredentials,
// ErrNotPlugNmeet or nil.
func classifyHTTP(status int, isEnvelope bool) (Class, error) {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden,
		status == http.StatusProxyAuthRequired:
		return ClassSystemic, ErrCredentials
	case status == http.StatusTooManyRequests, status >= 500:
		return ClassTransient, nil
	case (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && !isEnvelope:
		// plugNmeet answers every API route it has; a page like this comes
		// from a wrong path in the URL, or from another server.
		return ClassSystemic, ErrNotPlugNmeet
	case status >= 400:
		return ClassPermanent, nil
	default:
		// 1xx/3xx (redirects are not followed) and 2xx other than 200: the
		// URL does not point at a plugNmeet API.
		return ClassSystemic, ErrNotPlugNmeet
	}
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP-date.
// It is never negative; a delay too long for a time.Duration saturates.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err == nil && secs <= 0:
		return 0
	case err == nil && secs > maxRetryAfterSeconds:
		return maxDuration
	case err == nil:
		return time.Duration(secs) * time.Second
	case errors.Is(err, strconv.ErrRange):
		// A number of seconds beyond int64 (ParseInt saturated secs).
		if secs > 0 {
			return maxDuration
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 { // Sub saturates far in the future
			return d
		}
	}
	return 0
}

// maxDuration is the longest time.Duration; a longer Retry-After saturates
// to it, and the caller caps it to its own limit.
const maxDuration = time.Duration(math.MaxInt64)

// maxRetryAfterSeconds is the largest whole number of seconds a Duration holds.
const maxRetryAfterSeconds = int64(maxDuration / time.Second)

var errTooLarge = errors.New("answer larger than the response limit")
