package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/internal/jstest"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

// The bare baseline against an in-process JetStream and the stand-in: each request becomes one
// signed create call, one result carrying the stand-in's answer under a Nats-Msg-Id derived from
// the request, and an ack; a wrong secret yields no result and leaves the requests unacked.
func TestBarePipeline(t *testing.T) {
	for _, tt := range []struct {
		name        string
		secret      string
		wantResults bool
	}{
		{"signed with the secret", benchSecret, true},
		{"signed with a wrong secret", "not-the-secret", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ns := jstest.Server(t)
			standin := plugnmeettest.NewServer(plugnmeettest.Options{APIKey: benchKey, APISecret: benchSecret})
			t.Cleanup(standin.Close)
			nc, js := jstest.Connect(t, ns)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := createStreams(ctx, js); err != nil {
				t.Fatal(err)
			}
			results := make(chan *nats.Msg, 64)
			sub, err := nc.ChanSubscribe("rooms.created", results)
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			const n = 20
			if err := prepublish(ctx, js, seedBody(), "bare", n); err != nil {
				t.Fatal(err)
			}

			env := map[string]string{"NATS_URL": ns.ClientURL(), "PLUGNMEET_URL": standin.URL, "PLUGNMEET_API_KEY": benchKey,
				"PLUGNMEET_API_SECRET": tt.secret, "CONCURRENCY": "4"}
			bctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() {
				done <- run(bctx, []string{"-role=bare"}, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil, nil)
			}()
			defer func() {
				stop()
				if err := <-done; err != nil {
					t.Errorf("bare pipeline: %v", err)
				}
			}()

			if !tt.wantResults {
				select {
				case m := <-results:
					t.Fatalf("a result although every create call was refused: %s", m.Data)
				case <-time.After(time.Second):
				}
				if s := standin.Stats(); s.CreateAuthFailures == 0 || s.RoomsCreated != 0 {
					t.Errorf("stand-in: %d create auth failures, %d rooms created", s.CreateAuthFailures, s.RoomsCreated)
				}
				return
			}
			seen := map[string]bool{}
			for len(seen) < n {
				select {
				case m := <-results:
					room := m.Header.Get("ce-subject")
					if got, want := m.Header.Get(jetstream.MsgIDHeader), "bare-"+room; got != want {
						t.Errorf("%s: Nats-Msg-Id %q, want %q", room, got, want)
					}
					var answer struct {
						Status   bool `json:"status"`
						RoomInfo struct {
							RoomID string `json:"room_id"`
						} `json:"room_info"`
					}
					if err := json.Unmarshal(m.Data, &answer); err != nil || !answer.Status || answer.RoomInfo.RoomID != room {
						t.Errorf("%s: result is not the stand-in's answer: %v %s", room, err, m.Data)
					}
					seen[room] = true
				case <-ctx.Done():
					t.Fatalf("%d of %d results", len(seen), n)
				}
			}
			for i := range n {
				if room := fmt.Sprintf("bare-%06d", i); !seen[room] || standin.CreateCalls(room) != 1 {
					t.Errorf("%s: result %v, %d create calls", room, seen[room], standin.CreateCalls(room))
				}
			}
			// Acked: the work queue is empty.
			for {
				info, err := js.Stream(ctx, "ROOM_REQUESTS")
				if err != nil {
					t.Fatal(err)
				}
				if info.CachedInfo().State.Msgs == 0 {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("%d requests left unacked", info.CachedInfo().State.Msgs)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
