package events

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// ErrInvalidEvent is matched (errors.Is) by every error that says a message
// or an event is not an acceptable CloudEvent.
var ErrInvalidEvent = errors.New("invalid CloudEvent")

// InvalidEventError lists why a message is not an acceptable CloudEvent.
type InvalidEventError struct {
	// Mode is the content mode the message was read in, or "" when it is
	// not recognisably a CloudEvent.
	Mode Mode
	// Problems are sorted by Path. Path is "/<attribute>" for an attribute
	// (for example "/source") and "" for the message as a whole; Message
	// names the header or JSON member and says what is wrong.
	Problems []FieldError
}

// Error joins the problems into one line.
func (e *InvalidEventError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidEvent.Error())
	if e.Mode != "" {
		b.WriteString(" (")
		b.WriteString(string(e.Mode))
		b.WriteString(" mode)")
	}
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

// Unwrap makes errors.Is(err, ErrInvalidEvent) true.
func (e *InvalidEventError) Unwrap() error { return ErrInvalidEvent }

// problems collects FieldErrors for one decode or encode.
type problems []FieldError

func (p *problems) add(attr, msg string) {
	path := ""
	if attr != "" {
		path = "/" + attr
	}
	*p = append(*p, FieldError{Path: path, Message: msg})
}

// err returns nil when there is no problem, or an *InvalidEventError.
func (p problems) err(mode Mode) error {
	if len(p) == 0 {
		return nil
	}
	sort.SliceStable(p, func(i, j int) bool {
		if p[i].Path != p[j].Path {
			return p[i].Path < p[j].Path
		}
		return p[i].Message < p[j].Message
	})
	return &InvalidEventError{Mode: mode, Problems: p}
}

// quote renders an untrusted value for an error message, shortened.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}
