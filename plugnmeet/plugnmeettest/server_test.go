package plugnmeettest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomworker/roomworker/plugnmeet"
)

// result is a decoded answer.
type result struct {
	HTTP       int
	Status     bool            `json:"status"`
	Msg        string          `json:"msg"`
	StatusCode string          `json:"status_code"`
	RoomInfo   json.RawMessage `json:"room_info"`
	IsActive   *bool           `json:"is_active"`
	Body       string
	CType      string // Content-Type
}

func (r result) info(t *testing.T) plugnmeet.RoomInfo {
	t.Helper()
	var ri plugnmeet.RoomInfo
	if err := json.Unmarshal(r.RoomInfo, &ri); err != nil {
		t.Fatalf("room_info: %v (%s)", err, r.Body)
	}
	return ri
}

// post sends a correctly signed call.
func post(t *testing.T, srv *Server, route, body string) result {
	t.Helper()
	r, err := postCtx(context.Background(), srv, route, body)
	if err != nil {
		t.Fatalf("%s: %v", route, err)
	}
	return r
}

func postCtx(ctx context.Context, srv *Server, route, body string) (result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+route, strings.NewReader(body))
	if err != nil {
		return result{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("API-KEY", recordedKey)
	req.Header.Set("HASH-SIGNATURE", plugnmeet.Sign([]byte(recordedSecret), []byte(body)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	r := result{HTTP: resp.StatusCode, Body: string(b), CType: resp.Header.Get("Content-Type")}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &r); err != nil {
			return r, fmt.Errorf("answer not JSON: %w: %s", err, b)
		}
	}
	return r, nil
}

func createBody(roomID, title string) string {
	return fmt.Sprintf(`{"room_id":%q,"metadata":{"room_title":%q,"room_features":{"allow_webcams":true}}}`, roomID, title)
}

func TestCreateValidationLikeServer(t *testing.T) {
	srv := NewServer(recordedOptions())
	defer srv.Close()
	const nbsp = "\u00a0"
	tests := []struct {
		name, body, code, msg string
	}{
		{"several violations", `{"room_id":"bad id!"}`, "INVALID_PARAMETERS",
			"validation errors:\n - room_id: " + roomIDMessage + "\n - metadata: value is required"},
		{"missing room_id", `{"metadata":{"room_title":"T","room_features":{}}}`, "INVALID_PARAMETERS",
			"validation error: room_id: " + roomIDMessage},
		{"string for a string field given a number", `{"room_id": 5}`, "INVALID_PARAMETERS",
			"proto:" + nbsp + "(line 1:13): invalid value for string field roomId: 5"},
		{"bool given a string", `{"room_id":"a","metadata":{"room_title":"T","room_features":{"allow_webcams":"yes"}}}`,
			"INVALID_PARAMETERS", "proto:" + nbsp + `(line 1:78): invalid value for bool field allowWebcams: "yes"`},
		{"negative max_participants", `{"room_id":"a","max_participants":-1}`, "INVALID_PARAMETERS",
			"proto:" + nbsp + "(line 1:35): invalid value for uint32 field maxParticipants: -1"},
		{"zero max_participants", `{"room_id":"a","max_participants":0,"metadata":{"room_title":"T","room_features":{}}}`,
			"INVALID_PARAMETERS", "validation error: max_participants: value must be greater than 0"},
		{"empty webhook_url", `{"room_id":"a","metadata":{"room_title":"T","webhook_url":"","room_features":{}}}`,
			"INVALID_PARAMETERS", "validation error: metadata.webhook_url: value must be a valid URI"},
		{"array body", `[]`, "INVALID_PARAMETERS", "proto:" + nbsp + "(line 1:1): unexpected token ["},
		{"trailing garbage", `{} x`, "INVALID_PARAMETERS", "proto:" + nbsp + "syntax error (line 1:4): unexpected token x"},
		{"duplicate field", `{"room_id":"a","roomId":"b"}`, "INVALID_PARAMETERS",
			"proto:" + nbsp + `(line 1:16): duplicate field "roomId"`},
		{"room_id with a dot", createBody("a.b", "T"), "INVALID_PARAMETERS", "validation error: room_id: " + roomIDMessage},
		{"server-internal field set", `{"room_id":"a","metadata":{"room_title":"T","is_recording":true,"room_features":{}}}`,
			"INVALID_PARAMETERS", "validation error: metadata.is_recording: value must equal false"},
		{"camelCase names", `{"roomId":"camel","metadata":{"roomTitle":"T","roomFeatures":{"allowWebcams":true}}}`, "SUCCESS", "success"},
		{"integer as string", `{"room_id":"str","max_participants":"10","metadata":{"room_title":"T","room_features":{}}}`, "SUCCESS", "success"},
		{"odd but valid URI", `{"room_id":"js","metadata":{"room_title":"T","webhook_url":"javascript:alert(1)","room_features":{}}}`, "SUCCESS", "success"},
		{"unknown enum name (discarded)", `{"room_id":"enum","metadata":{"room_title":"T","room_features":{"ingress_features":{"input_type":"FOO"}}}}`,
			"SUCCESS", "success"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, srv, plugnmeet.RouteCreate, tt.body)
			if r.HTTP != 200 || r.StatusCode != tt.code || r.Msg != tt.msg || r.Status != (tt.code == "SUCCESS") {
				t.Errorf("got HTTP %d %v %s %q, want 200 %s %q", r.HTTP, r.Status, r.StatusCode, r.Msg, tt.code, tt.msg)
			}
		})
	}
}

func TestRoutesAndLimits(t *testing.T) {
	srv := NewServer(Options{APIKey: recordedKey, APISecret: recordedSecret, MaxBodyBytes: 1024})
	defer srv.Close()

	r := post(t, srv, "/auth/room/nope", `{}`)
	if r.HTTP != 404 || r.Body != "not found" {
		t.Errorf("unknown route: %d %q", r.HTTP, r.Body)
	}
	// A base URL with a wrong path: the server's 404 page, as PLUGNMEET_API.md records it.
	r = post(t, srv, "/wrong"+plugnmeet.RouteCreate, createBody("w", "W"))
	if r.HTTP != 404 || r.Body != "not found" || r.CType != "text/plain; charset=utf-8" {
		t.Errorf("wrong path: %d %q %q", r.HTTP, r.CType, r.Body)
	}
	resp, err := http.Get(srv.URL + "/healthCheck")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthCheck: %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /elsewhere: %d", resp.StatusCode)
	}
	big := createBody("big", strings.Repeat("x", 2000))
	if r := post(t, srv, plugnmeet.RouteCreate, big); r.HTTP != 413 {
		t.Errorf("over the body limit: HTTP %d, want 413", r.HTTP)
	}
	if r := post(t, srv, plugnmeet.RouteIsRoomActive, `{}`); r.StatusCode != "INVALID_PARAMETERS" ||
		r.Msg != "validation error: room_id: value is required" {
		t.Errorf("isRoomActive without room_id: %s %q", r.StatusCode, r.Msg)
	}
}

// An active session is returned before the late checks, so a request that
// would fail on a fresh room "succeeds", and its settings are ignored.
func TestCreateOnActiveRoomIgnoresRequest(t *testing.T) {
	srv := NewServer(recordedOptions())
	defer srv.Close()
	first := post(t, srv, plugnmeet.RouteCreate, createBody("r1", "First")).info(t)
	again := post(t, srv, plugnmeet.RouteCreate, createBody("r1", strings.Repeat("t", 256)))
	if !again.Status {
		t.Fatalf("create on active room: %s %q", again.StatusCode, again.Msg)
	}
	if got := again.info(t); got.SID != first.SID || got.RoomTitle != "First" {
		t.Errorf("got sid %s title %q, want %s and First", got.SID, got.RoomTitle, first.SID)
	}
	if fresh := post(t, srv, plugnmeet.RouteCreate, createBody("r2", strings.Repeat("t", 256))); fresh.Status ||
		!strings.Contains(fresh.Msg, "Data too long for column 'room_title'") {
		t.Errorf("256-char title on a fresh room: %v %q", fresh.Status, fresh.Msg)
	}
	if end := post(t, srv, plugnmeet.RouteEndRoom, `{"room_id":"r1"}`); !end.Status {
		t.Fatalf("endRoom: %q", end.Msg)
	}
	if next := post(t, srv, plugnmeet.RouteCreate, createBody("r1", "Second")).info(t); next.SID == first.SID || next.RoomTitle != "Second" {
		t.Errorf("create after end: sid %s title %q, want a new sid and Second", next.SID, next.RoomTitle)
	}
	if st := srv.Stats(); st.RoomsCreated != 2 || st.ActiveRooms != 1 || st.CreateCalls != 4 {
		t.Errorf("stats %+v, want 2 rooms created, 1 active, 4 create calls", st)
	}
	if n := srv.CreateCalls("r1"); n != 3 {
		t.Errorf("CreateCalls(r1) = %d, want 3", n)
	}
}

func TestAppliedMetadataQuirk(t *testing.T) {
	srv := NewServer(recordedOptions())
	defer srv.Close()
	body := `{"room_id":"q","metadata":{"room_title":"Q","extra_data":{"k":"v"},"room_features":{
		"allow_webcams":false,"allow_raise_hand":false,"allow_rtmp":true,"mute_on_start":true,
		"chat_features":{"is_allow":false,"allowed_file_types":["odt"],"max_file_size":"5"}},
		"default_lock_settings":{"lock_microphone":false,"lock_webcam":true}}}`
	info := post(t, srv, plugnmeet.RouteCreate, body).info(t)
	var md struct {
		RoomFeatures struct {
			AllowWebcams   bool  `json:"allow_webcams"`
			AllowRaiseHand bool  `json:"allow_raise_hand"`
			MuteOnStart    bool  `json:"mute_on_start"`
			AllowRTMP      *bool `json:"allow_rtmp"`
			ChatFeatures   struct {
				IsAllow          bool     `json:"is_allow"`
				AllowedFileTypes []string `json:"allowed_file_types"`
				MaxFileSize      string   `json:"max_file_size"`
			} `json:"chat_features"`
			ExternalBroadcasting map[string]bool `json:"external_broadcasting_features"`
		} `json:"room_features"`
		Locks     map[string]bool   `json:"default_lock_settings"`
		ExtraData map[string]string `json:"extra_data"`
	}
	if err := json.Unmarshal(info.Metadata, &md); err != nil {
		t.Fatal(err)
	}
	f := md.RoomFeatures
	if !f.AllowWebcams || !f.ChatFeatures.IsAllow {
		t.Errorf("plain false booleans switched a default-true feature off: %+v", f)
	}
	if f.AllowRaiseHand || !f.MuteOnStart || f.AllowRTMP == nil || !*f.AllowRTMP {
		t.Errorf("explicit values lost: %+v", f)
	}
	if f.ChatFeatures.MaxFileSize != "5" || len(f.ChatFeatures.AllowedFileTypes) != 14 {
		t.Errorf("chat: %+v", f.ChatFeatures)
	}
	if v, ok := md.Locks["lock_microphone"]; !ok || v || !md.Locks["lock_webcam"] || !md.Locks["lock_screen_sharing"] {
		t.Errorf("lock settings %v", md.Locks)
	}
	if md.ExtraData["k"] != "v" {
		t.Errorf("extra_data %v", md.ExtraData)
	}
}

// Concurrent creates of one room are serialised: one session, one sid.
func TestConcurrentCreatesOneSession(t *testing.T) {
	srv := NewServer(Options{APIKey: recordedKey, APISecret: recordedSecret, CreateWork: 20 * time.Millisecond})
	defer srv.Close()
	const n = 32
	sids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r, err := postCtx(context.Background(), srv, plugnmeet.RouteCreate, createBody("same", "S"))
			if err != nil || !r.Status {
				t.Errorf("create: %v %q", err, r.Msg)
				return
			}
			var ri plugnmeet.RoomInfo
			if err := json.Unmarshal(r.RoomInfo, &ri); err != nil {
				t.Error(err)
				return
			}
			sids <- ri.SID
		})
	}
	wg.Wait()
	close(sids)
	distinct := map[string]bool{}
	for s := range sids {
		distinct[s] = true
	}
	if len(distinct) != 1 {
		t.Errorf("%d distinct sids, want 1", len(distinct))
	}
	if st := srv.Stats(); st.RoomsCreated != 1 || st.CreateCalls != n || srv.CreateCalls("same") != n {
		t.Errorf("stats %+v, CreateCalls(same)=%d", st, srv.CreateCalls("same"))
	}
}

// A caller that cannot get the room's lock within LockWait gets the
// server's lock-timeout answer; so does a create during endRoom's clean-up.
func TestLockTimeout(t *testing.T) {
	srv := NewServer(Options{APIKey: recordedKey, APISecret: recordedSecret,
		LockWait: 50 * time.Millisecond, CreateWork: 400 * time.Millisecond, EndCleanup: 400 * time.Millisecond})
	defer srv.Close()
	results := make(chan result, 2)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { results <- post(t, srv, plugnmeet.RouteCreate, createBody("locked", "L")) })
	}
	wg.Wait()
	close(results)
	var ok, timedOut int
	for r := range results {
		switch {
		case r.Status:
			ok++
		case r.StatusCode == "INTERNAL_SERVER_ERROR" &&
			r.Msg == "timeout waiting to acquire lock for room locked, operation is currently locked":
			timedOut++
		default:
			t.Errorf("unexpected answer %s %q", r.StatusCode, r.Msg)
		}
	}
	if ok != 1 || timedOut != 1 {
		t.Errorf("%d created and %d lock timeouts, want 1 and 1", ok, timedOut)
	}
	if end := post(t, srv, plugnmeet.RouteEndRoom, `{"room_id":"locked"}`); !end.Status {
		t.Fatalf("endRoom: %q", end.Msg)
	}
	if r := post(t, srv, plugnmeet.RouteIsRoomActive, `{"room_id":"locked"}`); r.IsActive == nil || *r.IsActive {
		t.Errorf("isRoomActive during clean-up: %s", r.Body)
	}
	if r := post(t, srv, plugnmeet.RouteCreate, createBody("locked", "L")); r.Status || !strings.HasPrefix(r.Msg, "timeout waiting") {
		t.Errorf("create during end clean-up: %v %q", r.Status, r.Msg)
	}
	if st := srv.Stats(); st.LockTimeouts != 2 || st.Injected.LockTimeouts != 0 {
		t.Errorf("lock timeouts %d (injected %d), want 2 real", st.LockTimeouts, st.Injected.LockTimeouts)
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name   string
		faults Faults
		check  func(t *testing.T, r result, err error)
		// created reports whether the room must exist after the call
		created  bool
		injected func(FaultStats) int64
	}{
		{"5xx", Faults{Error5xxRate: 1}, func(t *testing.T, r result, err error) {
			if err != nil || r.HTTP != http.StatusServiceUnavailable {
				t.Errorf("got %v %d, want 503", err, r.HTTP)
			}
		}, false, func(s FaultStats) int64 { return s.Errors5xx }},
		{"reset", Faults{ResetRate: 1}, func(t *testing.T, r result, err error) {
			if err == nil {
				t.Errorf("got an answer %d, want a dropped connection", r.HTTP)
			}
		}, false, func(s FaultStats) int64 { return s.Resets }},
		{"lost answer", Faults{LostAnswerRate: 1}, func(t *testing.T, r result, err error) {
			if err == nil {
				t.Errorf("got an answer %d, want a dropped connection", r.HTTP)
			}
		}, true, func(s FaultStats) int64 { return s.LostAnswers }},
		{"lock timeout", Faults{LockTimeoutRate: 1}, func(t *testing.T, r result, err error) {
			if err != nil || r.StatusCode != "INTERNAL_SERVER_ERROR" || !strings.HasPrefix(r.Msg, "timeout waiting to acquire lock for room f,") {
				t.Errorf("got %v %s %q", err, r.StatusCode, r.Msg)
			}
		}, false, func(s FaultStats) int64 { return s.LockTimeouts }},
		{"timeout", Faults{TimeoutRate: 1}, func(t *testing.T, r result, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got %v %d, want the caller's deadline", err, r.HTTP)
			}
		}, false, func(s FaultStats) int64 { return s.Timeouts }},
		{"unauthorized", Faults{Unauthorized: true}, func(t *testing.T, r result, err error) {
			if err != nil || r.HTTP != 401 || r.StatusCode != "INVALID_TOKEN_OR_SIGNATURE" {
				t.Errorf("got %v %d %s", err, r.HTTP, r.StatusCode)
			}
		}, false, func(s FaultStats) int64 { return s.Unauthorized }},
		{"firewall", Faults{ForbidBodyContaining: `"room_title":"F"`}, func(t *testing.T, r result, err error) {
			if err != nil || r.HTTP != 403 || r.CType != "text/html; charset=utf-8" || !strings.Contains(r.Body, "<h1>403 Forbidden</h1>") {
				t.Errorf("got %v %d %q %q, want a 403 HTML page", err, r.HTTP, r.CType, r.Body)
			}
		}, false, func(s FaultStats) int64 { return s.Forbidden }},
		{"not plugNmeet", Faults{NotPlugNmeet: true}, func(t *testing.T, r result, err error) {
			if err != nil || r.HTTP != 200 || r.CType != "text/html; charset=utf-8" || !strings.HasPrefix(r.Body, "<!DOCTYPE html>") {
				t.Errorf("got %v %d %q %q, want a 200 HTML page", err, r.HTTP, r.CType, r.Body)
			}
		}, false, func(s FaultStats) int64 { return s.NotPlugNmeet }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := NewServer(recordedOptions())
			defer srv.Close()
			srv.SetFaults(tt.faults)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			r, err := postCtx(ctx, srv, plugnmeet.RouteCreate, createBody("f", "F"))
			tt.check(t, r, err)
			if _, ok := srv.ActiveRoom("f"); ok != tt.created {
				t.Errorf("room exists = %v, want %v", ok, tt.created)
			}
			st := srv.Stats()
			if got := tt.injected(st.Injected); got != 1 {
				t.Errorf("injected count %d, want 1 (%+v)", got, st.Injected)
			}
			if st.CreateCalls != 1 {
				t.Errorf("CreateCalls %d, want 1", st.CreateCalls)
			}
			// Faults off again: the next call works.
			srv.SetFaults(Faults{})
			if r := post(t, srv, plugnmeet.RouteCreate, createBody("f", "F")); !r.Status {
				t.Errorf("after clearing faults: %d %q", r.HTTP, r.Msg)
			}
		})
	}
}

// The firewall refuses create calls by their body, before plugNmeet checks
// anything; every other call passes, even one whose body matches.
func TestForbidBodyContaining(t *testing.T) {
	srv := NewServer(recordedOptions())
	defer srv.Close()
	srv.SetFaults(Faults{ForbidBodyContaining: "<script>"})

	if r := post(t, srv, plugnmeet.RouteCreate, createBody("ok", "Plain")); !r.Status {
		t.Errorf("create without the string: %d %q", r.HTTP, r.Body)
	}
	if r := post(t, srv, plugnmeet.RouteCreate, createBody("waf", "<script>alert(1)</script>")); r.HTTP != 403 ||
		!strings.HasPrefix(r.CType, "text/html") {
		t.Errorf("create with the string: %d %q %q, want a 403 page", r.HTTP, r.CType, r.Body)
	}
	// Refused in front of plugNmeet: a bad signature is not even looked at.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+plugnmeet.RouteCreate, strings.NewReader(createBody("waf", "<script>")))
	req.Header.Set("API-KEY", recordedKey)
	req.Header.Set("HASH-SIGNATURE", "00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("badly signed create with the string: %d, want 403", resp.StatusCode)
	}
	if r := post(t, srv, plugnmeet.RouteIsRoomActive, `{"room_id":"ok","note":"<script>"}`); r.IsActive == nil || !*r.IsActive {
		t.Errorf("isRoomActive whose body has the string: %d %q", r.HTTP, r.Body)
	}
	if _, ok := srv.ActiveRoom("waf"); ok {
		t.Error("a refused create created the room")
	}
	st := srv.Stats()
	if st.Injected.Forbidden != 2 || st.CreateCalls != 3 || st.RoomsCreated != 1 || st.AuthFailures != 0 || srv.CreateCalls("waf") != 2 {
		t.Errorf("stats %+v, CreateCalls(waf)=%d", st, srv.CreateCalls("waf"))
	}
}

// Pointed at a web app, every API call meets its fallback page; routes
// outside /auth/ are still the server's own.
func TestNotPlugNmeet(t *testing.T) {
	srv := NewServer(recordedOptions())
	defer srv.Close()
	srv.SetFaults(Faults{NotPlugNmeet: true})
	calls := []struct{ route, body string }{
		{plugnmeet.RouteCreate, createBody("app", "A")},
		{plugnmeet.RouteIsRoomActive, `{"room_id":"app"}`},
		{plugnmeet.RouteGetActiveRoomInfo, `{"room_id":"app"}`},
		{plugnmeet.RouteEndRoom, `{"room_id":"app"}`},
		{"/auth/room/nope", `{}`},
	}
	for _, c := range calls {
		r := post(t, srv, c.route, c.body)
		if r.HTTP != 200 || r.CType != "text/html; charset=utf-8" || !strings.Contains(r.Body, `<div id="root">`) {
			t.Errorf("%s: %d %q %q, want the app's page", c.route, r.HTTP, r.CType, r.Body)
		}
	}
	resp, err := http.Get(srv.URL + "/healthCheck")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthCheck: %d", resp.StatusCode)
	}
	if _, ok := srv.ActiveRoom("app"); ok {
		t.Error("the web app created the room")
	}
	if st := srv.Stats(); st.Injected.NotPlugNmeet != int64(len(calls)) || st.RoomsCreated != 0 || st.CreateCalls != 1 {
		t.Errorf("stats %+v", st)
	}
	srv.SetFaults(Faults{})
	if r := post(t, srv, plugnmeet.RouteCreate, createBody("app", "A")); !r.Status {
		t.Errorf("after the fault: %d %q", r.HTTP, r.Body)
	}
}

// The stand-in records, per room_id, the most create calls in progress at
// once, from arrival (latency included) to the answer, whatever answers them.
func TestMaxConcurrentCreates(t *testing.T) {
	concurrently := func(srv *Server, n int, body string) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { _, _ = postCtx(context.Background(), srv, plugnmeet.RouteCreate, body) })
		}
		wg.Wait()
	}
	tests := []struct {
		name   string
		opts   Options
		faults Faults
	}{
		{"waiting for the room lock", Options{CreateWork: 300 * time.Millisecond}, Faults{}},
		{"in latency", Options{}, Faults{Latency: 300 * time.Millisecond}},
		{"answered by a fault", Options{TimeoutHold: 300 * time.Millisecond}, Faults{TimeoutRate: 1}},
		{"refused by the signature check", Options{}, Faults{Unauthorized: true, Latency: 300 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.APIKey, tt.opts.APISecret = recordedKey, recordedSecret
			srv := NewServer(tt.opts)
			defer srv.Close()
			srv.SetFaults(tt.faults)
			for range 2 { // one after the other: never more than one at once
				post(t, srv, plugnmeet.RouteCreate, createBody("one", "O"))
			}
			concurrently(srv, 4, createBody("four", "F"))
			concurrently(srv, 2, createBody("two", "T"))
			if got := srv.MaxConcurrentCreates("one"); got != 1 {
				t.Errorf("sequential calls: %d at once, want 1", got)
			}
			if got := srv.MaxConcurrentCreates("four"); got != 4 {
				t.Errorf("4 concurrent calls: %d at once, want 4", got)
			}
			if got := srv.MaxConcurrentCreates("two"); got != 2 {
				t.Errorf("2 concurrent calls: %d at once, want 2", got)
			}
			if got := srv.MaxConcurrentCreates("never"); got != 0 {
				t.Errorf("unknown room: %d", got)
			}
			if st := srv.Stats(); st.MaxConcurrentCreates != 4 || st.CreateCalls != 8 {
				t.Errorf("stats: max %d, %d create calls, want 4 and 8", st.MaxConcurrentCreates, st.CreateCalls)
			}
		})
	}
}

func TestTimeoutHoldEnds(t *testing.T) {
	srv := NewServer(Options{APIKey: recordedKey, APISecret: recordedSecret, TimeoutHold: 50 * time.Millisecond})
	defer srv.Close()
	srv.SetFaults(Faults{TimeoutRate: 1})
	if r := post(t, srv, plugnmeet.RouteCreate, createBody("h", "H")); r.HTTP != http.StatusGatewayTimeout {
		t.Errorf("HTTP %d, want 504 after the hold", r.HTTP)
	}
}

func TestLatency(t *testing.T) {
	srv := NewServer(recordedOptions())
	defer srv.Close()
	srv.SetFaults(Faults{Latency: 80 * time.Millisecond, LatencyJitter: 20 * time.Millisecond})
	start := time.Now()
	post(t, srv, plugnmeet.RouteIsRoomActive, `{"room_id":"x"}`)
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("call took %v, want at least the 80ms latency", d)
	}
}

// The same seed draws the same faults.
func TestSeedRepeatsFaults(t *testing.T) {
	draw := func() []faultKind {
		s := NewHandler(Options{APIKey: "k", APISecret: "s", Seed: 42})
		f := Faults{Error5xxRate: 0.3, LostAnswerRate: 0.3}
		out := make([]faultKind, 50)
		for i := range out {
			out[i] = s.pickFault(f)
		}
		return out
	}
	a, b := draw(), draw()
	counts := map[faultKind]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("draw %d differs: %v vs %v", i, a[i], b[i])
		}
		counts[a[i]]++
	}
	if counts[fault5xx] == 0 || counts[faultLostAnswer] == 0 || counts[noFault] == 0 {
		t.Errorf("50 draws at 30%%/30%% gave %v", counts)
	}
}

func TestFaultsJSON(t *testing.T) {
	in := `{"latency":"250ms","error_rate":0.5,"unauthorized":true,"forbid_body_containing":"DROP TABLE","not_plugnmeet":true}`
	var f Faults
	if err := json.Unmarshal([]byte(in), &f); err != nil {
		t.Fatal(err)
	}
	if f.Latency != 250*time.Millisecond || f.Error5xxRate != 0.5 || !f.Unauthorized ||
		f.ForbidBodyContaining != "DROP TABLE" || !f.NotPlugNmeet {
		t.Errorf("decoded %+v", f)
	}
	if err := f.Validate(); err != nil {
		t.Errorf("valid faults refused: %v", err)
	}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back Faults
	if err := json.Unmarshal(b, &back); err != nil || back != f {
		t.Errorf("round trip %s -> %+v (%v)", b, back, err)
	}
	if err := (Faults{ResetRate: 1.5}).Validate(); err == nil {
		t.Error("rate 1.5 accepted")
	}
	if err := json.Unmarshal([]byte(`{"latency":"soon"}`), &f); err == nil {
		t.Error("bad duration accepted")
	}
}
