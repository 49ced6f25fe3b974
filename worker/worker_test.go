package worker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
	"github.com/roomworker/roomworker/worker"
)

func TestValidRequestCreatesOneRoom(t *testing.T) {
	for _, mode := range []string{"binary", "structured"} {
		t.Run(mode, func(t *testing.T) {
			e := testenv.New(t)
			e.StartWorker(nil)
			ev := testenv.NewEvent("", testenv.Request("valid-"+mode))
			ev.SetExtension(events.ExtTraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
			ev.SetExtension(events.ExtTraceState, "rojo=00f067aa0ba902b7")
			if mode == "binary" {
				e.Publish(ev)
			} else {
				e.PublishStructured(ev)
			}
			got := e.WaitResults(1, 10*time.Second)
			time.Sleep(200 * time.Millisecond)
			got = e.Results()
			if len(got) != 1 {
				t.Fatalf("want exactly 1 result, got %d", len(got))
			}
			r := got[0]
			if r.Ev.Type() != events.TypeRoomCreated || r.Subject != e.Cfg.CreatedSubject {
				t.Fatalf("want room.created on %s, got %s on %s: %s", e.Cfg.CreatedSubject, r.Ev.Type(), r.Subject, r.Ev.Data())
			}
			room, ok := e.Standin.ActiveRoom("valid-" + mode)
			if !ok {
				t.Fatal("the stand-in has no active room")
			}
			if r.Created.SID == "" || r.Created.SID != room.SID {
				t.Errorf("sid %q, the stand-in created %q", r.Created.SID, room.SID)
			}
			if r.RequestID() != ev.ID() {
				t.Errorf("requestid %q, want %q", r.RequestID(), ev.ID())
			}
			if r.Ev.Subject() != "valid-"+mode {
				t.Errorf("subject %q, want the room_id", r.Ev.Subject())
			}
			for _, ext := range []string{events.ExtTraceParent, events.ExtTraceState} {
				if r.Ev.Extensions()[ext] != ev.Extensions()[ext] {
					t.Errorf("%s %v, want %v", ext, r.Ev.Extensions()[ext], ev.Extensions()[ext])
				}
			}
			if r.Created.Duplicate || r.Created.Attempts != 1 {
				t.Errorf("duplicate=%t attempts=%d, want a fresh room made in one attempt", r.Created.Duplicate, r.Created.Attempts)
			}
			if n := strings.Count(string(r.Ev.Data()), `"metadata":`); n != 1 {
				t.Errorf("room.created data has %d metadata members, want 1 (room_info.metadata): %s", n, r.Ev.Data())
			}
			if want := events.ResultMsgID(events.OriginOf(ev)); r.MsgID != want {
				t.Errorf("Nats-Msg-Id %q, want %q (derived from the request)", r.MsgID, want)
			}
			if e.Standin.CreateCalls("valid-"+mode) != 1 {
				t.Errorf("create calls %d, want 1", e.Standin.CreateCalls("valid-"+mode))
			}
		})
	}
}

func TestInvalidMessagesFailWithoutAPICall(t *testing.T) {
	e := testenv.New(t)
	e.StartWorker(nil)

	typed := testenv.NewEvent("", testenv.Request("typed"))
	typed.SetType("room.delete")
	bad := testenv.Request("ok-id")
	bad = []byte(strings.Replace(string(bad), `"room_title":"Room ok-id",`, `"room_titel":"typo",`, 1))
	bad = []byte(strings.Replace(string(bad), `"room_id":"ok-id"`, `"room_id":"user_bad"`, 1))

	h, body, _ := events.EncodeBinary(testenv.NewEvent("", testenv.Request("x")))
	h.Del("ce-specversion")

	cases := []struct {
		name    string
		publish func()
		reason  events.Reason
		paths   []string
	}{
		{"invalid JSON data", func() { e.Publish(testenv.NewEvent("", []byte(`{"room_id":`))) }, events.ReasonInvalidRequest, []string{""}},
		{"not a CloudEvent", func() { e.PublishRaw(nats.Header{}, testenv.Request("plain")) }, events.ReasonInvalidEvent, nil},
		{"no specversion", func() { e.PublishRaw(h, body) }, events.ReasonInvalidEvent, nil},
		{"unknown type", func() { e.Publish(typed) }, events.ReasonInvalidEvent, nil},
		{"schema errors", func() { e.Publish(testenv.NewEvent("", bad)) }, events.ReasonInvalidRequest,
			[]string{"/metadata/room_titel", "/metadata/room_title", "/room_id"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.publish()
			got := e.WaitResults(i+1, 10*time.Second)
			r := got[i]
			if r.Ev.Type() != events.TypeRoomFailed || r.Subject != e.Cfg.FailedSubject {
				t.Fatalf("want room.failed, got %s: %s", r.Ev.Type(), r.Ev.Data())
			}
			if r.Failed.Reason != c.reason {
				t.Errorf("reason %q, want %q (%s)", r.Failed.Reason, c.reason, r.Failed.Message)
			}
			if c.paths != nil {
				var paths []string
				for _, fe := range r.Failed.Errors {
					paths = append(paths, fe.Path)
				}
				slices.Sort(paths)
				if !slices.Equal(paths, c.paths) {
					t.Errorf("error paths %q, want %q (%+v)", paths, c.paths, r.Failed.Errors)
				}
			}
			if r.Failed.Message == "" {
				t.Error("failure without a message")
			}
		})
	}
	if n := e.Standin.Stats().CreateCalls; n != 0 {
		t.Errorf("%d create calls for invalid requests, want 0", n)
	}
	e.Eventually(5*time.Second, "every delivery ended", func() bool { return e.ConsumerInfo().NumAckPending == 0 })
	time.Sleep(300 * time.Millisecond) // a redelivery, had there been a nak, would show by now
	info := e.ConsumerInfo()
	if info.NumAckPending != 0 || info.NumRedelivered != 0 || info.NumPending != 0 {
		t.Errorf("ack pending %d, redelivered %d, pending %d: invalid requests must end at once",
			info.NumAckPending, info.NumRedelivered, info.NumPending)
	}
	if len(e.Results()) != len(cases) {
		t.Errorf("%d results for %d requests", len(e.Results()), len(cases))
	}
	e.CheckResultSchemas()
}

func TestOversizedMessageIsInvalidEvent(t *testing.T) {
	e := testenv.New(t, func(c *worker.Config) { c.MaxMessageBytes = 4096 })
	e.StartWorker(nil)
	big := testenv.Request("big", `"allow_webcams":true="allow_webcams":true,"welcome_message":"`+strings.Repeat("x", 5000)+`"`)
	e.Publish(testenv.NewEvent("", big))
	r := e.WaitResults(1, 10*time.Second)[0]
	if r.Failed.Reason != events.ReasonInvalidEvent || !strings.Contains(r.Failed.Message, "MAX_MESSAGE_BYTES") {
		t.Fatalf("got %s %+v", r.Ev.Type(), r.Failed)
	}
}

func TestDuplicatesAcrossThreeWorkers(t *testing.T) {
	e := testenv.New(t)
	e.Standin.SetFaults(plugnmeettest.Faults{Latency: 100 * time.Millisecond})
	for range 3 {
		e.StartWorker(nil)
	}
	body := testenv.Request("dup-room")
	same := testenv.NewEvent("same-id", body)
	ids := map[string]bool{same.ID(): true}
	var evs = []func(){}
	for range 10 {
		evs = append(evs, func() { e.Publish(same) })
		fresh := testenv.NewEvent("", body)
		ids[fresh.ID()] = true
		evs = append(evs, func() { e.Publish(fresh) })
	}
	for _, p := range evs {
		p()
	}
	got := e.WaitResults(len(ids), 30*time.Second)
	// Let redeliveries and stragglers show up, if there were any.
	time.Sleep(time.Second)
	e.Eventually(10*time.Second, "all 20 deliveries ended", func() bool {
		i := e.ConsumerInfo()
		return i.NumAckPending == 0 && i.NumPending == 0
	})
	got = e.Results()

	if n := e.Standin.CreateCalls("dup-room"); n != 1 {
		t.Errorf("create calls at the stand-in: %d, want 1", n)
	}
	perRequest := map[string]int{}
	sids := map[string]bool{}
	dups := 0
	for _, r := range got {
		if r.Ev.Type() != events.TypeRoomCreated {
			t.Fatalf("unexpected %s: %s", r.Ev.Type(), r.Ev.Data())
		}
		perRequest[r.RequestID()]++
		sids[r.Created.SID] = true
		if r.Created.Duplicate {
			dups++
		}
	}
	if len(perRequest) != len(ids) {
		t.Errorf("results for %d distinct request ids, want %d", len(perRequest), len(ids))
	}
	for id, n := range perRequest {
		if n != 1 {
			t.Errorf("request %s has %d results, want exactly 1", id, n)
		}
	}
	if len(sids) != 1 {
		t.Errorf("results carry %d different sids, want 1: %v", len(sids), sids)
	}
	if dups != len(ids)-1 {
		t.Errorf("%d results marked duplicate, want %d", dups, len(ids)-1)
	}
	e.CheckResultSchemas()
}

func TestTransientFaultsAllCreated(t *testing.T) {
	e := testenv.New(t, func(c *worker.Config) {
		c.Concurrency = 32
		c.MaxAckPending = 256
		// Long enough that only injected faults, never a slow machine, leave a create's outcome
		// unknown (a call that times out on our side may still create the room).
		c.RequestTimeout = 3 * time.Second
	})
	e.Standin.SetFaults(plugnmeettest.Faults{
		Error5xxRate: 0.12, ResetRate: 0.06, TimeoutRate: 0.02, LockTimeoutRate: 0.05, LostAnswerRate: 0.05,
	})
	for range 2 {
		e.StartWorker(nil)
	}
	const n = 500
	for i := range n {
		e.Publish(testenv.NewEvent("", testenv.Request(fmt.Sprintf("fault-%03d", i))))
	}
	got := e.WaitResults(n, 3*time.Minute)
	stats := e.Standin.Stats()
	sidsByRoom := map[string]map[string]bool{}
	for _, r := range got {
		if r.Ev.Type() != events.TypeRoomCreated {
			t.Errorf("%s: %s", r.Ev.Type(), r.Ev.Data())
			continue
		}
		if sidsByRoom[r.Created.RoomID] == nil {
			sidsByRoom[r.Created.RoomID] = map[string]bool{}
		}
		sidsByRoom[r.Created.RoomID][r.Created.SID] = true
	}
	if len(got) != n || len(sidsByRoom) != n {
		t.Errorf("%d results for %d rooms, want %d each", len(got), len(sidsByRoom), n)
	}
	for room, sids := range sidsByRoom {
		if len(sids) != 1 {
			t.Errorf("room %s has %d sids", room, len(sids))
		}
	}
	// Calls that reached room creation: those not turned away by an injected fault first.
	inj := stats.Injected
	reached := stats.CreateCalls - inj.Errors5xx - inj.Resets - inj.Timeouts - inj.LockTimeouts
	if reached > n+inj.LostAnswers {
		t.Errorf("%d create calls reached the server, more than %d requests + %d lost answers", reached, n, inj.LostAnswers)
	}
	if stats.RoomsCreated != n {
		t.Errorf("the stand-in started %d sessions, want %d", stats.RoomsCreated, n)
	}
	e.CheckResultSchemas()
	t.Logf("create calls %d (faults: 5xx %d, resets %d, timeouts %d, lock timeouts %d, lost answers %d)",
		stats.CreateCalls, inj.Errors5xx, inj.Resets, inj.Timeouts, inj.LockTimeouts, inj.LostAnswers)
}

// timedAPI records when each create call starts.
type timedAPI struct {
	worker.RoomAPI
	mu    sync.Mutex
	calls []time.Time
}

func (a *timedAPI) CreateRoom(ctx context.Context, body []byte) (*plugnmeet.RoomInfo, error) {
	a.mu.Lock()
	a.calls = append(a.calls, time.Now())
	a.mu.Unlock()
	return a.RoomAPI.CreateRoom(ctx, body)
}

func TestAlways5xxExhaustsRetriesWithGrowingDelays(t *testing.T) {
	e := testenv.New(t, func(c *worker.Config) {
		c.MaxAttempts = 6
		c.RetryBaseDelay = 100 * time.Millisecond
		c.RetryMaxDelay = 10 * time.Second
	})
	e.Standin.SetFaults(plugnmeettest.Faults{Error5xxRate: 1})
	client, _ := plugnmeet.New(plugnmeet.Config{URL: e.Standin.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret})
	api := &timedAPI{RoomAPI: client}
	e.StartWorker(api)
	req := testenv.NewEvent("", testenv.Request("always-5xx"))
	e.Publish(req)
	r := e.WaitResults(1, time.Minute)[0]
	if r.Failed.Reason != events.ReasonRetriesExhausted || r.Failed.Attempts != 6 {
		t.Fatalf("got %s %+v", r.Ev.Type(), r.Failed)
	}
	if r.Failed.PlugNmeetStatusCode < 500 || !strings.Contains(r.Failed.Message, "6 create attempts") {
		t.Errorf("the failure should carry the last error: %+v", r.Failed)
	}
	// The request rides along so it can be replayed after the outage.
	orig, _, err := events.Decode(nats.Header{"Content-Type": {"application/cloudevents+json"}}, r.Failed.Request)
	if err != nil || orig.ID() != req.ID() || string(orig.Data()) != string(req.Data()) {
		t.Errorf("room.failed request %s does not round-trip to the request (%v)", r.Failed.Request, err)
	}
	if n := e.Standin.CreateCalls("always-5xx"); n != 6 {
		t.Errorf("create calls %d, want MAX_ATTEMPTS=6", n)
	}
	api.mu.Lock()
	calls := slices.Clone(api.calls)
	api.mu.Unlock()
	var gaps []time.Duration
	for i := 1; i < len(calls); i++ {
		gaps = append(gaps, calls[i].Sub(calls[i-1]).Round(time.Millisecond))
	}
	for i := 1; i < len(gaps); i++ {
		if gaps[i] < gaps[i-1] {
			t.Errorf("delays between attempts must grow, got %v", gaps)
			break
		}
	}
	if gaps[len(gaps)-1] < 800*time.Millisecond {
		t.Errorf("last delay %v: after the 5th failure the backoff is in [800ms, 1.6s]", gaps[len(gaps)-1])
	}
	e.Eventually(5*time.Second, "the request finished (no ack pending, nothing pending)", func() bool {
		info := e.ConsumerInfo()
		return info.NumAckPending == 0 && info.NumPending == 0
	})
	if n := e.CheckResultSchemas(); n != 1 {
		t.Errorf("%d results checked against the result schemas, want 1", n)
	}
	t.Logf("delays between attempts: %v", gaps)
}

func TestRejectedByPlugNmeet(t *testing.T) {
	e := testenv.New(t)
	client, _ := plugnmeet.New(plugnmeet.Config{URL: e.Standin.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret})
	e.StartWorker(&rewritingAPI{RoomAPI: client, rewrite: func(b []byte) []byte {
		// Drop room_title on the wire: plugNmeet answers INVALID_PARAMETERS.
		return []byte(strings.Replace(string(b), `"room_title":"Room rejected",`, "", 1))
	}})
	e.Publish(testenv.NewEvent("", testenv.Request("rejected")))
	r := e.WaitResults(1, 10*time.Second)[0]
	if r.Failed.Reason != events.ReasonRejected || r.Failed.PlugNmeetCode != "INVALID_PARAMETERS" || r.Failed.Attempts != 1 {
		t.Fatalf("got %s %+v", r.Ev.Type(), r.Failed)
	}
	if !strings.Contains(r.Failed.Message, "room_title") {
		t.Errorf("message should carry plugNmeet's reason: %q", r.Failed.Message)
	}
}

type rewritingAPI struct {
	worker.RoomAPI
	rewrite func([]byte) []byte
}

func (a *rewritingAPI) CreateRoom(ctx context.Context, body []byte) (*plugnmeet.RoomInfo, error) {
	return a.RoomAPI.CreateRoom(ctx, a.rewrite(body))
}

func TestCredentialsOutageLosesAndFailsNothing(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.MaxAttempts = 3 })
	e.Standin.SetFaults(plugnmeettest.Faults{Unauthorized: true})
	rw := e.StartWorker(nil)
	const n = 20
	for i := range n {
		e.Publish(testenv.NewEvent("", testenv.Request(fmt.Sprintf("cred-%02d", i))))
	}
	e.Eventually(10*time.Second, "worker paused and unready", func() bool {
		err := rw.W.Ready()
		return err != nil && strings.Contains(err.Error(), "credentials")
	})
	// The outage lasts a minute: far longer than the whole retry budget (3 attempts, 20ms base).
	outage := time.Minute
	if testing.Short() {
		outage = 10 * time.Second
	}
	time.Sleep(outage)
	if got := e.Results(); len(got) != 0 {
		t.Fatalf("%d results during the credentials outage, want none: %s", len(got), got[0].Ev.Data())
	}
	if err := rw.W.Ready(); err == nil {
		t.Fatal("worker ready while plugNmeet rejects its key")
	}
	e.Standin.SetFaults(plugnmeettest.Faults{})
	got := e.WaitResults(n, 90*time.Second)
	for _, r := range got {
		if r.Ev.Type() != events.TypeRoomCreated {
			t.Errorf("%s after the outage: %s", r.Ev.Type(), r.Ev.Data())
		} else if r.Created.Attempts != 1 {
			t.Errorf("room %s: attempts %d, want 1 (401s are not attempts)", r.Created.RoomID, r.Created.Attempts)
		}
	}
	e.Eventually(5*time.Second, "ready again", func() bool { return rw.W.Ready() == nil })
}

func TestAppliedSettingsWarning(t *testing.T) {
	e := testenv.New(t)
	e.StartWorker(nil)
	e.Publish(testenv.NewEvent("", testenv.Request("no-cams", `"allow_webcams":true="allow_webcams":false`)))
	r := e.WaitResults(1, 10*time.Second)[0]
	if r.Ev.Type() != events.TypeRoomCreated {
		t.Fatalf("got %s: %s", r.Ev.Type(), r.Ev.Data())
	}
	var found bool
	for _, w := range r.Created.Warnings {
		if w.Path == "/metadata/room_features/allow_webcams" {
			found = w.Requested == false && w.Applied == true
		}
	}
	if !found {
		t.Errorf("no warning for /metadata/room_features/allow_webcams requested false applied true: %+v", r.Created.Warnings)
	}
	e.CheckResultSchemas()
}
