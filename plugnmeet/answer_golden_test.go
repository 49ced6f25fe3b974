package plugnmeet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/roomworker/roomworker/plugnmeet"
)

// The goldens under testdata/roominfo-golden were written by the RoomInfo decoding and
// MarshalJSON of before the one-pass decoder (go test ./plugnmeet -run TestRoomInfoGolden
// -update-roominfo-golden); the normalised room_info must stay byte for byte what it was.
var updateRoomInfoGolden = flag.Bool("update-roominfo-golden", false, "rewrite testdata/roominfo-golden from the current code")

const roomInfoGoldenDir = "testdata/roominfo-golden"

// goldenRoomInfos returns every room_info the recorded answers hold, by golden file name, with
// the route that answered it: every successful create, getActiveRoomInfo and getActiveRoomsInfo.
func goldenRoomInfos(t *testing.T) map[string]recording {
	t.Helper()
	out := map[string]recording{}
	for _, rec := range loadRecordings(t) {
		var ans struct {
			Status   bool            `json:"status"`
			RoomInfo json.RawMessage `json:"room_info"`
			Room     *struct {
				RoomInfo json.RawMessage `json:"room_info"`
			} `json:"room"`
			Rooms []json.RawMessage `json:"rooms"`
		}
		if rec.Status != http.StatusOK || json.Unmarshal([]byte(rec.ResponseBody), &ans) != nil || !ans.Status {
			continue
		}
		switch {
		case rec.Route == plugnmeet.RouteCreate && ans.RoomInfo != nil:
			out[rec.Name] = rec
		case rec.Route == plugnmeet.RouteGetActiveRoomInfo && ans.Room != nil:
			out[rec.Name] = rec
		case rec.Route == plugnmeet.RouteGetActiveRoomsInfo:
			for i := range ans.Rooms {
				out[fmt.Sprintf("%s-%d", rec.Name, i)] = rec
			}
		}
	}
	return out
}

// normalisedFromClient runs the client's decoding of rec's answer and returns the normalised
// room_info of the golden name (the client's RoomInfo, marshalled).
func normalisedFromClient(t *testing.T, name string, rec recording) []byte {
	t.Helper()
	srv := replayServer(t, rec)
	defer srv.Close()
	c, err := plugnmeet.New(plugnmeet.Config{URL: srv.URL, APIKey: recordedKey, APISecret: recordedSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var info plugnmeet.RoomInfo
	switch rec.Route {
	case plugnmeet.RouteCreate:
		ri, err := c.CreateRoom(ctx, []byte(rec.RequestBody))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info = *ri
	case plugnmeet.RouteGetActiveRoomInfo:
		room, err := c.GetActiveRoomInfo(ctx, roomIDOf(rec.RequestBody))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info = room.RoomInfo
	case plugnmeet.RouteGetActiveRoomsInfo:
		rooms, err := c.GetActiveRoomsInfo(ctx)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var i int
		if _, err := fmt.Sscanf(name[len(rec.Name):], "-%d", &i); err != nil || i >= len(rooms) {
			t.Fatalf("%s: room %d of %d (%v)", name, i, len(rooms), err)
		}
		info = rooms[i].RoomInfo
	}
	b, err := info.MarshalJSON()
	if err != nil {
		t.Fatalf("%s: MarshalJSON: %v", name, err)
	}
	return b
}

func TestRoomInfoGolden(t *testing.T) {
	infos := goldenRoomInfos(t)
	if len(infos) < 7 {
		t.Fatalf("found %d recorded room_info answers, want at least the 7 successful creates", len(infos))
	}
	if *updateRoomInfoGolden {
		if err := os.MkdirAll(roomInfoGoldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	creates := 0
	for name, rec := range infos {
		if rec.Route == plugnmeet.RouteCreate {
			creates++
		}
		got := normalisedFromClient(t, name, rec)
		file := filepath.Join(roomInfoGoldenDir, name+".json")
		if *updateRoomInfoGolden {
			if err := os.WriteFile(file, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%s: %v (a new recording needs its golden, written by the code before the change)", name, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: normalised room_info changed\n got %s\nwant %s", name, got, want)
		}
		// The golden decodes (plain JSON, as records keep it) and encodes again to itself;
		// json.Marshal gives the same with encoding/json's HTML escaping on top.
		var again plugnmeet.RoomInfo
		if err := json.Unmarshal(want, &again); err != nil {
			t.Fatalf("%s: golden does not decode: %v", name, err)
		}
		if b, err := again.MarshalJSON(); err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s: golden decoded and encoded again gives %s (%v)", name, b, err)
		}
		var escaped bytes.Buffer
		json.HTMLEscape(&escaped, want)
		if b, err := json.Marshal(again); err != nil || !bytes.Equal(b, escaped.Bytes()) {
			t.Errorf("%s: json.Marshal gives %s (%v)", name, b, err)
		}
	}
	if creates < 7 {
		t.Errorf("%d create answers have goldens, want the 7 recorded successes", creates)
	}
}
