package main

import (
	"encoding/json"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
	"github.com/roomworker/roomworker/worker"
)

// requestWithWebhook is testenv.Request(roomID) with metadata.webhook_url set to url.
func requestWithWebhook(t *testing.T, roomID, url string) []byte {
	t.Helper()
	var req map[string]any
	if err := json.Unmarshal(testenv.Request(roomID), &req); err != nil {
		t.Fatal(err)
	}
	req["metadata"].(map[string]any)["webhook_url"] = url
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// freeLoopbackAddr returns a loopback address with a port free at the time of the call.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// lifecycleNames returns the event names of evs, in order.
func lifecycleNames(evs []testenv.LifecycleEvent) []string {
	var names []string
	for _, l := range evs {
		names = append(names, l.Name)
	}
	return names
}

// TestRoomLifecycleEndToEnd runs the roomworker binary with its webhook receiver, a real NATS
// server and the plugNmeet stand-in, which sends every event twice: to its global webhook URL
// and to the room's metadata.webhook_url, both the receiver. A participant joins and leaves, the
// room finishes: each lifecycle event is stored once, in the order plugNmeet sent it, and the
// next room.create for the room starts a new session. A room.end ends another room.
func TestRoomLifecycleEndToEnd(t *testing.T) {
	addr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	hook := "http://" + addr + worker.WebhookPath
	e := testenv.NewWithStandin(t, plugnmeettest.Options{
		Seed: 1, WebhookURL: hook, DepartureTimeout: 500 * time.Millisecond, WebhookRetryWait: 200 * time.Millisecond,
	})
	proc := startProc(t, e, "WEBHOOK_ADDR="+addr)

	// A room whose webhooks reach the receiver from both URLs.
	const room = "life-1"
	first := testenv.NewEvent("", requestWithWebhook(t, room, hook))
	e.Publish(first)
	created := e.WaitResults(1, 15*time.Second)[0]
	if created.Ev.Type() != events.TypeRoomCreated || created.Created.Duplicate {
		t.Fatalf("first create: %s %s", created.Ev.Type(), created.Ev.Data())
	}
	sid := created.Created.SID

	has := func(name string) func() bool {
		return func() bool { return slices.Contains(lifecycleNames(e.Lifecycle(room)), name) }
	}
	if err := e.Standin.Join(room, "alice"); err != nil {
		t.Fatal(err)
	}
	e.Eventually(10*time.Second, "participant_joined stored", has("participant_joined"))
	if err := e.Standin.Leave(room, "alice"); err != nil {
		t.Fatal(err)
	}
	e.Eventually(15*time.Second, "session_ended stored", has("session_ended"))
	// Both copies of the last event answered before reading: nothing else may arrive.
	e.Eventually(10*time.Second, "every delivery answered", func() bool {
		st := e.Standin.Stats().Webhooks
		return st.Sent["session_ended"]+st.Failed["session_ended"] >= 2
	})

	got := e.Lifecycle(room)
	want := []string{"room_created", "room_started", "participant_joined", "track_published",
		"track_unpublished", "participant_left", "room_finished", "session_ended"}
	if names := lifecycleNames(got); !slices.Equal(names, want) {
		t.Fatalf("lifecycle events of %s, in stream order:\n got %v\nwant %v (each once, as plugNmeet sent them)", room, names, want)
	}
	var lastAt int64
	for _, l := range got {
		at, err := strconv.ParseInt(l.Body.CreatedAt, 10, 64)
		if err != nil || at < lastAt {
			t.Errorf("%s: created_at %q before the previous event's %d", l.Name, l.Body.CreatedAt, lastAt)
		}
		lastAt = at
		if l.Ev.Type() != events.TypeLifecyclePrefix+l.Name || l.Ev.Subject() != room || l.Ev.ID() != l.Body.ID ||
			l.Ev.Source() != e.Standin.URL || l.Body.Room.SID != sid {
			t.Errorf("%s: type %s subject %s id %s (body id %s) source %s sid %s; want the delivery's, source PLUGNMEET_URL, sid %s",
				l.Name, l.Ev.Type(), l.Ev.Subject(), l.Ev.ID(), l.Body.ID, l.Ev.Source(), l.Body.Room.SID, sid)
		}
		if l.Subject != e.Cfg.Webhook.SubjectPrefix+"."+l.Name || l.MsgID != worker.WebhookMsgIDPrefix+l.Body.ID {
			t.Errorf("%s: stored on %s with Nats-Msg-Id %s", l.Name, l.Subject, l.MsgID)
		}
	}
	if p := got[5].Body.Participant; p == nil || p.Identity != "alice" || p.DisconnectReason != "CLIENT_INITIATED" {
		t.Errorf("participant_left: participant %+v, want alice, CLIENT_INITIATED", p)
	}
	// Every event went to both URLs and both were accepted (verified): one stored copy each.
	st := e.Standin.Stats().Webhooks
	for _, name := range want {
		if st.Sent[name] != 2 || st.Failed[name] != 0 {
			t.Errorf("%s: deliveries sent %d, failed %d; want both copies accepted", name, st.Sent[name], st.Failed[name])
		}
	}

	// The session ended: the next create for the room starts a new one.
	again := testenv.NewEvent("", requestWithWebhook(t, room, hook))
	e.Publish(again)
	results := e.WaitResults(2, 15*time.Second)
	second := results[1]
	if second.RequestID() != again.ID() || second.Ev.Type() != events.TypeRoomCreated {
		t.Fatalf("second create: %s for %s: %s", second.Ev.Type(), second.RequestID(), second.Ev.Data())
	}
	if second.Created.Duplicate || second.Created.SID == "" || second.Created.SID == sid {
		t.Errorf("second create: duplicate=%t sid %s; want a new session (the first was %s)", second.Created.Duplicate, second.Created.SID, sid)
	}
	e.Eventually(10*time.Second, "the new session's room_created", func() bool {
		evs := e.Lifecycle(room)
		return len(evs) == len(want)+1 && evs[len(want)].Name == "room_created" && evs[len(want)].Body.Room.SID == second.Created.SID
	})

	// room.end, end to end: the room is ended, its session_ended is stored once.
	const other = "life-2"
	e.Publish(testenv.NewEvent("", requestWithWebhook(t, other, hook)))
	e.WaitResults(3, 15*time.Second)
	end := testenv.NewEndEvent(other)
	e.PublishEnd(end)
	results = e.WaitResults(4, 15*time.Second)
	ended := results[3]
	if ended.Ev.Type() != events.TypeRoomEnded || ended.RequestID() != end.ID() || ended.Ended.RoomID != other || ended.Ended.AlreadyEnded {
		t.Fatalf("room.end: %s for %s: %s; want room.ended, already_ended false", ended.Ev.Type(), ended.RequestID(), ended.Ev.Data())
	}
	if ended.Subject != e.Cfg.EndedSubject || ended.Ev.Subject() != other {
		t.Errorf("room.ended stored on %s with subject %s", ended.Subject, ended.Ev.Subject())
	}
	e.Eventually(10*time.Second, "session_ended of "+other, func() bool {
		return slices.Equal(lifecycleNames(e.Lifecycle(other)), []string{"room_created", "session_ended"})
	})
	if _, live := e.Standin.ActiveRoom(other); live {
		t.Errorf("%s is still active at plugNmeet after room.ended", other)
	}

	// Nothing was reconciled: every end came from a webhook.
	for _, l := range e.Lifecycle("") {
		if r, _ := l.Ev.Extensions()[events.ExtReconciled].(bool); r {
			t.Errorf("%s of %s flagged reconciled", l.Name, l.Ev.Subject())
		}
	}
	if logs := proc.output.String(); strings.Contains(logs, testenv.APISecret) || strings.Contains(logs, "webhook refused") {
		t.Errorf("the log shows the secret, or a refused delivery:\n%s", proc.output.Tail(20))
	}
}
