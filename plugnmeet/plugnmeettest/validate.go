package plugnmeettest

import (
	"net/url"
	"regexp"
	"strings"
)

// The server validates a decoded request with protovalidate; these are the
// rules and messages of the fields a client sends.

var roomIDPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

var uriScheme = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*$`)

const roomIDMessage = "room_id should only contain ASCII letters (a-z A-Z), digits (0-9) or -_"

type violation struct{ path, msg string }

// validateCreate returns the violations of a decoded create request, in field order.
func validateCreate(req mval) []violation {
	var vs []violation
	add := func(path, msg string) { vs = append(vs, violation{path, msg}) }

	id, _ := req["room_id"].(string)
	if !roomIDPattern.MatchString(id) {
		add("room_id", roomIDMessage)
	}
	for _, name := range []string{"empty_timeout", "max_participants"} {
		if v, ok := req[name].(uint64); ok && v == 0 {
			add(name, "value must be greater than 0")
		}
	}
	md, ok := req["metadata"].(mval)
	if !ok {
		add("metadata", "value is required")
		return vs
	}
	if t, _ := md["room_title"].(string); t == "" {
		add("metadata.room_title", "value is required")
	}
	for _, name := range []string{"is_recording", "is_active_rtmp", "is_breakout_room"} {
		if b, _ := md[name].(bool); b {
			add("metadata."+name, "value must equal false")
		}
	}
	if s, _ := md["parent_room_id"].(string); s != "" {
		add("metadata.parent_room_id", "parent_room_id should not contain any value")
	}
	for _, name := range []string{"webhook_url", "logout_url"} {
		if s, ok := md[name].(string); ok && !validURI(s) {
			add("metadata."+name, "value must be a valid URI")
		}
	}
	if u, _ := md["started_at"].(uint64); u != 0 {
		add("metadata.started_at", "value must equal 0")
	}
	rf, ok := md["room_features"].(mval)
	if !ok {
		add("metadata.room_features", "value is required")
	} else if wb, ok := rf["whiteboard_features"].(mval); ok {
		if s, ok := wb["preload_file"].(string); ok && !validURI(s) {
			add("metadata.room_features.whiteboard_features.preload_file", "value must be a valid URI")
		}
	}
	if s, ok := md["metadata_id"].(string); ok && s != "" {
		add("metadata.metadata_id", "metadata_id should not contain any value")
	}
	return vs
}

// validateRoomID returns the violations of a {room_id} request.
func validateRoomID(req mval) []violation {
	if id, _ := req["room_id"].(string); id == "" {
		return []violation{{"room_id", "value is required"}}
	}
	return nil
}

// validURI is protovalidate's `uri` rule in short: an absolute URI.
func validURI(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || !uriScheme.MatchString(u.Scheme) {
		return false
	}
	return !strings.ContainsAny(s, " \t\n<>\"{}|\\^`")
}

// violationsMessage formats violations as protovalidate's error does.
func violationsMessage(vs []violation) string {
	if len(vs) == 1 {
		return "validation error: " + vs[0].path + ": " + vs[0].msg
	}
	var b strings.Builder
	b.WriteString("validation errors:")
	for _, v := range vs {
		b.WriteString("\n - ")
		b.WriteString(v.path)
		b.WriteString(": ")
		b.WriteString(v.msg)
	}
	return b.String()
}
