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
	}{
		{"invalid parameters", plugnmeettest.Faults{}, testSecret, []byte(`{"room_id":"x"}`), plugnmeet.ErrPermanent, "INVALID_PARAMETERS"},
		{"late failure: long title", plugnmeettest.Faults{}, testSecret,
			fmt.Appendf(nil, `{"room_id":"t","metadata":{"room_title":%q,"room_features":{}}}`, strings.Repeat("t", 256)),
			plugnmeet.ErrPermanent, "Data too long"},
		{"late failure: reserved id", plugnmeettest.Faults{}, testSecret, body("user_1"), plugnmeet.ErrPermanent, "reserved pattern"},
		{"lock timeout", plugnmeettest.Faults{LockTimeoutRate: 1}, testSecret, body("l"), plugnmeet.ErrTransient, "timeout waiting to acquire lock"},
		{"5xx", plugnmeettest.Faults{Error5xxRate: 1}, testSecret, body("e"), plugnmeet.ErrTransient, "HTTP 503"},
		{"reset", plugnmeettest.Faults{ResetRate: 1}, testSecret, body("r"), plugnmeet.ErrTransient, "/auth/room/create"},
		{"lost answer", plugnmeettest.Faults{LostAnswerRate: 1}, testSecret, body("lost"), plugnmeet.ErrTransient, "outcome unknown"},
		{"401 window", plugnmeettest.Faults{Unauthorized: true}, testSecret, body("u"), plugnmeet.ErrSystemic, "HTTP 401"},
		{"wrong secret", plugnmeettest.Faults{}, "not-the-secret", body("w"), plugnmeet.ErrSystemic, "INVALID_TOKEN_OR_SIGNATURE"},
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
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		class      error
		retryAfter time.Duration // lower bound
	}{
		{"429 seconds", 429, map[string]string{"Retry-After": "7"}, "slow down", plugnmeet.ErrTransient, 7 * time.Second},
		{"429 http-date", 429, map[string]string{"Retry-After": now.Add(90 * time.Second).UTC().Format(http.TimeFormat)}, "", plugnmeet.ErrTransient, 80 * time.Second},
		{"429 without header", 429, nil, "", plugnmeet.ErrTransient, 0},
		{"500", 500, nil, "panic recovered", plugnmeet.ErrTransient, 0},
		{"502", 502, nil, "<html>bad gateway</html>", plugnmeet.ErrTransient, 0},
		{"403", 403, nil, "forbidden", plugnmeet.ErrSystemic, 0},
		{"404", 404, nil, "not found", plugnmeet.ErrPermanent, 0},
		{"413", 413, nil, "Request Entity Too Large", plugnmeet.ErrPermanent, 0},
		{"400", 400, nil, "{}", plugnmeet.ErrPermanent, 0},
		{"redirect", 302, map[string]string{"Location": "/elsewhere"}, "", plugnmeet.ErrSystemic, 0},
		{"200 not JSON", 200, nil, "<html>captive portal</html>", plugnmeet.ErrTransient, 0},
		{"200 cut short", 200, nil, `{"status":true, "msg":"succ`, plugnmeet.ErrTransient, 0},
		{"200 unknown failure code", 200, nil, `{"status":false,"msg":"nope","status_code":"NOT_ALLOWED"}`, plugnmeet.ErrPermanent, 0},
	}
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
			if !errors.Is(err, tt.class) {
				t.Fatalf("got %v, want %v", err, tt.class)
			}
			ra := plugnmeet.RetryAfter(err)
			if tt.retryAfter == 0 && ra != 0 || ra < tt.retryAfter || ra > tt.retryAfter+15*time.Second {
				t.Errorf("RetryAfter = %v, want about %v", ra, tt.retryAfter)
			}
		})
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
