package plugnmeet_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/roomworker/roomworker/plugnmeet/internal/recorded"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roomworker/roomworker/plugnmeet"
)

const (
	recordedKey    = "plugnmeet"
	recordedSecret = "8ebf61f49bc8ed15b868f3b712a995ddce12"
)

type recording = recorded.Exchange

func loadRecordings(t testing.TB) []recording {
	t.Helper()
	recs, err := recorded.Load(filepath.Join("testdata", "recorded"))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// Every signature the real server accepted is what Sign computes; the ones
// it refused are not.
func TestRecordedSignatures(t *testing.T) {
	for _, rec := range loadRecordings(t) {
		sig, ok := rec.RequestHeaders["HASH-SIGNATURE"]
		if !ok {
			continue
		}
		accepted := rec.Status != http.StatusUnauthorized
		got := plugnmeet.Sign([]byte(recordedSecret), []byte(rec.RequestBody))
		if accepted && got != sig {
			t.Errorf("%s: Sign = %s, the server accepted %s", rec.Name, got, sig)
		}
		if !accepted && rec.RequestHeaders["API-KEY"] == recordedKey && got == sig {
			t.Errorf("%s: the server refused %s, yet Sign computes it", rec.Name, sig)
		}
	}
}

// outcome is what the client must make of a recorded answer.
type outcome struct {
	class    plugnmeet.Class // 0: success
	notFound bool            // error matches ErrRoomNotFound
	active   bool            // isRoomActive's answer
}

var recordedOutcomes = map[string]outcome{
	"01-create":                  {},
	"02-create-again":            {},
	"03-isactive":                {active: true},
	"04-getactiveinfo":           {},
	"05-bad-signature":           {class: plugnmeet.ClassSystemic},
	"06-missing-title":           {class: plugnmeet.ClassPermanent},
	"07-invalid-roomid":          {class: plugnmeet.ClassPermanent},
	"08-endroom":                 {},
	"09-isactive-after-end":      {},
	"10-getinfo-after-end":       {class: plugnmeet.ClassPermanent, notFound: true},
	"11-endroom-again":           {class: plugnmeet.ClassPermanent, notFound: true},
	"12-isactive-unknown":        {},
	"13-getinfo-unknown":         {class: plugnmeet.ClassPermanent, notFound: true},
	"15-malformed":               {class: plugnmeet.ClassPermanent},
	"16-empty-roomid":            {class: plugnmeet.ClassPermanent},
	"17-missing-metadata":        {class: plugnmeet.ClassPermanent},
	"18-missing-features":        {class: plugnmeet.ClassPermanent},
	"19-unknown-field":           {},
	"20-empty-body":              {class: plugnmeet.ClassPermanent},
	"21-recreate-after-end":      {},
	"22-getactiveroomsinfo":      {},
	"23-cleanup-1":               {},
	"23-cleanup-2":               {},
	"30-create-false-booleans":   {},
	"31-title-255-emoji":         {},
	"32-title-256":               {class: plugnmeet.ClassPermanent},
	"33-room-id-65":              {class: plugnmeet.ClassPermanent},
	"34-room-id-user-prefix":     {class: plugnmeet.ClassPermanent},
	"35-room-id-field-marker":    {class: plugnmeet.ClassPermanent},
	"36-max-participants-2-32":   {class: plugnmeet.ClassPermanent},
	"37-signature-uppercase-hex": {class: plugnmeet.ClassSystemic},
	"38-missing-api-key":         {class: plugnmeet.ClassSystemic},
	"39-wrong-api-key":           {class: plugnmeet.ClassSystemic},
	"40-missing-signature":       {class: plugnmeet.ClassSystemic},
	"41-max-participants-string": {},
}

// replayServer answers every call with the recorded bytes, after checking
// that the client sent the recorded request (same bytes, same signature)
// where the client's request can be the same.
func replayServer(t *testing.T, rec recording) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != rec.Route {
			t.Errorf("%s: client called %s, recorded %s", rec.Name, r.URL.Path, rec.Route)
		}
		if r.Header.Get("API-KEY") != recordedKey || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: headers %v", rec.Name, r.Header)
		}
		if string(body) == rec.RequestBody && rec.Status != http.StatusUnauthorized &&
			r.Header.Get("HASH-SIGNATURE") != rec.RequestHeaders["HASH-SIGNATURE"] {
			t.Errorf("%s: signature %s, the server accepted %s", rec.Name, r.Header.Get("HASH-SIGNATURE"), rec.RequestHeaders["HASH-SIGNATURE"])
		}
		w.Header().Set("Content-Type", rec.ResponseContentType)
		w.WriteHeader(rec.Status)
		_, _ = io.WriteString(w, rec.ResponseBody)
	}))
}

// The client decodes every recorded answer and maps it to the right result or class.
func TestClientDecodesRecordedAnswers(t *testing.T) {
	for _, rec := range loadRecordings(t) {
		t.Run(rec.Name, func(t *testing.T) {
			want, ok := recordedOutcomes[rec.Name]
			if !ok {
				t.Fatalf("no expected outcome for recording %s", rec.Name)
			}
			srv := replayServer(t, rec)
			defer srv.Close()
			c, err := plugnmeet.New(plugnmeet.Config{URL: srv.URL, APIKey: recordedKey, APISecret: recordedSecret})
			if err != nil {
				t.Fatal(err)
			}
			var recorded struct {
				RoomInfo *json.RawMessage `json:"room_info"`
				Room     *struct {
					RoomInfo json.RawMessage `json:"room_info"`
				} `json:"room"`
			}
			_ = json.Unmarshal([]byte(rec.ResponseBody), &recorded)
			roomID := roomIDOf(rec.RequestBody)
			ctx := context.Background()
			var callErr error
			switch rec.Route {
			case plugnmeet.RouteCreate:
				var info *plugnmeet.RoomInfo
				info, callErr = c.CreateRoom(ctx, []byte(rec.RequestBody))
				if callErr == nil {
					checkRoomInfo(t, *recorded.RoomInfo, info)
				}
			case plugnmeet.RouteIsRoomActive:
				var active bool
				active, callErr = c.IsRoomActive(ctx, roomID)
				if callErr == nil && active != want.active {
					t.Errorf("IsRoomActive = %v, want %v", active, want.active)
				}
			case plugnmeet.RouteGetActiveRoomInfo:
				var room *plugnmeet.ActiveRoom
				room, callErr = c.GetActiveRoomInfo(ctx, roomID)
				if callErr == nil {
					checkRoomInfo(t, recorded.Room.RoomInfo, &room.RoomInfo)
					if room.Participants == nil {
						t.Error("participants_info: want an empty list, got none")
					}
				}
			case plugnmeet.RouteEndRoom:
				callErr = c.EndRoom(ctx, roomID)
			case plugnmeet.RouteGetActiveRoomsInfo:
				var rooms []plugnmeet.ActiveRoom
				rooms, callErr = c.GetActiveRoomsInfo(ctx)
				if callErr == nil {
					var ans struct {
						Rooms []struct {
							RoomInfo json.RawMessage `json:"room_info"`
						} `json:"rooms"`
					}
					_ = json.Unmarshal([]byte(rec.ResponseBody), &ans)
					if len(rooms) == 0 || len(rooms) != len(ans.Rooms) {
						t.Fatalf("%d rooms, recorded %d", len(rooms), len(ans.Rooms))
					}
					for i := range rooms {
						checkRoomInfo(t, ans.Rooms[i].RoomInfo, &rooms[i].RoomInfo)
						if rooms[i].Participants == nil {
							t.Error("participants_info: want an empty list, got none")
						}
					}
				}
			default:
				t.Fatalf("no client method for %s", rec.Route)
			}
			if want.class == 0 {
				if callErr != nil {
					t.Fatalf("want success, got %v", callErr)
				}
				return
			}
			if callErr == nil {
				t.Fatalf("want a %v error, got success", want.class)
			}
			if got := plugnmeet.ClassOf(callErr); got != want.class {
				t.Errorf("class %v, want %v: %v", got, want.class, callErr)
			}
			// Every recorded answer is plugNmeet's; its refusals are of the credentials.
			if errors.Is(callErr, plugnmeet.ErrNotPlugNmeet) {
				t.Errorf("a real answer taken for another server's: %v", callErr)
			}
			if errors.Is(callErr, plugnmeet.ErrCredentials) != (rec.Status == http.StatusUnauthorized) {
				t.Errorf("errors.Is(ErrCredentials) = %v for HTTP %d", !(rec.Status == http.StatusUnauthorized), rec.Status)
			}
			if errors.Is(callErr, plugnmeet.ErrRoomNotFound) != want.notFound {
				t.Errorf("errors.Is(ErrRoomNotFound) = %v, want %v", !want.notFound, want.notFound)
			}
			var ans struct {
				Msg        string `json:"msg"`
				StatusCode string `json:"status_code"`
			}
			_ = json.Unmarshal([]byte(rec.ResponseBody), &ans)
			var e *plugnmeet.Error
			if !errors.As(callErr, &e) || e.Msg != ans.Msg || e.StatusCode != ans.StatusCode || e.HTTPStatus != rec.Status {
				t.Errorf("error %+v does not carry the answer's msg %q and status_code %s", e, ans.Msg, ans.StatusCode)
			}
			if !strings.Contains(callErr.Error(), ans.StatusCode) || !strings.Contains(callErr.Error(), rec.Route) {
				t.Errorf("error text %q lacks the route or status_code", callErr)
			}
		})
	}
}

func roomIDOf(body string) string {
	var r struct {
		RoomID string `json:"room_id"`
	}
	_ = json.Unmarshal([]byte(body), &r)
	return r.RoomID
}

// checkRoomInfo compares a decoded RoomInfo with the recorded room_info.
func checkRoomInfo(t *testing.T, raw json.RawMessage, got *plugnmeet.RoomInfo) {
	t.Helper()
	var want struct {
		RoomTitle          string `json:"room_title"`
		RoomID             string `json:"room_id"`
		SID                string `json:"sid"`
		JoinedParticipants string `json:"joined_participants"`
		IsRunning          int    `json:"is_running"`
		CreationTime       string `json:"creation_time"`
		Metadata           string `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if got.RoomTitle != want.RoomTitle || got.RoomID != want.RoomID || got.SID != want.SID ||
		!got.IsRunning || got.JoinedParticipants != 0 || want.IsRunning != 1 {
		t.Errorf("decoded %+v, recorded %+v", got, want)
	}
	if ct := got.CreationTime; ct <= 0 || want.CreationTime != jsonInt(ct) {
		t.Errorf("creation_time %d, recorded %s", ct, want.CreationTime)
	}
	var gotMD, wantMD any
	if err := json.Unmarshal(got.Metadata, &gotMD); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if err := json.Unmarshal([]byte(want.Metadata), &wantMD); err != nil {
		t.Fatal(err)
	}
	if jsonOf(gotMD) != jsonOf(wantMD) {
		t.Errorf("metadata %s, recorded %s", got.Metadata, want.Metadata)
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
