package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomworker/roomworker/plugnmeet"
)

// The process sends webhooks to -webhook-url; participants come and go
// through the control endpoints, and the emptied room closes after
// -departure-timeout.
func TestRunWebhooksAndParticipants(t *testing.T) {
	var mu sync.Mutex
	var events []string
	v := plugnmeet.WebhookVerifier{APIKey: "k", APISecret: "s3cret"}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		wh, err := v.Verify(r.Header, b)
		if err != nil {
			t.Errorf("delivery does not verify: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		events = append(events, wh.Event)
		mu.Unlock()
	}))
	defer recv.Close()

	url, stop := start(t, "-webhook-url", recv.URL+"/hook", "-departure-timeout", "100ms")
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("clean shutdown returned %v", err)
		}
	}()
	c, err := plugnmeet.New(plugnmeet.Config{URL: url, APIKey: "k", APISecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.CreateRoom(ctx, []byte(`{"room_id":"hooked","metadata":{"room_title":"Hooked","room_features":{}}}`)); err != nil {
		t.Fatal(err)
	}
	control := func(path string) (int, string) {
		resp, err := http.Post(url+path, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := control("/_standin/rooms/hooked/join?user=alice"); code != 200 || !strings.Contains(body, `"alice"`) {
		t.Fatalf("join: %d %s", code, body)
	}
	for path, want := range map[string]int{
		"/_standin/rooms/nowhere/join?user=alice": 404,
		"/_standin/rooms/hooked/join":             400,
		"/_standin/rooms/hooked/join?user=alice":  409,
		"/_standin/rooms/hooked/leave?user=bob":   409,
	} {
		if code, body := control(path); code != want {
			t.Errorf("%s: %d %s, want %d", path, code, body, want)
		}
	}
	if code, body := control("/_standin/rooms/hooked/leave?user=alice"); code != 200 {
		t.Fatalf("leave: %d %s", code, body)
	}
	want := []string{"room_created", "room_started", "participant_joined", "track_published",
		"track_unpublished", "participant_left", "room_finished", "session_ended"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		got := slices.Clone(events)
		mu.Unlock()
		if len(got) >= len(want) {
			if !slices.Equal(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %v, want %v", got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if active, err := c.IsRoomActive(ctx, "hooked"); err != nil || active {
		t.Errorf("after session_ended: active %v, %v", active, err)
	}
	// The stand-in counts a delivery once the receiver's answer is in, which may be a moment
	// after the receiver saw it.
	var st struct {
		Webhooks struct {
			Sent map[string]int64 `json:"sent"`
		} `json:"webhooks"`
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		resp, err := http.Get(url + "/_standin/stats")
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if st.Webhooks.Sent["session_ended"] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want session_ended sent once", st)
		}
	}
}

func TestRunHelpDocumentsWebhooks(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-help"}, goodEnv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"-webhook-url", "-departure-timeout", "-empty-timeout-check", "/_standin/rooms/{room_id}/join?user=", "/leave?user="} {
		if !strings.Contains(errOut.String(), s) {
			t.Errorf("-help lacks %q", s)
		}
	}
}
