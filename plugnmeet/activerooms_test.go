package plugnmeet_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

// GetActiveRoomsInfo lists what is active: nothing (no error), then the
// created rooms in order, then what is left after an end.
func TestGetActiveRoomsInfoAgainstStandIn(t *testing.T) {
	_, c := standIn(t, plugnmeettest.Options{})
	ctx := context.Background()
	rooms, err := c.GetActiveRoomsInfo(ctx)
	if err != nil || len(rooms) != 0 {
		t.Fatalf("no room active: %v, %v", rooms, err)
	}
	var sids []string
	for _, id := range []string{"ar-1", "ar-2"} {
		info, err := c.CreateRoom(ctx, body(id))
		if err != nil {
			t.Fatal(err)
		}
		sids = append(sids, info.SID)
	}
	rooms, err = c.GetActiveRoomsInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rooms {
		got = append(got, r.RoomInfo.SID)
		if r.RoomInfo.RoomID == "" || len(r.RoomInfo.Metadata) == 0 || r.Participants == nil {
			t.Errorf("room %+v", r)
		}
	}
	if !slices.Equal(got, sids) {
		t.Errorf("sids %v, want %v", got, sids)
	}
	if err := c.EndRoom(ctx, "ar-1"); err != nil {
		t.Fatal(err)
	}
	rooms, err = c.GetActiveRoomsInfo(ctx)
	if err != nil || len(rooms) != 1 || rooms[0].RoomInfo.RoomID != "ar-2" {
		t.Fatalf("after ending ar-1: %+v, %v", rooms, err)
	}
}

// The server's "nothing active" answer is status false; it is an empty
// list. Other refusals stay errors.
func TestGetActiveRoomsInfoAnswers(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		body   string
		rooms  int
		class  plugnmeet.Class
	}{
		{"none active", 200, `{"status":false, "msg":"no active room found", "status_code":"ROOM_NOT_FOUND", "rooms":[]}`, 0, 0},
		{"none active, other code", 200, `{"status":false, "msg":"no active room found", "status_code":"NOT_FOUND"}`, 0, 0},
		{"none active, no code", 200, `{"status":false, "msg":"no active room found"}`, 0, 0},
		{"success, empty", 200, `{"status":true, "msg":"success", "status_code":"SUCCESS", "rooms":[]}`, 0, 0},
		{"server trouble", 200, `{"status":false, "msg":"redis: connection refused", "status_code":"INTERNAL_SERVER_ERROR"}`, 0, plugnmeet.ClassTransient},
		{"unauthorized", 401, `{"status":false, "msg":"Failed to verify provided authentication details.", "status_code":"INVALID_TOKEN_OR_SIGNATURE"}`, 0, plugnmeet.ClassSystemic},
		{"html", 200, `<html>app</html>`, 0, plugnmeet.ClassSystemic},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				if r.URL.Path != plugnmeet.RouteGetActiveRoomsInfo || string(b) != "{}" ||
					r.Header.Get("HASH-SIGNATURE") != plugnmeet.Sign([]byte(testSecret), b) {
					t.Errorf("request %s %q %v", r.URL.Path, b, r.Header)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.body)
			}))
			defer srv.Close()
			rooms, err := newClient(t, srv.URL, testSecret).GetActiveRoomsInfo(context.Background())
			if c.class == 0 {
				if err != nil || len(rooms) != c.rooms {
					t.Fatalf("%v, %v", rooms, err)
				}
				return
			}
			var e *plugnmeet.Error
			if !errors.As(err, &e) || e.Class != c.class {
				t.Fatalf("%v: want class %v", err, c.class)
			}
		})
	}
}
