package worker

import (
	"time"

	"github.com/nats-io/nats.go"

	"github.com/roomworker/roomworker/events"
)

// action is how a delivery ends: exactly one of these per message.
type action int

const (
	actAck action = iota
	actNak
	actTerm
)

func (a action) String() string { return [...]string{"ack", "nak", "term"}[a] }

// ending is how the executor ends a delivery.
type ending struct {
	act   action
	delay time.Duration // for actNak
}

// verdict is what decide concludes about one delivery. It is data only: the executor carries
// it out (record, publish and wait for the PubAck, end the delivery) and nothing else acts on
// a delivery.
type verdict struct {
	result *result // the result to publish, or nil (a delivery put back publishes nothing)
	end    ending
	why    string // for logs; for a delivery put back, why it is (the final delivery's failure says it)

	// What to record before publishing.
	outcome  bool    // record the result under the request key (results that depend on plugNmeet)
	room     *Record // the room's new Record, for a created session
	endSID   string  // the recorded session a room.end ended: its Record says so
	attempts int     // create attempts spent so far; written when the delivery is put back

	schedule *nats.Msg // a booking to store (a schedule message) before the result
	purge    string    // a booking subject to purge (room.cancel) before the result

	lastErr error // the last plugNmeet error, for a final delivery turned into retries_exhausted
	pause   error // plugNmeet refuses the key or is not at PLUGNMEET_URL: pause consumption
	hit     bool  // answered from the room's record without a create call
}

// result is a result event to publish: its type, room and encoded data.
type result struct {
	typ    string
	roomID string
	label  string // the metric reason: created, duplicate, or the failure reason
	data   []byte
	// For logs and metrics.
	attempts int
	sid      string
	warnings int
	message  string
}

// failure is the verdict for a request that ends in room.failed.
func failure(roomID string, f events.RoomFailed) verdict {
	f.RoomID = roomID
	data, err := events.Marshal(f)
	if err != nil { // a RoomFailed of strings and numbers always encodes
		data = []byte(`{"reason":"` + string(f.Reason) + `"}`)
	}
	return verdict{
		result: &result{typ: events.TypeRoomFailed, roomID: roomID, label: string(f.Reason), data: data,
			attempts: f.Attempts, message: f.Message},
		end: ending{act: actTerm},
		why: string(f.Reason),
	}
}

// success is the verdict for a request answered with room.created.
func success(c events.RoomCreated) (verdict, error) {
	data, err := encodeCreated(c)
	if err != nil {
		return verdict{}, err
	}
	label := "created"
	if c.Duplicate {
		label = "duplicate"
	}
	return verdict{
		result: &result{typ: events.TypeRoomCreated, roomID: c.RoomID, label: label, data: data,
			attempts: c.Attempts, sid: c.SID, warnings: len(c.Warnings)},
		end: ending{act: actAck},
		why: label,
	}, nil
}

// ended is the verdict for a room.end request answered with room.ended.
func ended(e events.RoomEnded) verdict {
	data, err := events.Marshal(e)
	if err != nil { // a RoomEnded of a string, a bool and a number always encodes
		data = []byte(`{"room_id":"` + e.RoomID + `"}`)
	}
	label := "ended"
	if e.AlreadyEnded {
		label = "already_ended"
	}
	return verdict{
		result: &result{typ: events.TypeRoomEnded, roomID: e.RoomID, label: label, data: data, attempts: e.Attempts},
		end:    ending{act: actAck},
		why:    label,
	}
}

// recorded is the verdict for a request whose outcome an earlier delivery recorded: the same
// result again (same id, so JetStream drops a copy already stored).
func recorded(o *Outcome) verdict {
	end := ending{act: actAck}
	if o.Type == events.TypeRoomFailed {
		end.act = actTerm
	}
	return verdict{
		result: &result{typ: o.Type, roomID: o.RoomID, label: o.Label, data: o.Data, sid: o.SID, attempts: o.Attempts,
			message: o.Message, warnings: o.Warnings},
		end: end,
		why: "outcome recorded by an earlier delivery",
		hit: o.Hit,
	}
}

// putBack is the verdict for a delivery JetStream should offer again after delay.
func putBack(delay time.Duration, why string) verdict {
	return verdict{end: ending{act: actNak, delay: delay}, why: why}
}
