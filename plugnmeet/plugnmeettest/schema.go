package plugnmeettest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// A small description of the protocol messages the stand-in decodes and
// encodes, in the order the server's protojson writes their fields.

type fkind int

const (
	kBool fkind = iota + 1
	kString
	kUint32
	kUint64
	kEnum
	kMsg
	kRepString
	kMapString
)

var kindName = map[fkind]string{kBool: "bool", kString: "string", kUint32: "uint32", kUint64: "uint64", kEnum: "enum"}

type field struct {
	name     string // proto name, snake_case
	kind     fkind
	optional bool     // proto3 `optional`: has presence, an explicit zero is kept
	server   bool     // set by the server; ignored in requests
	msg      *message // for kMsg
	enum     []string // for kEnum
}

// jsonName is protojson's lowerCamelCase name.
func (f *field) jsonName() string {
	var b strings.Builder
	up := false
	for _, r := range f.name {
		if r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

type message struct {
	fields []*field
	byName map[string]*field
}

func msg(fields ...*field) *message {
	m := &message{fields: fields, byName: map[string]*field{}}
	for _, f := range fields {
		m.byName[f.name] = f
		m.byName[f.jsonName()] = f
	}
	return m
}

func fb(name string) *field             { return &field{name: name, kind: kBool} }
func fob(name string) *field            { return &field{name: name, kind: kBool, optional: true} }
func fsb(name string) *field            { return &field{name: name, kind: kBool, server: true} }
func fs(name string) *field             { return &field{name: name, kind: kString} }
func fos(name string) *field            { return &field{name: name, kind: kString, optional: true} }
func fss(name string) *field            { return &field{name: name, kind: kString, server: true} }
func fm(name string, m *message) *field { return &field{name: name, kind: kMsg, msg: m} }
func frs(name string) *field            { return &field{name: name, kind: kRepString} }

// The create-room request and its metadata, after plugnmeet-protocol and
// the metadata a v2.4.0 server answers with.
var (
	recordingFeatures = msg(fb("is_allow"), fb("is_allow_cloud"), fb("enable_auto_cloud_recording"),
		fb("is_allow_local"), fb("only_record_admin_webcams"))
	chatFeatures = msg(fb("is_allow"), fb("is_allow_file_upload"), frs("allowed_file_types"),
		&field{name: "max_file_size", kind: kUint64, optional: true})
	sharedNotePadFeatures = msg(fb("is_allow"), fsb("is_active"), fsb("visible"), fss("note_pad_id"))
	whiteboardFeatures    = msg(fb("is_allow"), fsb("visible"), fos("preload_file"), fss("whiteboard_file_id"),
		fss("file_name"), fss("file_path"), &field{name: "total_pages", kind: kUint32, server: true},
		&field{name: "max_allowed_file_size", kind: kUint64, optional: true, server: true})
	externalMediaPlayerFeatures = msg(fb("is_allow"), fsb("is_active"),
		&field{name: "shared_by", kind: kString, optional: true, server: true},
		&field{name: "url", kind: kString, optional: true, server: true})
	waitingRoomFeatures  = msg(fb("is_active"), fs("waiting_room_msg"))
	breakoutRoomFeatures = msg(fb("is_allow"), fsb("is_active"), &field{name: "allowed_number_rooms", kind: kUint32})
	displayExternalLink  = msg(fb("is_allow"), fsb("is_active"),
		&field{name: "link", kind: kString, optional: true, server: true},
		&field{name: "shared_by", kind: kString, optional: true, server: true})
	ingressFeatures = msg(fb("is_allow"),
		&field{name: "input_type", kind: kEnum, enum: []string{"RTMP_INPUT", "WHIP_INPUT"}},
		fss("url"), fss("stream_key"))
	e2eeFeatures = msg(fb("is_enabled"), fb("included_chat_messages"), fb("included_whiteboard"),
		fb("enabled_self_insert_encryption_key"))
	pollsFeatures         = msg(fb("is_allow"), fsb("is_active"))
	transcriptionFeatures = msg(fb("is_allow"), fb("is_allow_translation"), fb("is_allow_speech_synthesis"),
		fsb("is_enabled"), &field{name: "allowed_spoken_langs", kind: kRepString, server: true},
		&field{name: "allowed_speech_users", kind: kRepString, server: true}, fsb("is_enabled_translation"),
		&field{name: "max_selected_trans_langs", kind: kUint32, server: true},
		&field{name: "allowed_trans_langs", kind: kRepString, server: true}, fsb("is_enabled_speech_synthesis"))
	chatTranslationFeatures = msg(fb("is_allow"), fsb("is_enabled"),
		&field{name: "allowed_trans_langs", kind: kRepString, server: true},
		&field{name: "max_selected_trans_langs", kind: kUint32, server: true})
	aiTextChatFeatures = msg(fb("is_allow"), fsb("is_enabled"), fsb("is_allowed_everyone"),
		&field{name: "allowed_user_ids", kind: kRepString, server: true}, fsb("is_notepad_ai_disabled"),
		fsb("is_whiteboard_ai_disabled"))
	meetingSummarization = msg(fb("is_allow"), fss("summarization_prompt"), fsb("is_enabled"))
	aiFeatures           = msg(fb("is_allow"), fm("ai_text_chat_features", aiTextChatFeatures),
		fm("meeting_summarization_features", meetingSummarization))
	insightsFeatures = msg(fb("is_allow"), fm("transcription_features", transcriptionFeatures),
		fm("chat_translation_features", chatTranslationFeatures), fm("ai_features", aiFeatures))
	sipDialInFeatures = msg(fb("is_allow"), fb("enable_dial_in_on_create"), fb("hide_phone_number"),
		fsb("is_active"), &field{name: "phone_numbers", kind: kRepString, server: true})
	externalBroadcasting = msg(fb("is_allow"), fb("is_allow_rtmp"))

	roomFeatures = msg(fb("allow_webcams"), fb("mute_on_start"), fb("allow_screen_share"), fob("allow_rtmp"),
		fb("allow_view_other_webcams"), fb("allow_view_other_users_list"), fb("admin_only_webcams"),
		&field{name: "room_duration", kind: kUint64, optional: true},
		fb("enable_analytics"), fob("allow_virtual_bg"), fob("allow_raise_hand"), fob("allow_reactions"),
		fob("auto_gen_user_id"),
		fm("recording_features", recordingFeatures), fm("chat_features", chatFeatures),
		fm("shared_note_pad_features", sharedNotePadFeatures), fm("whiteboard_features", whiteboardFeatures),
		fm("external_media_player_features", externalMediaPlayerFeatures),
		fm("waiting_room_features", waitingRoomFeatures), fm("breakout_room_features", breakoutRoomFeatures),
		fm("display_external_link_features", displayExternalLink), fm("ingress_features", ingressFeatures),
		fm("end_to_end_encryption_features", e2eeFeatures), fm("polls_features", pollsFeatures),
		fm("insights_features", insightsFeatures), fm("sip_dial_in_features", sipDialInFeatures),
		fm("external_broadcasting_features", externalBroadcasting))

	lockSettings = msg(fob("lock_microphone"), fob("lock_webcam"), fob("lock_screen_sharing"), fob("lock_chat"),
		fob("lock_chat_send_message"), fob("lock_chat_file_share"), fob("lock_private_chat"),
		fob("lock_whiteboard"), fob("lock_shared_notepad"), fob("lock_reactions"))
	copyrightConf = msg(fb("display"), fs("text"))

	roomMetadata = msg(fs("room_title"), fos("welcome_message"), fb("is_recording"), fb("is_active_rtmp"),
		fs("parent_room_id"), fb("is_breakout_room"), fos("webhook_url"),
		&field{name: "started_at", kind: kUint64}, fos("logout_url"),
		fm("room_features", roomFeatures), fm("default_lock_settings", lockSettings),
		fm("copyright_conf", copyrightConf), fos("metadata_id"), &field{name: "extra_data", kind: kMapString})

	createRoomReq = msg(fs("room_id"), &field{name: "empty_timeout", kind: kUint32, optional: true},
		&field{name: "max_participants", kind: kUint32, optional: true}, fm("metadata", roomMetadata))

	roomIDReq = msg(fs("room_id"))
)

// mval is a decoded message: proto field name to value (bool, string,
// uint64, []string, map[string]string or mval). A key is present when the
// field was set.
type mval map[string]any

// decodeMessage decodes a request body as protojson does (unknown fields
// dropped, snake_case and camelCase names, integers as numbers or strings).
func decodeMessage(body []byte, m *message) (mval, error) {
	root, err := parseJSON(body)
	if err != nil {
		return nil, err
	}
	d := &decoder{in: body}
	if root.kind != jObject {
		return nil, d.errAt(root.off, "unexpected token %s", tokenText(body[root.off:]))
	}
	return d.message(root, m)
}

type decoder struct{ in []byte }

func (d *decoder) errAt(off int, format string, args ...any) error {
	line, col := position(d.in, off)
	return &protoError{msg: fmt.Sprintf("(line %d:%d): ", line, col) + fmt.Sprintf(format, args...)}
}

func (d *decoder) message(n *jnode, m *message) (mval, error) {
	out := mval{}
	seen := map[*field]bool{}
	for i, k := range n.keys {
		f := m.byName[k]
		if f == nil {
			continue // unknown fields are dropped
		}
		if seen[f] {
			return nil, d.errAt(n.keyOffs[i], "duplicate field %q", k)
		}
		seen[f] = true
		v := n.vals[i]
		if v.kind == jNull {
			continue
		}
		val, err := d.value(v, f)
		if err != nil {
			return nil, err
		}
		if val != nil {
			out[f.name] = val
		}
	}
	return out, nil
}

func (d *decoder) value(v *jnode, f *field) (any, error) {
	invalid := func() error {
		raw := v.raw
		if v.kind == jObject {
			raw = "{"
		} else if v.kind == jArray {
			raw = "["
		}
		return d.errAt(v.off, "invalid value for %s field %s: %s", kindName[f.kind], f.jsonName(), raw)
	}
	switch f.kind {
	case kBool:
		if v.kind != jBool {
			return nil, invalid()
		}
		return v.b, nil
	case kString:
		if v.kind != jString {
			return nil, invalid()
		}
		return v.str, nil
	case kUint32, kUint64:
		max := uint64(math.MaxUint32)
		if f.kind == kUint64 {
			max = math.MaxUint64
		}
		lit := v.raw
		switch v.kind {
		case jNumber:
		case jString:
			lit = v.str
		default:
			return nil, invalid()
		}
		u, ok := parseUint(lit, max)
		if !ok {
			return nil, invalid()
		}
		return u, nil
	case kEnum:
		switch v.kind {
		case jString:
			for _, e := range f.enum {
				if e == v.str {
					return v.str, nil
				}
			}
			return nil, nil // unknown names are discarded, as the server's DiscardUnknown does
		case jNumber:
			if u, ok := parseUint(v.raw, math.MaxInt32); ok {
				if int(u) < len(f.enum) {
					return f.enum[u], nil
				}
				return strconv.FormatUint(u, 10), nil // open enum: unknown numbers are kept
			}
		}
		return nil, invalid()
	case kMsg:
		if v.kind != jObject {
			return nil, d.errAt(v.off, "unexpected token %s", tokenText(d.in[v.off:]))
		}
		return d.message(v, f.msg)
	case kRepString:
		if v.kind != jArray {
			return nil, d.errAt(v.off, "unexpected token %s", tokenText(d.in[v.off:]))
		}
		out := make([]string, 0, len(v.elems))
		for _, e := range v.elems {
			if e.kind != jString {
				return nil, d.errAt(e.off, "invalid value for string field %s: %s", f.jsonName(), e.raw)
			}
			out = append(out, e.str)
		}
		return out, nil
	case kMapString:
		if v.kind != jObject {
			return nil, d.errAt(v.off, "unexpected token %s", tokenText(d.in[v.off:]))
		}
		out := make(map[string]string, len(v.keys))
		for i, k := range v.keys {
			e := v.vals[i]
			if e.kind != jString {
				return nil, d.errAt(e.off, "invalid value for string field value: %s", e.raw)
			}
			out[k] = e.str
		}
		return out, nil
	}
	return nil, invalid()
}

// parseUint accepts protojson's integer forms: digits, or an exponent or
// fraction form whose value is integral; up to max.
func parseUint(lit string, max uint64) (uint64, bool) {
	if u, err := strconv.ParseUint(lit, 10, 64); err == nil {
		return u, u <= max
	}
	f, ok := new(big.Float).SetString(lit)
	if !ok || f.Sign() < 0 || !f.IsInt() {
		return 0, false
	}
	u, acc := f.Uint64()
	if acc != big.Exact {
		return 0, false
	}
	return u, u <= max
}

// encodeMessage writes v as the server's protojson does with every field
// present: fields in declaration order, unset optional fields left out,
// unset messages as null, 64-bit integers as strings.
func encodeMessage(buf *bytes.Buffer, v mval, m *message) {
	buf.WriteByte('{')
	first := true
	for _, f := range m.fields {
		val, ok := v[f.name]
		if !ok && f.optional {
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		writeJSON(buf, f.name)
		buf.WriteByte(':')
		switch f.kind {
		case kBool:
			b, _ := val.(bool)
			buf.WriteString(strconv.FormatBool(b))
		case kString, kEnum:
			s, _ := val.(string)
			if s == "" && f.kind == kEnum {
				s = f.enum[0]
			}
			writeJSON(buf, s)
		case kUint32:
			u, _ := val.(uint64)
			buf.WriteString(strconv.FormatUint(u, 10))
		case kUint64:
			u, _ := val.(uint64)
			writeJSON(buf, strconv.FormatUint(u, 10))
		case kMsg:
			sub, ok := val.(mval)
			if !ok {
				buf.WriteString("null")
				continue
			}
			encodeMessage(buf, sub, f.msg)
		case kRepString:
			l, _ := val.([]string)
			if l == nil {
				l = []string{}
			}
			writeJSON(buf, l)
		case kMapString:
			mp, _ := val.(map[string]string)
			if mp == nil {
				mp = map[string]string{}
			}
			writeJSON(buf, mp)
		}
	}
	buf.WriteByte('}')
}

// writeJSON writes v without HTML escaping, as protojson does.
func writeJSON(buf *bytes.Buffer, v any) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)           // strings, string slices and string maps always encode
	buf.Truncate(buf.Len() - 1) // Encode adds a newline
}
