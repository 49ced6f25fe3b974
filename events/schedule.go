package events

import (
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// WithStartTime sets the meeting's start time (the starttime extension, RFC 3339) on a
// room.create request: roomworker validates the request at once and creates the room
// CREATE_LEAD before t; a start closer than that, or past, means "create now".
func WithStartTime(t time.Time) RequestOption {
	return func(e *event.Event) { e.SetExtension(ExtStartTime, t.UTC().Format(time.RFC3339Nano)) }
}

// StartTime returns the request's starttime extension: ok false when it has none, an error
// when it is not an RFC 3339 time.
func StartTime(e *event.Event) (t time.Time, ok bool, err error) {
	v, present := e.Extensions()[ExtStartTime]
	if !present {
		return time.Time{}, false, nil
	}
	t, err = types.ToTime(v)
	if err != nil {
		return time.Time{}, true, fmt.Errorf("starttime %v is not an RFC 3339 time", v)
	}
	return t, true, nil
}
