package plugnmeet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

const (
	testKey    = "test-key"
	testSecret = "test-secret-do-not-print"
)

func standIn(t *testing.T, opts plugnmeettest.Options) (*plugnmeettest.Server, *plugnmeet.Client) {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey, opts.APISecret = testKey, testSecret
	}
	srv := plugnmeettest.NewServer(opts)
	t.Cleanup(srv.Close)
	return srv, newClient(t, srv.URL, testSecret)
}

func newClient(t *testing.T, url, secret string) *plugnmeet.Client {
	t.Helper()
	c, err := plugnmeet.New(plugnmeet.Config{URL: url, APIKey: testKey, APISecret: secret})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func body(roomID string) []byte {
	return fmt.Appendf(nil, `{"room_id":%q,"metadata":{"room_title":"Room %s","room_features":{"allow_webcams":true}}}`, roomID, roomID)
}

func TestRoomLifecycle(t *testing.T) {
	_, c := standIn(t, plugnmeettest.Options{})
	ctx := context.Background()

	info, err := c.CreateRoom(ctx, body("life"))
	if err != nil {
		t.Fatal(err)
	}
	if info.RoomID != "life" || info.SID == "" || !info.IsRunning || info.CreationTime == 0 || len(info.Metadata) == 0 {
		t.Errorf("created %+v", info)
	}
	again, err := c.CreateRoom(ctx, body("life"))
	if err != nil || again.SID != info.SID {
		t.Errorf("create again: %v, sid %s want %s", err, again.SID, info.SID)
	}
	if active, err := c.IsRoomActive(ctx, "life"); err != nil || !active {
		t.Errorf("IsRoomActive = %v, %v", active, err)
	}
	room, err := c.GetActiveRoomInfo(ctx, "life")
	if err != nil || room.RoomInfo.SID != info.SID {
		t.Fatalf("GetActiveRoomInfo: %v %+v", err, room)
	}
	if err := c.EndRoom(ctx, "life"); err != nil {
		t.Fatal(err)
	}
	if active, err := c.IsRoomActive(ctx, "life"); err != nil || active {
		t.Errorf("IsRoomActive after end = %v, %v", active, err)
	}
	if _, err := c.GetActiveRoomInfo(ctx, "life"); !errors.Is(err, plugnmeet.ErrRoomNotFound) || !errors.Is(err, plugnmeet.ErrPermanent) {
		t.Errorf("GetActiveRoomInfo after end: %v", err)
	}
	if err := c.EndRoom(ctx, "life"); !errors.Is(err, plugnmeet.ErrRoomNotFound) {
		t.Errorf("EndRoom again: %v", err)
	}
	next, err := c.CreateRoom(ctx, body("life"))
	if err != nil || next.SID == info.SID {
		t.Errorf("create after end: %v, sid %s (old %s)", err, next.SID, info.SID)
	}
}

// Every class against the stand-in, and the message an operator reads.
func TestErrorClassesAgainstStandIn(t *testing.T) {
	tests := []struct {
		name     string
		faults   plugnmeettest.Faults
		secret   string
		body     []byte
		class    error
		contains string
		cause    error // ErrCredentials, ErrNotPlugNmeet or nil
	}{
		{"invalid parameters", plugnmeettest.Faults{}, testSecret, []byte(`{"room_id":"x"}`), plugnmeet.ErrPermanent, "INVALID_PARAMETERS", nil},
		{"late failure: long title", plugnmeettest.Faults{}, testSecret,
			fmt.Appendf(nil, `{"room_id":"t","metadata":{"room_title":%q,"room_features":{}}}`, strings.Repeat("t", 256)),
			plugnmeet.ErrPermanent, "Data too long", nil},
		{"late failure: reserved id", plugnmeettest.Faults{}, testSecret, body("user_1"), plugnmeet.ErrPermanent, "reserved pattern", nil},
		{"lock timeout", plugnmeettest.Faults{LockTimeoutRate: 1}, testSecret, body("l"), plugnmeet.ErrTransient, "timeout waiting to acquire lock", nil},
		{"5xx", plugnmeettest.Faults{Error5xxRate: 1}, testSecret, body("e"), plugnmeet.ErrTransient, "HTTP 503", nil},
		{"reset", plugnmeettest.Faults{ResetRate: 1}, testSecret, body("r"), plugnmeet.ErrTransient, "/auth/room/create", nil},
		{"lost answer", plugnmeettest.Faults{LostAnswerRate: 1}, testSecret, body("lost"), plugnmeet.ErrTransient, "outcome unknown", nil},
		{"401 window", plugnmeettest.Faults{Unauthorized: true}, testSecret, body("u"), plugnmeet.ErrSystemic, "HTTP 401", plugnmeet.ErrCredentials},
		{"wrong secret", plugnmeettest.Faults{}, "not-the-secret", body("w"), plugnmeet.ErrSystemic, "INVALID_TOKEN_OR_SIGNATURE", plugnmeet.ErrCredentials},
		{"firewall", plugnmeettest.Faults{ForbidBodyContaining: "Room waf"}, testSecret, body("waf"), plugnmeet.ErrSystemic, "HTTP 403", plugnmeet.ErrCredentials},
		{"web app instead of the API", plugnmeettest.Faults{NotPlugNmeet: true}, testSecret, body("app"), plugnmeet.ErrSystemic, "PLUGNMEET_URL", plugnmeet.ErrNotPlugNmeet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := standIn(t, plugnmeettest.Options{})
			srv.SetFaults(tt.faults)
			c := newClient(t, srv.URL, tt.secret)
			_, err := c.CreateRoom(context.Background(), tt.body)
			if !errors.Is(err, tt.class) {
				t.Fatalf("got %v, want %v", err, tt.class)
			}
			for _, other := range []error{plugnmeet.ErrTransient, plugnmeet.ErrPermanent, plugnmeet.ErrSystemic} {
				if other != tt.class && errors.Is(err, other) {
					t.Errorf("%v also matches %v", err, other)
				}
			}
			for _, cause := range []error{plugnmeet.ErrCredentials, plugnmeet.ErrNotPlugNmeet} {
				if errors.Is(err, cause) != (cause == tt.cause) {
					t.Errorf("errors.Is(%v, %q) = %v", err, cause, cause != tt.cause)
				}
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q lacks %q", err, tt.contains)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(fmt.Sprintf("%+v", err), testSecret) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

// A lost answer is transient and a retry returns the session the lost call created.
func TestLostAnswerRetryFindsRoom(t *testing.T) {
	srv, c := standIn(t, plugnmeettest.Options{})
	srv.SetFaults(plugnmeettest.Faults{LostAnswerRate: 1})
	if _, err := c.CreateRoom(context.Background(), body("lost2")); !errors.Is(err, plugnmeet.ErrTransient) {
		t.Fatalf("got %v, want transient", err)
	}
	made, ok := srv.ActiveRoom("lost2")
	if !ok {
		t.Fatal("the lost call did not create the room")
	}
	srv.SetFaults(plugnmeettest.Faults{})
	info, err := c.CreateRoom(context.Background(), body("lost2"))
	if err != nil || info.SID != made.SID {
		t.Errorf("retry: %v, sid %s want %s", err, info.SID, made.SID)
	}
	if st := srv.Stats(); st.Injected.LostAnswers != 1 || st.RoomsCreated != 1 || srv.CreateCalls("lost2") != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestDeadlineAndCancel(t *testing.T) {
	srv, c := standIn(t, plugnmeettest.Options{})
	srv.SetFaults(plugnmeettest.Faults{TimeoutRate: 1})

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.CreateRoom(ctx, body("slow"))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, plugnmeet.ErrTransient) {
		t.Errorf("got %v, want a transient deadline error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("call took %v despite a 100ms deadline", d)
	}

	ctx, cancel = context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.CreateRoom(ctx, body("slow"))
	if !errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestHTTPStatusClasses(t *testing.T) {
	now := time.Now()
	const html = "text/html; charset=utf-8"
	envelope401 := `{"status":false, "msg":"Failed to verify provided authentication details.", "status_code":"INVALID_TOKEN_OR_SIGNATURE"}`
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		class      error
		cause      error         // ErrCredentials, ErrNotPlugNmeet or nil (neither)
		retryAfter time.Duration // lower bound
	}{
		{"429 seconds", 429, map[string]string{"Retry-After": "7"}, "slow down", plugnmeet.ErrTransient, nil, 7 * time.Second},
		{"429 http-date", 429, map[string]string{"Retry-After": now.Add(90 * time.Second).UTC().Format(http.TimeFormat)}, "", plugnmeet.ErrTransient, nil, 80 * time.Second},
		{"429 without header", 429, nil, "", plugnmeet.ErrTransient, nil, 0},
		{"500", 500, nil, "panic recovered", plugnmeet.ErrTransient, nil, 0},
		{"502 HTML page", 502, map[string]string{"Content-Type": html}, "<html>bad gateway</html>", plugnmeet.ErrTransient, nil, 0},
		{"401 plugNmeet", 401, nil, envelope401, plugnmeet.ErrSystemic, plugnmeet.ErrCredentials, 0},
		{"401 text", 401, nil, "Unauthorized", plugnmeet.ErrSystemic, plugnmeet.ErrCredentials, 0},
		{"403 text", 403, nil, "forbidden", plugnmeet.ErrSystemic, plugnmeet.ErrCredentials, 0},
		{"403 firewall page", 403, map[string]string{"Content-Type": html}, "<html><h1>403 Forbidden</h1></html>", plugnmeet.ErrSystemic, plugnmeet.ErrCredentials, 0},
		{"407 proxy", 407, nil, "Proxy Authentication Required", plugnmeet.ErrSystemic, plugnmeet.ErrCredentials, 0},
		{"404 text (wrong URL path)", 404, map[string]string{"Content-Type": "text/plain; charset=utf-8"}, "not found", plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"404 HTML page", 404, map[string]string{"Content-Type": html}, "<html><body>Not Found</body></html>", plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"404 JSON of another API", 404, nil, `{"error":"no such route"}`, plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"404 plugNmeet envelope", 404, nil, `{"status":false,"msg":"gone","status_code":"NOT_FOUND"}`, plugnmeet.ErrPermanent, nil, 0},
		{"405 text", 405, nil, "Method Not Allowed", plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"413", 413, nil, "Request Entity Too Large", plugnmeet.ErrPermanent, nil, 0},
		{"413 HTML page", 413, map[string]string{"Content-Type": html}, "<html>413 Request Entity Too Large</html>", plugnmeet.ErrPermanent, nil, 0},
		{"400", 400, nil, "{}", plugnmeet.ErrPermanent, nil, 0},
		{"redirect", 302, map[string]string{"Location": "/elsewhere"}, "", plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"204", 204, nil, "", plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"201 plugNmeet-like", 201, nil, `{"status":true,"msg":"success","status_code":"SUCCESS"}`, plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"200 HTML page (a web app's fallback route)", 200, map[string]string{"Content-Type": html}, "<!doctype html>\n<html><body>app</body></html>", plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"200 captive portal without content type", 200, nil, "  <html>captive portal</html>", plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"200 plain text", 200, nil, "OK", plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"200 empty", 200, nil, "", plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"200 JSON array", 200, nil, `[{"status":true}]`, plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"200 JSON string", 200, nil, `"not found"`, plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"200 JSON without the envelope", 200, nil, `{"hello":"world"}`, plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"200 JSON status only", 200, nil, `{"status":true}`, plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"200 JSON status of another type", 200, nil, `{"status":"ok","msg":"fine"}`, plugnmeet.ErrSystemic, plugnmeet.ErrNotPlugNmeet, 0},
		{"200 cut short", 200, nil, `{"status":true, "msg":"succ`, plugnmeet.ErrTransient, nil, 0},
		{"200 cut short, HTML content type", 200, map[string]string{"Content-Type": html}, `{"status":tr`, plugnmeet.ErrTransient, nil, 0},
		{"200 mangled", 200, nil, `{"status":true, "msg":"success", "status_code":"SUCCESS", "room_info":{"room_id":"h",}}`, plugnmeet.ErrTransient, nil, 0},
		{"200 envelope with a garbled field", 200, nil, `{"status":true, "msg":"success", "status_code":"SUCCESS", "room_info":{"joined_participants":"x"}}`, plugnmeet.ErrTransient, nil, 0},
		{"200 unknown failure code", 200, nil, `{"status":false,"msg":"nope","status_code":"NOT_ALLOWED"}`, plugnmeet.ErrPermanent, nil, 0},
	}
	classes := []error{plugnmeet.ErrTransient, plugnmeet.ErrPermanent, plugnmeet.ErrSystemic}
	causes := []error{plugnmeet.ErrCredentials, plugnmeet.ErrNotPlugNmeet}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			_, err := newClient(t, srv.URL, testSecret).CreateRoom(context.Background(), body("h"))
			for _, c := range classes {
				if errors.Is(err, c) != (c == tt.class) {
					t.Errorf("errors.Is(%v, %v) = %v", err, c, !(c == tt.class))
				}
			}
			for _, c := range causes {
				if errors.Is(err, c) != (c == tt.cause) {
					t.Errorf("errors.Is(%v, %q) = %v", err, c, !(c == tt.cause))
				}
			}
			if errors.Is(err, plugnmeet.ErrNotPlugNmeet) {
				// The operator reads what was met and where to look.
				msg := err.Error()
				for _, want := range []string{"PLUGNMEET_URL", fmt.Sprintf("HTTP %d", tt.status), snippetOf(tt.body)} {
					if !strings.Contains(msg, want) {
						t.Errorf("message %q lacks %q", msg, want)
					}
				}
				if strings.Contains(msg, "\n") {
					t.Errorf("message %q spans lines", msg)
				}
			}
			ra := plugnmeet.RetryAfter(err)
			if tt.retryAfter == 0 && ra != 0 || ra < tt.retryAfter || ra > tt.retryAfter+15*time.Second {
				t.Errorf("RetryAfter = %v, want about %v", ra, tt.retryAfter)
			}
		})
	}
}

// snippetOf is the start of body as an error message quotes it.
func snippetOf(body string) string {
	s := strings.Join(strings.Fields(body), " ")
	if len(s) > 20 {
		s = s[:20]
	}
	return s
}

// A Retry-After too long for a time.Duration saturates; it never wraps to a
// negative or short delay.
func TestHugeRetryAfter(t *testing.T) {
	for _, v := range []string{"99999999999", "99999999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", v)
			w.WriteHeader(http.StatusTooManyRequests)
		}))
		_, err := newClient(t, srv.URL, testSecret).CreateRoom(context.Background(), body("h"))
		srv.Close()
		if ra := plugnmeet.RetryAfter(err); ra < 100*365*24*time.Hour {
			t.Errorf("Retry-After %q: RetryAfter = %v, want it saturated", v, ra)
		}
		if !errors.Is(err, plugnmeet.ErrTransient) {
			t.Errorf("Retry-After %q: %v, want transient", v, err)
		}
	}
}

func TestOversizedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"status":true,"msg":"` + strings.Repeat("x", 5000) + `"}`))
	}))
	defer srv.Close()
	c, err := plugnmeet.New(plugnmeet.Config{URL: srv.URL, APIKey: testKey, APISecret: testSecret, MaxResponseBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.IsRoomActive(context.Background(), "big")
	if !errors.Is(err, plugnmeet.ErrSystemic) || !strings.Contains(err.Error(), "4096") {
		t.Errorf("got %v, want a systemic error naming the limit", err)
	}
	// Exactly at the limit is fine.
	exact := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		prefix := `{"status":true,"msg":"`
		suffix := `","status_code":"SUCCESS","is_active":true}`
		_, _ = w.Write([]byte(prefix + strings.Repeat("x", 4096-len(prefix)-len(suffix)) + suffix))
	}))
	defer exact.Close()
	c, _ = plugnmeet.New(plugnmeet.Config{URL: exact.URL, APIKey: testKey, APISecret: testSecret, MaxResponseBytes: 4096})
	if active, err := c.IsRoomActive(context.Background(), "big"); err != nil || !active {
		t.Errorf("answer of exactly the limit: %v, %v", active, err)
	}
}

// The client sends the body as given and signs exactly those bytes.
func TestCreateSendsBodyAsIs(t *testing.T) {
	raw := []byte("{ \"room_id\" : \"spaced\",\n \"metadata\":{\"room_title\":\"S\",\"room_features\":{}} }")
	var got []byte
	var sig string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		got, sig = buf.Bytes(), r.Header.Get("HASH-SIGNATURE")
		_, _ = w.Write([]byte(`{"status":true,"msg":"success","status_code":"SUCCESS","room_info":{"room_id":"spaced","sid":"s1","joined_participants":"0","is_running":1,"creation_time":"5","metadata":""}}`))
	}))
	defer srv.Close()
	info, err := newClient(t, srv.URL, testSecret).CreateRoom(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, raw) || sig != plugnmeet.Sign([]byte(testSecret), raw) {
		t.Errorf("sent %q signed %s", got, sig)
	}
	if info.CreationTime != 5 || info.Metadata != nil {
		t.Errorf("decoded %+v", info)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		cfg  plugnmeet.Config
		want string // "" = valid
	}{
		{plugnmeet.Config{URL: "http://127.0.0.1:8080", APIKey: "k", APISecret: "s"}, ""},
		{plugnmeet.Config{URL: "https://meet.example.org/", APIKey: "k", APISecret: "s"}, ""},
		{plugnmeet.Config{URL: "", APIKey: "k", APISecret: "s"}, "URL is empty"},
		{plugnmeet.Config{URL: "meet.example.org", APIKey: "k", APISecret: "s"}, "scheme http or https"},
		{plugnmeet.Config{URL: "ftp://meet.example.org", APIKey: "k", APISecret: "s"}, "scheme http or https"},
		{plugnmeet.Config{URL: "http://", APIKey: "k", APISecret: "s"}, "no host"},
		{plugnmeet.Config{URL: "http://h", APIKey: " ", APISecret: "s"}, "API key is empty"},
		{plugnmeet.Config{URL: "http://h", APIKey: "k"}, "API secret is empty"},
		{plugnmeet.Config{URL: "http://h", APIKey: "k", APISecret: "s", MaxResponseBytes: -1}, "negative"},
	}
	for _, tt := range tests {
		_, err := plugnmeet.New(tt.cfg)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.cfg.URL, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: got %v, want %q", tt.cfg.URL, err, tt.want)
		}
	}
}

func TestConfigNeverShowsSecret(t *testing.T) {
	cfg := plugnmeet.Config{URL: "http://h", APIKey: "k", APISecret: testSecret}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "plugnmeet", cfg)
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), logs.String()} {
		if strings.Contains(s, testSecret) {
			t.Errorf("secret shown in %q", s)
		}
		if !strings.Contains(s, "REDACTED") {
			t.Errorf("no redaction marker in %q", s)
		}
	}
}

// RoomInfo is re-encoded with plain numbers and an embedded metadata object.
func TestRoomInfoNormalised(t *testing.T) {
	in := `{"room_title":"T","room_id":"r","sid":"s","joined_participants":"3","is_running":1,"is_recording":0,
		"is_active_rtmp":true,"webhook_url":"","is_breakout_room":0,"parent_room_id":"","creation_time":"1795638069",
		"metadata":"{\"room_title\":\"T\", \"started_at\":\"1795638069\"}"}`
	var ri plugnmeet.RoomInfo
	if err := json.Unmarshal([]byte(in), &ri); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(ri)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(out, &tree); err != nil {
		t.Fatal(err)
	}
	if tree["joined_participants"] != 3.0 || tree["creation_time"] != 1795638069.0 || tree["is_running"] != true ||
		tree["is_active_rtmp"] != true || tree["is_recording"] != false {
		t.Errorf("numbers or flags not normalised: %s", out)
	}
	if md, ok := tree["metadata"].(map[string]any); !ok || md["room_title"] != "T" {
		t.Errorf("metadata not an object: %s", out)
	}
	var plain plugnmeet.RoomInfo
	if err := json.Unmarshal(out, &plain); err != nil || plain.JoinedParticipants != 3 || string(plain.Metadata) != string(ri.Metadata) {
		t.Errorf("normalised form does not decode back: %v %+v", err, plain)
	}
	for _, bad := range []string{`{"joined_participants":"x"}`, `{"creation_time":1.5}`, `{"metadata":"not json"}`, `{"metadata":"[1]"}`} {
		if err := json.Unmarshal([]byte(bad), &ri); err == nil {
			t.Errorf("%s decoded without error", bad)
		}
	}
}

// A PLUGNMEET_URL with a wrong path meets the server's 404 page on every
// call: configuration, never a verdict on the request.
func TestWrongURLPathIsSystemic(t *testing.T) {
	srv, _ := standIn(t, plugnmeettest.Options{})
	c := newClient(t, srv.URL+"/wrong", testSecret)
	_, err := c.CreateRoom(context.Background(), body("wrong-path"))
	if !errors.Is(err, plugnmeet.ErrSystemic) || !errors.Is(err, plugnmeet.ErrNotPlugNmeet) {
		t.Fatalf("got %v, want systemic, not plugNmeet", err)
	}
	for _, want := range []string{"HTTP 404", "not found", "PLUGNMEET_URL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if _, ok := srv.ActiveRoom("wrong-path"); ok {
		t.Error("a call on a wrong path created the room")
	}
	if _, err := c.IsRoomActive(context.Background(), "wrong-path"); !errors.Is(err, plugnmeet.ErrNotPlugNmeet) {
		t.Errorf("the probe call: %v, want ErrNotPlugNmeet", err)
	}
}

// A firewall that refuses one request's body leaves the probe call working:
// the caller can tell this 403 from refused credentials.
func TestFirewallRefusesOneRequest(t *testing.T) {
	srv, c := standIn(t, plugnmeettest.Options{})
	srv.SetFaults(plugnmeettest.Faults{ForbidBodyContaining: "Room blocked"})
	ctx := context.Background()
	_, err := c.CreateRoom(ctx, body("blocked"))
	if !errors.Is(err, plugnmeet.ErrCredentials) || !errors.Is(err, plugnmeet.ErrSystemic) {
		t.Fatalf("got %v, want ErrCredentials", err)
	}
	if !strings.Contains(err.Error(), "403 Forbidden") || strings.Contains(err.Error(), "\n") {
		t.Errorf("message %q: want the page's words on one line", err)
	}
	if active, err := c.IsRoomActive(ctx, "blocked"); err != nil || active {
		t.Errorf("probe: %v %v, want (false, nil)", active, err)
	}
	if _, err := c.CreateRoom(ctx, body("fine")); err != nil {
		t.Errorf("another request: %v", err)
	}
}
