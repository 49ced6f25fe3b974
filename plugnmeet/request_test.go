package plugnmeet_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/roomworker/roomworker/plugnmeet"
)

// The create-room bodies the struct cannot hold on purpose: our contract is
// stricter than the server (no integers as strings, uint32 range) and
// malformed JSON is malformed.
var notDecodable = map[string]bool{
	"15-malformed":               true,
	"20-empty-body":              true,
	"36-max-participants-2-32":   true,
	"41-max-participants-string": true,
}

// unknownFields are keys the server ignores and so does the struct.
var unknownFields = map[string]bool{"/bogus": true}

func TestCreateRoomRequestRoundTrip(t *testing.T) {
	seed, err := os.ReadFile(filepath.Join("testdata", "seed-create-room.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{"seed": seed}
	for _, rec := range loadRecordings(t) {
		if rec.Route == plugnmeet.RouteCreate {
			cases[rec.Name] = []byte(rec.RequestBody)
		}
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			var req plugnmeet.CreateRoomRequest
			err := json.Unmarshal(in, &req)
			if notDecodable[name] {
				if err == nil {
					t.Fatalf("decoded %s, want an error", in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, err := json.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			var inTree, outTree any
			_ = json.Unmarshal(in, &inTree)
			_ = json.Unmarshal(out, &outTree)
			for _, d := range sameMeaning("", inTree, outTree) {
				t.Error(d)
			}
			var again plugnmeet.CreateRoomRequest
			if err := json.Unmarshal(out, &again); err != nil || !reflect.DeepEqual(again, req) {
				t.Errorf("second round trip differs: %v", err)
			}
		})
	}
}

// sameMeaning lists the differences between a request tree and its
// re-encoding: every value must survive, except a plain false/0/"" that the
// struct omits (the server cannot tell it from absent) and unknown fields.
func sameMeaning(path string, in, out any) []string {
	var diffs []string
	inObj, ok := in.(map[string]any)
	if !ok {
		if !reflect.DeepEqual(in, out) {
			diffs = append(diffs, path+": "+jsonOf(in)+" became "+jsonOf(out))
		}
		return diffs
	}
	outObj, ok := out.(map[string]any)
	if !ok {
		return []string{path + ": object became " + jsonOf(out)}
	}
	for k, v := range inObj {
		p := path + "/" + k
		o, present := outObj[k]
		switch {
		case present:
			diffs = append(diffs, sameMeaning(p, v, o)...)
		case unknownFields[p]:
		case v == false || v == 0.0 || v == "":
		default:
			diffs = append(diffs, p+": dropped")
		}
	}
	for k := range outObj {
		if _, ok := inObj[k]; !ok {
			diffs = append(diffs, path+"/"+k+": added")
		}
	}
	return diffs
}

// Optional proto booleans keep an explicit false on the wire.
func TestOptionalFalseSurvives(t *testing.T) {
	in := `{"room_id":"o","metadata":{"room_title":"O","room_features":{"allow_rtmp":false,"allow_virtual_bg":false,
		"allow_raise_hand":false,"allow_reactions":false,"auto_gen_user_id":false,"room_duration":0},
		"default_lock_settings":{"lock_microphone":false,"lock_webcam":false,"lock_screen_sharing":false,
		"lock_whiteboard":false,"lock_shared_notepad":false,"lock_chat":false,"lock_chat_send_message":false,
		"lock_chat_file_share":false,"lock_private_chat":false,"lock_reactions":false}}}`
	var req plugnmeet.CreateRoomRequest
	if err := json.Unmarshal([]byte(in), &req); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(req)
	if n := strings.Count(string(out), ":false"); n != 15 {
		t.Errorf("%d explicit falses kept, want 15: %s", n, out)
	}
	if !strings.Contains(string(out), `"room_duration":0`) {
		t.Errorf("optional zero room_duration dropped: %s", out)
	}
}
