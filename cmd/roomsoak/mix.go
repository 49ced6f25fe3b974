package main

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/roomworker/roomworker/internal/hostile"
)

// Kinds of request in the mix.
const (
	kindValid   = "valid"   // a new room
	kindRepeat  = "repeat"  // a new event for a room and payload already sent: answered from the record
	kindCopy    = "copy"    // the same event (same id) published again: one result for both copies
	kindVariant = "variant" // an existing room with a different payload: plugNmeet answers with the live session
	kindInvalid = "invalid" // fails the schema
	kindHostile = "hostile" // a case from testdata/hostile
)

// request is one logical request: one event id (or, for an unreadable message, its stream
// position), published one or more times.
type request struct {
	kind     string
	id       string
	room     string
	variant  int // payload variant of a valid room
	header   nats.Header
	body     []byte
	want     hostile.Want
	caseName string
	seqs     []string // "<stream>/<seq>" of every copy stored
}

// planMix decides the n messages to publish, deterministically from rng. A copy is a second
// publish of an earlier request, so it adds a message but not a request.
type publishItem struct {
	req *request
}

// The mix comes in two phases. Variants (a second payload for a room) and their resends go in
// the second phase, published once every first-phase request has its result: a resend of the
// first payload processed after the second would rightly call create again (rule 3 of the
// design), which would blur the create-call bound the soak checks.
func planMix(n int, rng *rand.Rand, cases []hostile.Case, runID string) (first, second []publishItem) {
	var (
		items    []publishItem
		rooms    []string                // valid room_ids, in order of first request
		latest   = map[string]*request{} // each room's latest valid/variant request
		variants = map[string]int{}
		seq      int
	)
	newID := func() string { seq++; return fmt.Sprintf("%s-%06d", runID, seq) }
	var light, heavy []hostile.Case
	for _, c := range cases {
		if c.Heavy {
			heavy = append(heavy, c)
		} else {
			light = append(light, c)
		}
	}
	addHostile := func(c hostile.Case) {
		id := newID()
		room := "soak-" + id
		h, body := c.Message(id, room)
		items = append(items, publishItem{&request{kind: kindHostile, id: id, room: room, header: h, body: body, want: c.Want, caseName: c.Name}})
	}
	// Heavy hostile cases (megabytes each) once, at the start.
	if n >= 100 {
		for _, c := range heavy {
			addHostile(c)
		}
	}
	for len(items)+len(second) < n {
		r := rng.Float64()
		switch {
		// Repeats and copies resend a room's latest payload, as a scheduler resends the current
		// state; a resend of an older payload after a newer one would rightly call create again.
		case r < 0.45 || len(rooms) == 0:
			id := newID()
			req := &request{kind: kindValid, id: id, room: "soak-" + id}
			req.header, req.body = requestMessage(req.id, req.room, 0)
			req.want = hostile.Want{Type: "room.created"}
			rooms = append(rooms, req.room)
			latest[req.room] = req
			items = append(items, publishItem{req})
		case r < 0.57:
			src := latest[rooms[rng.IntN(len(rooms))]]
			req := &request{kind: kindRepeat, id: newID(), room: src.room, variant: src.variant, want: src.want}
			req.header, req.body = requestMessage(req.id, req.room, req.variant)
			items = append(items, publishItem{req})
		case r < 0.67:
			items = append(items, publishItem{latest[rooms[rng.IntN(len(rooms))]]}) // the same event again
		case r < 0.77:
			second = append(second, publishItem{}) // a variant, planned below
			continue
		case r < 0.88:
			id := newID()
			req := &request{kind: kindInvalid, id: id, room: "soak-" + id, want: hostile.Want{Type: "room.failed", Reason: "invalid_request"}}
			req.header, req.body = invalidMessage(id, req.room, rng.IntN(4))
			items = append(items, publishItem{req})
		default:
			if len(light) == 0 {
				continue
			}
			addHostile(light[rng.IntN(len(light))])
		}
	}
	// Second phase: one variant per chosen room, then resends of it.
	var variantReqs []*request
	for i := range second {
		if len(variantReqs) > 0 && rng.Float64() < 0.3 {
			src := variantReqs[rng.IntN(len(variantReqs))]
			if rng.IntN(2) == 0 {
				second[i] = publishItem{src} // the same event again
				continue
			}
			req := &request{kind: kindRepeat, id: newID(), room: src.room, variant: src.variant, want: src.want}
			req.header, req.body = requestMessage(req.id, req.room, req.variant)
			second[i] = publishItem{req}
			continue
		}
		src := latest[rooms[rng.IntN(len(rooms))]]
		for try := 0; try < 20 && variants[src.room] > 0; try++ { // one variant per room
			src = latest[rooms[rng.IntN(len(rooms))]]
		}
		variants[src.room]++
		req := &request{kind: kindVariant, id: newID(), room: src.room, variant: variants[src.room], want: src.want}
		req.header, req.body = requestMessage(req.id, req.room, req.variant)
		latest[req.room] = req
		variantReqs = append(variantReqs, req)
		second[i] = publishItem{req}
	}
	return items, second
}

// requestMessage is a valid binary-mode room.create for room; variant changes the payload.
func requestMessage(id, room string, variant int) (nats.Header, []byte) {
	h := nats.Header{}
	h.Set("ce-specversion", "1.0")
	h.Set("ce-id", id)
	h.Set("ce-source", "/roomsoak")
	h.Set("ce-type", "room.create")
	h.Set("Content-Type", "application/json")
	title := "Soak room " + room
	if variant > 0 {
		title += fmt.Sprintf(" (variant %d)", variant)
	}
	body := `{"room_id":"` + room + `","max_participants":` + fmt.Sprint(10+variant) + `,"metadata":{"room_title":"` + title + `",` +
		`"room_features":{"allow_webcams":true,"mute_on_start":false,"allow_screen_share":true,"allow_rtmp":false,` +
		`"admin_only_webcams":false,"allow_view_other_webcams":true,"allow_view_other_users_list":true,` +
		`"recording_features":{"is_allow":false,"is_allow_cloud":false,"is_allow_local":false},` +
		`"chat_features":{"is_allow":true,"is_allow_file_upload":false},"shared_note_pad_features":{"is_allow":false},` +
		`"whiteboard_features":{"is_allow":true},"external_media_player_features":{"is_allow":false},` +
		`"waiting_room_features":{"is_active":false},"breakout_room_features":{"is_allow":false},` +
		`"display_external_link_features":{"is_allow":false}}}}`
	return h, []byte(body)
}

// invalidMessage is a readable event whose data fails the schema in one of four ways.
func invalidMessage(id, room string, which int) (nats.Header, []byte) {
	h, body := requestMessage(id, room, 0)
	s := string(body)
	switch which {
	case 0:
		s = strings.Replace(s, `"room_id":"`, `"room_id":"user_`, 1) // reserved prefix
	case 1:
		s = strings.Replace(s, `"max_participants":10`, `"max_participants":-10`, 1)
	case 2:
		s = strings.Replace(s, `"metadata":{`, `"metadata":{"logout_url":"javascript:alert(1)",`, 1)
	default:
		s = `{"room_id":"` + room + `"}` // no metadata
	}
	return h, []byte(s)
}
