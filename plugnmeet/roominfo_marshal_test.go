package plugnmeet

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestRoomInfoMarshalWritesEachFieldOnce(t *testing.T) {
	info := RoomInfo{RoomID: "r1", SID: "s1", CreationTime: 1795638069, IsRunning: true,
		Metadata: json.RawMessage(`{"room_title":"T","room_features":{"allow_webcams":true}}`)}
	b, err := info.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(b, []byte(`"metadata":`)); n != 1 {
		t.Fatalf("metadata appears %d times in %s", n, b)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 12 || back["creation_time"] != 1795638069.0 || back["is_running"] != true {
		t.Errorf("round trip gave %v", back)
	}
	if md, _ := back["metadata"].(map[string]any); md["room_title"] != "T" {
		t.Errorf("metadata %v", back["metadata"])
	}
	empty, err := RoomInfo{RoomID: "r2"}.MarshalJSON()
	if err != nil || !bytes.Contains(empty, []byte(`"metadata":null`)) || bytes.Count(empty, []byte(`"metadata"`)) != 1 {
		t.Errorf("no metadata: %s (%v)", empty, err)
	}
}
