package plugnmeet

import (
	"bytes"

	"github.com/roomworker/roomworker/internal/jsonscan"
)

// One-pass decoding of answers.
//
// A create answer is read once, front to back (jsonscan): the envelope, room_info's fields and
// its metadata string, which is unquoted straight into the buffer that becomes RoomInfo.Metadata
// and compacted there in place while its grammar is checked. Nothing is decoded twice and
// nothing re-encoded; the normalised room_info JSON (MarshalJSON's bytes) is written once, at
// the end.
//
// The fast path takes the answers plugNmeet sends. On anything else (a malformed or cut
// answer, a field of another type, null, a key only encoding/json's case-insensitive matching
// would take, a duplicate field, a lone surrogate or invalid UTF-8 in a string it must unquote,
// very deep nesting) it gives up, and encoding/json decodes as before, with the same result or
// error. What the fast path accepts, it decodes exactly as encoding/json did
// (FuzzOnePassAnswer checks both against the previous decoder).

// decodeCreateOnePass decodes a create answer into env and info (see Client.call's onePass).
func decodeCreateOnePass(data []byte, env *envelope, info **RoomInfo) (isEnvelope, ok bool) {
	r := jsonscan.NewReader(data)
	if !r.Open('{') {
		return false, false
	}
	var ans createAnswer
	const (
		seenStatus = 1 << iota
		seenMsg
		seenCode
		seenRoomInfo
	)
	var seen uint8
	for more := !r.Close('}'); more; {
		k, esc, high, ok := r.Key()
		if !ok || esc || high {
			return false, false // not a plain ASCII key: encoding/json may fold it to a field
		}
		var bit uint8
		switch string(k) {
		case "status":
			bit = seenStatus
			tok, _ := r.Token()
			switch string(tok) {
			case "true":
				ans.Status = true
			case "false":
			default:
				return false, false
			}
		case "msg":
			bit = seenMsg
			if ans.Msg, ok = text(&r); !ok {
				return false, false
			}
		case "status_code":
			bit = seenCode
			if ans.StatusCode, ok = text(&r); !ok {
				return false, false
			}
		case "room_info":
			bit = seenRoomInfo
			if ans.RoomInfo, ok = readRoomInfo(&r, 1); !ok {
				return false, false
			}
		default:
			if foldsToAny(k, "status", "msg", "status_code", "room_info") || !r.Skip(1) {
				return false, false
			}
		}
		if seen&bit != 0 {
			return false, false // a duplicate: encoding/json keeps the last
		}
		seen |= bit
		if more, ok = r.Next('}'); !ok {
			return false, false
		}
	}
	if !r.AtEnd() {
		return false, false
	}
	*env, *info = ans.envelope, ans.RoomInfo
	return seen&seenStatus != 0 && seen&(seenMsg|seenCode) != 0, true
}

// text reads a string's value.
func text(r *jsonscan.Reader) (string, bool) {
	v, ok := r.Text()
	return string(v), ok
}

// foldsToAny reports whether the ASCII key k equals one of names but for letter case: a key
// encoding/json would take for that field.
func foldsToAny(k []byte, names ...string) bool {
	for _, n := range names {
		if len(k) == len(n) && bytes.EqualFold(k, []byte(n)) {
			return true
		}
	}
	return false
}

// roomInfoNames are room_info's fields, in RoomInfo's order.
var roomInfoNames = [...]string{"room_title", "room_id", "sid", "joined_participants", "is_running", "is_recording",
	"is_active_rtmp", "webhook_url", "is_breakout_room", "parent_room_id", "creation_time", "metadata"}

// readRoomInfo reads a room_info object at depth, as RoomInfo.UnmarshalJSON's encoding/json
// path decodes it, and writes its normalised JSON.
func readRoomInfo(r *jsonscan.Reader, depth int) (*RoomInfo, bool) {
	if !r.Open('{') {
		return nil, false
	}
	info := new(RoomInfo)
	var md []byte
	var seen uint16
	for more := !r.Close('}'); more; {
		k, esc, high, ok := r.Key()
		if !ok || esc || high {
			return nil, false // not a plain ASCII key: encoding/json may fold it to a field
		}
		field := -1
		for i, n := range roomInfoNames {
			if string(k) == n {
				field = i
				break
			}
		}
		switch field {
		case 0, 1, 2, 7, 9: // strings
			s, ok := text(r)
			if !ok {
				return nil, false
			}
			switch field {
			case 0:
				info.RoomTitle = s
			case 1:
				info.RoomID = s
			case 2:
				info.SID = s
			case 7:
				info.WebhookURL = s
			case 9:
				info.ParentRoomID = s
			}
		case 3, 10: // 64-bit integers, as numbers or strings (flexInt)
			var n int64
			var err error
			if r.Peek() == '"' {
				s, esc, _, ok := r.Str()
				if !ok || esc {
					return nil, false
				}
				if len(s) > 0 { // "" is 0
					n, err = parseInt64(s)
				}
			} else {
				tok, ok := r.Token()
				if !ok || tok[0] == 't' || tok[0] == 'f' || tok[0] == 'n' {
					return nil, false
				}
				n, err = parseInt64(tok)
			}
			if err != nil {
				return nil, false
			}
			if field == 3 {
				info.JoinedParticipants = n
			} else {
				info.CreationTime = n
			}
		case 4, 5, 6, 8: // flags, as booleans, numbers or such strings (flexBool)
			r.Peek()
			start := r.Pos()
			if r.Peek() == '"' {
				if _, _, _, ok := r.Str(); !ok {
					return nil, false
				}
			} else if tok, ok := r.Token(); !ok || tok[0] == 'n' {
				return nil, false
			}
			var f flexBool
			if f.UnmarshalJSON(r.Bytes()[start:r.Pos()]) != nil {
				return nil, false
			}
			switch field {
			case 4:
				info.IsRunning = bool(f)
			case 5:
				info.IsRecording = bool(f)
			case 6:
				info.IsActiveRTMP = bool(f)
			case 8:
				info.IsBreakoutRoom = bool(f)
			}
		case 11: // a JSON string holding an object, or an object
			switch r.Peek() {
			case '"':
				buf, ok := r.Unquote(make([]byte, 0, r.StringLen()))
				if !ok {
					return nil, false
				}
				if len(buf) > 0 { // "" is no metadata
					if md, ok = jsonscan.CompactObject(buf[:0], buf); !ok {
						return nil, false
					}
				}
			case '{':
				start := r.Pos()
				if !r.Skip(depth + 1) {
					return nil, false
				}
				if md, ok = jsonscan.CompactObject(make([]byte, 0, r.Pos()-start), r.Bytes()[start:r.Pos()]); !ok {
					return nil, false
				}
			default:
				return nil, false
			}
		default:
			if foldsToAny(k, roomInfoNames[:]...) || !r.Skip(depth+1) {
				return nil, false
			}
		}
		if field >= 0 {
			if seen&(1<<field) != 0 {
				return nil, false // a duplicate: encoding/json keeps the last
			}
			seen |= 1 << field
		}
		if more, ok = r.Next('}'); !ok {
			return nil, false
		}
	}
	if len(md) > 0 {
		info.Metadata = md[:len(md):len(md)]
	}
	info.enc = encodeRoomInfo(info, info.Metadata)
	return info, true
}
