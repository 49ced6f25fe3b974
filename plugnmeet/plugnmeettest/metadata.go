package plugnmeettest

import (
	"bytes"
	"maps"
	"slices"
	"strconv"
	"sync"
)

// defaultMetadataJSON holds the settings a v2.4.0 server with a stock
// configuration applies to a room before it merges the request onto them.
// It is the applied metadata of recording 30-create-false-booleans with the
// request's own values (title, allow_rtmp, allow_raise_hand) taken out.
const defaultMetadataJSON = `{
 "is_recording": false, "is_active_rtmp": false, "parent_room_id": "", "is_breakout_room": false,
 "room_features": {
  "allow_webcams": true, "mute_on_start": false, "allow_screen_share": true,
  "allow_view_other_webcams": true, "allow_view_other_users_list": true, "admin_only_webcams": false,
  "enable_analytics": true, "allow_virtual_bg": true, "allow_raise_hand": true, "allow_reactions": true,
  "auto_gen_user_id": false,
  "recording_features": {"is_allow": true, "is_allow_cloud": true, "enable_auto_cloud_recording": false,
   "is_allow_local": true, "only_record_admin_webcams": false},
  "chat_features": {"is_allow": true, "is_allow_file_upload": true,
   "allowed_file_types": ["docx", "jpeg", "jpg", "mp3", "mp4", "pdf", "png", "pptx", "svg", "txt", "webm", "xlsx", "zip"],
   "max_file_size": "50"},
  "shared_note_pad_features": {"is_allow": true, "is_active": false, "visible": false, "note_pad_id": ""},
  "whiteboard_features": {"is_allow": true, "visible": false, "whiteboard_file_id": "", "file_name": "",
   "file_path": "", "total_pages": 0, "max_allowed_file_size": "30"},
  "external_media_player_features": {"is_allow": true, "is_active": false},
  "waiting_room_features": {"is_active": false, "waiting_room_msg": ""},
  "breakout_room_features": {"is_allow": true, "is_active": false, "allowed_number_rooms": 6},
  "display_external_link_features": {"is_allow": true, "is_active": false},
  "ingress_features": {"is_allow": true, "input_type": "RTMP_INPUT", "url": "", "stream_key": ""},
  "end_to_end_encryption_features": {"is_enabled": false, "included_chat_messages": false,
   "included_whiteboard": false, "enabled_self_insert_encryption_key": false},
  "polls_features": {"is_allow": true, "is_active": false},
  "insights_features": {"is_allow": false,
   "transcription_features": {"is_allow": true, "is_allow_translation": false, "is_allow_speech_synthesis": false,
    "is_enabled": false, "allowed_spoken_langs": [], "allowed_speech_users": [], "is_enabled_translation": false,
    "max_selected_trans_langs": 2, "allowed_trans_langs": [], "is_enabled_speech_synthesis": false},
   "chat_translation_features": {"is_allow": true, "is_enabled": false, "allowed_trans_langs": [],
    "max_selected_trans_langs": 5},
   "ai_features": {"is_allow": true,
    "ai_text_chat_features": {"is_allow": true, "is_enabled": false, "is_allowed_everyone": false,
     "allowed_user_ids": [], "is_notepad_ai_disabled": false, "is_whiteboard_ai_disabled": false},
    "meeting_summarization_features": {"is_allow": true, "summarization_prompt": "", "is_enabled": false}}},
  "sip_dial_in_features": {"is_allow": false, "enable_dial_in_on_create": false, "hide_phone_number": false,
   "is_active": false, "phone_numbers": []},
  "external_broadcasting_features": {"is_allow": true, "is_allow_rtmp": true}
 },
 "default_lock_settings": {"lock_screen_sharing": true, "lock_whiteboard": true, "lock_shared_notepad": true},
 "copyright_conf": {"display": true,
  "text": "Powered by <a href=\"https://www.plugnmeet.org\" target=\"_blank\">plugNmeet</a>"},
 "extra_data": {}
}`

// parsedDefaults is defaultMetadataJSON decoded once; defaultMetadata hands out copies.
var parsedDefaults = sync.OnceValues(func() (mval, error) {
	return decodeMessage([]byte(defaultMetadataJSON), roomMetadata)
})

// defaultMetadata returns a fresh copy of the server's default metadata.
func defaultMetadata() (mval, error) {
	d, err := parsedDefaults()
	if err != nil {
		return nil, err
	}
	return deepCopy(d).(mval), nil
}

// deepCopy copies the maps and slices of a decoded message, so merging onto the copy leaves the
// defaults untouched.
func deepCopy(v any) any {
	switch x := v.(type) {
	case mval:
		out := make(mval, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return slices.Clone(x)
	case map[string]string:
		return maps.Clone(x)
	}
	return v
}

// mergeMessage merges src onto dst as proto.Merge does, which is what makes
// the server's false-boolean quirk: a plain (non-optional) scalar is only
// copied when it is not its zero value, while an optional one is always
// copied; lists are appended and maps merged. Server-set fields in src are
// ignored.
func mergeMessage(dst, src mval, m *message) {
	for _, f := range m.fields {
		v, ok := src[f.name]
		if !ok || f.server {
			continue
		}
		switch f.kind {
		case kMsg:
			sub, _ := v.(mval)
			if d, ok := dst[f.name].(mval); ok {
				mergeMessage(d, sub, f.msg)
			} else {
				n := mval{}
				mergeMessage(n, sub, f.msg)
				dst[f.name] = n
			}
		case kRepString:
			old, _ := dst[f.name].([]string)
			dst[f.name] = append(slices.Clone(old), v.([]string)...)
		case kMapString:
			old, _ := dst[f.name].(map[string]string)
			n := maps.Clone(old)
			if n == nil {
				n = map[string]string{}
			}
			maps.Copy(n, v.(map[string]string))
			dst[f.name] = n
		default:
			if f.optional || !isZero(v) {
				dst[f.name] = v
			}
		}
	}
}

func isZero(v any) bool {
	switch x := v.(type) {
	case bool:
		return !x
	case string:
		return x == ""
	case uint64:
		return x == 0
	}
	return v == nil
}

// appliedMetadata is what the server stores for a new session: its defaults
// merged with the request's metadata, plus the server-set fields.
func appliedMetadata(reqMetadata mval, startedAt int64, metadataID string) (mval, error) {
	md, err := defaultMetadata()
	if err != nil {
		return nil, err
	}
	mergeMessage(md, reqMetadata, roomMetadata)
	md["started_at"] = uint64(startedAt)
	md["metadata_id"] = metadataID
	// The deprecated allow_rtmp, when given, decides external broadcasting.
	if rf, ok := reqMetadata["room_features"].(mval); ok {
		if rtmp, ok := rf["allow_rtmp"].(bool); ok {
			eb := md["room_features"].(mval)["external_broadcasting_features"].(mval)
			eb["is_allow"], eb["is_allow_rtmp"] = rtmp, rtmp
		}
	}
	return md, nil
}

// encodeMetadata returns metadata as the JSON the server puts in room_info.metadata.
func encodeMetadata(md mval) string {
	var buf bytes.Buffer
	encodeMessage(&buf, md, roomMetadata)
	return buf.String()
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
