package events_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/schema"
)

// TestNewEndRoomRequestFollowsTheSchema checks that NewEndRoomRequest accepts exactly the
// room_ids the end-room schema (schema.ParseEndRoom, what the worker validates with) accepts.
// events cannot import schema itself: schema's tests import events.
func TestNewEndRoomRequestFollowsTheSchema(t *testing.T) {
	for _, id := range []string{
		"r", "room01", "team-weekly_2026", "-", "_", "user", "xuser_", "User_1", "a-FIELD", "a_FIELD_b", "a-field_b",
		strings.Repeat("x", 64), strings.Repeat("x", 65), "", " ", "a b", "a.b", "a/b", "a*", "a>", "räume", "a\x00",
		"user_", "user_1", "-FIELD_", "a-FIELD_b", "\u00e9", "a\nb",
	} {
		ev, err := events.NewEndRoomRequest(id)
		var data []byte
		if err == nil {
			data = ev.Data()
		} else {
			data, _ = json.Marshal(events.EndRoom{RoomID: id})
		}
		got, serr := schema.ParseEndRoom(data)
		if (err == nil) != (serr == nil) {
			t.Errorf("room_id %q: NewEndRoomRequest error %v, schema.ParseEndRoom error %v", id, err, serr)
			continue
		}
		if err == nil && got != id {
			t.Errorf("room_id %q: the schema read %q", id, got)
		}
		// room.cancel names its room with the same data and rules.
		if cev, cerr := events.NewCancelRoomRequest(id); (cerr == nil) != (err == nil) || cerr == nil && string(cev.Data()) != string(data) {
			t.Errorf("room_id %q: NewCancelRoomRequest error %v, NewEndRoomRequest error %v", id, cerr, err)
		}
	}
}
