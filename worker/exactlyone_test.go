package worker_test

// One test per way a request used to end with no result, two results or the wrong result
// (the "exactly one result" review). Each failed on the code before the verdict/executor
// restructuring.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
	"github.com/roomworker/roomworker/worker"
)

// Case 0: a room that ended (endRoom, empty_timeout, a moderator) must not be answered as
// created from the record: a new request gets a new, live session.
func TestEndedRoomGetsANewSession(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	e.StartWorker(nil)
	body := testenv.Request("stale-sid-1")
	first := testenv.NewEvent("", body)
	e.Publish(first)
	r1 := e.WaitResults(1, 10*time.Second)[0]
	if r1.Ev.Type() != events.TypeRoomCreated {
		t.Fatalf("first request: %s %s", r1.Ev.Type(), r1.Ev.Data())
	}

	// While the room is live, a new request is a duplicate of it.
	e.Publish(testenv.NewEvent("", body))
	r2 := e.WaitResults(2, 10*time.Second)[1]
	if !r2.Created.Duplicate || r2.Created.SID != r1.Created.SID {
		t.Fatalf("request while live: duplicate=%t sid %s, want the live session %s", r2.Created.Duplicate, r2.Created.SID, r1.Created.SID)
	}

	e.Standin.EndRoom("stale-sid-1")
	third := testenv.NewEvent("", body) // the scheduler re-opens the meeting
	e.Publish(third)
	r3 := e.WaitResults(3, 10*time.Second)[2]
	live, ok := e.Standin.ActiveRoom("stale-sid-1")
	switch {
	case r3.Ev.Type() != events.TypeRoomCreated:
		t.Fatalf("after the end: %s %s", r3.Ev.Type(), r3.Ev.Data())
	case !ok:
		t.Fatal("after the end: room.created, but plugNmeet has no such room")
	case r3.Created.SID == r1.Created.SID:
		t.Fatalf("after the end: answered with the dead session %s", r3.Created.SID)
	case r3.Created.SID != live.SID || r3.Created.Duplicate:
		t.Fatalf("after the end: sid %s duplicate=%t, want the new live session %s, not a duplicate", r3.Created.SID, r3.Created.Duplicate, live.SID)
	}

	// The new session replaced the record: the next request is its duplicate.
	e.Publish(testenv.NewEvent("", body))
	r4 := e.WaitResults(4, 10*time.Second)[3]
	if !r4.Created.Duplicate || r4.Created.SID != live.SID {
		t.Errorf("next request: duplicate=%t sid %s, want a duplicate of %s", r4.Created.Duplicate, r4.Created.SID, live.SID)
	}
	// A redelivery of the same request (same source and id) is answered from its outcome.
	e.Publish(third)
	time.Sleep(500 * time.Millisecond)
	if n := len(e.Results()); n != 4 {
		t.Errorf("%d results, want 4: the copy of a request answers with its stored result", n)
	}
	if n := e.Standin.CreateCalls("stale-sid-1"); n != 2 {
		t.Errorf("%d create calls, want 2 (one per session)", n)
	}
}

// Case 1: the final delivery never ends in a nak. A request that found its room's lease held
// on every delivery gets room.failed retries_exhausted, with the reason and the request.
func TestFinalDeliveryNeverNaks(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.MaxAttempts = 1; c.MaxDeliver = 3 })
	e.StartWorker(nil)
	kv, err := e.JS.KeyValue(context.Background(), e.Cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	// Another replica holds the room's lease for a minute (a plugNmeet outage keeps it busy).
	if _, err := kv.Create(context.Background(), worker.RoomKey("held-room"), []byte(`{"state":"claimed","holder":"other"}`),
		jetstream.KeyTTL(time.Minute)); err != nil {
		t.Fatal(err)
	}
	req := testenv.NewEvent("", testenv.Request("held-room"))
	e.Publish(req)
	r := e.WaitResults(1, 20*time.Second)[0]
	if r.Failed.Reason != events.ReasonRetriesExhausted || !strings.Contains(r.Failed.Message, "MAX_DELIVER 3") ||
		!strings.Contains(r.Failed.Message, "lease") {
		t.Fatalf("got %s %+v", r.Ev.Type(), r.Failed)
	}
	if len(r.Failed.Request) == 0 {
		t.Error("the failure does not carry the request for roomctl replay")
	}
	e.Eventually(5*time.Second, "the request left the stream", func() bool {
		i := e.ConsumerInfo()
		return i.NumAckPending == 0 && i.NumPending == 0
	})
	if n := e.Standin.CreateCalls("held-room"); n != 0 {
		t.Errorf("%d create calls while another worker held the lease", n)
	}
}

// Case 1: a 403 that only one request's content provokes (a firewall in front of plugNmeet) is
// that request's refusal, once the probe shows the key works: no pause, no ERROR about the key.
func TestFirewall403RejectsOneRequestWithoutPausing(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	rw := e.StartWorker(nil)
	e.Standin.SetFaults(plugnmeettest.Faults{ForbidBodyContaining: "DROP TABLE"})
	e.Publish(testenv.NewEvent("", welcome("waf-hit", "DROP TABLE rooms")))
	e.Publish(testenv.NewEvent("", testenv.Request("waf-clean")))
	got := e.WaitResults(2, 15*time.Second)
	byRoom := map[string]testenv.Result{}
	for _, r := range got {
		byRoom[r.Ev.Subject()] = r
	}
	if r := byRoom["waf-hit"]; r.Failed.Reason != events.ReasonRejected || r.Failed.PlugNmeetStatusCode != 403 {
		t.Errorf("waf-hit: %s %+v, want rejected with plugNmeet's 403", r.Ev.Type(), r.Failed)
	}
	if r := byRoom["waf-clean"]; r.Ev.Type() != events.TypeRoomCreated {
		t.Errorf("waf-clean: %s %s", r.Ev.Type(), r.Ev.Data())
	}
	if err := rw.W.Ready(); err != nil {
		t.Errorf("not ready after one request's 403: %v", err)
	}
	if strings.Contains(e.Logs.String(), "PLUGNMEET_API_KEY") {
		t.Errorf("a 403 for one request blamed the key:\n%s", e.Logs.Tail(20))
	}
}

// slowAPI holds the first create call for hold, and counts the calls in progress per room.
type slowAPI struct {
	worker.RoomAPI
	hold     time.Duration
	mu       sync.Mutex
	inFlight map[string]int
	maxSeen  map[string]int
	calls    atomic.Int64
}

func newSlowAPI(t *testing.T, e *testenv.Env, hold time.Duration) *slowAPI {
	c, err := plugnmeet.New(plugnmeet.Config{URL: e.Standin.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret})
	if err != nil {
		t.Fatal(err)
	}
	return &slowAPI{RoomAPI: c, hold: hold, inFlight: map[string]int{}, maxSeen: map[string]int{}}
}

func (a *slowAPI) CreateRoom(ctx context.Context, body []byte) (*plugnmeet.RoomInfo, error) {
	var head struct {
		RoomID string `json:"room_id"`
	}
	_ = json.Unmarshal(body, &head)
	first := a.calls.Add(1) == 1
	a.mu.Lock()
	a.inFlight[head.RoomID]++
	a.maxSeen[head.RoomID] = max(a.maxSeen[head.RoomID], a.inFlight[head.RoomID])
	a.mu.Unlock()
	defer func() { a.mu.Lock(); a.inFlight[head.RoomID]--; a.mu.Unlock() }()
	if first {
		select {
		case <-time.After(a.hold):
		case <-ctx.Done():
			return nil, &plugnmeet.Error{Route: plugnmeet.RouteCreate, Class: plugnmeet.ClassTransient, Msg: "call abandoned", Err: ctx.Err()}
		}
	}
	return a.RoomAPI.CreateRoom(ctx, body)
}

func (a *slowAPI) max(room string) int { a.mu.Lock(); defer a.mu.Unlock(); return a.maxSeen[room] }

// Case 2: a create call cut short by our own shutdown is not an attempt: the delivery is put
// back and the next worker creates the room, even with MAX_ATTEMPTS=1.
func TestShutdownCutIsNotAnAttempt(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.MaxAttempts = 1; c.ShutdownTimeout = 300 * time.Millisecond })
	slow := newSlowAPI(t, e, 3*time.Second)
	rw := e.StartWorker(slow)
	e.Publish(testenv.NewEvent("", testenv.Request("cut-short")))
	e.Eventually(5*time.Second, "the create call started", func() bool { return slow.calls.Load() == 1 })
	rw.Stop()
	<-rw.Done
	if got := e.Results(); len(got) != 0 {
		t.Fatalf("a result after a shutdown cut the only call short: %s %s", got[0].Ev.Type(), got[0].Ev.Data())
	}
	e.StartWorker(nil)
	r := e.WaitResults(1, 20*time.Second)[0]
	if r.Ev.Type() != events.TypeRoomCreated || r.Created.Attempts != 1 {
		t.Fatalf("got %s %s, want room.created in 1 attempt", r.Ev.Type(), r.Ev.Data())
	}
}

// Case 3: a consumer deleted while workers run is noticed and re-created, and consumption resumes.
func TestDeletedConsumerIsRecreated(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.ConsumerRecheck = time.Second })
	rw := e.StartWorker(nil)
	e.Publish(testenv.NewEvent("", testenv.Request("before-delete")))
	e.WaitResults(1, 10*time.Second)
	if err := e.JS.DeleteConsumer(context.Background(), e.Cfg.RequestStream, e.Cfg.Consumer); err != nil {
		t.Fatal(err)
	}
	e.Publish(testenv.NewEvent("", testenv.Request("after-delete")))
	r := e.WaitResults(2, 20*time.Second)[1]
	if r.Ev.Type() != events.TypeRoomCreated || r.Ev.Subject() != "after-delete" {
		t.Fatalf("after the delete: %s %s", r.Ev.Type(), r.Ev.Data())
	}
	e.Eventually(5*time.Second, "ready again", func() bool { return rw.W.Ready() == nil })
	if !strings.Contains(e.Logs.String(), "creating the consumer") {
		t.Error("no log line says the consumer was re-created")
	}
}

// Case 3: settings that break fetching are put right in place; the tunables follow the rule of
// CONSUMER_SETTINGS_VERSION (a newer worker writes them, others adopt them and stay ready).
func TestConsumerSettingsRollOut(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.ConsumerRecheck = time.Second })
	rw := e.StartWorker(nil)
	ctx := context.Background()
	info := e.ConsumerInfo()
	broken := info.Config
	broken.HeadersOnly = true
	broken.MaxRequestBatch = 1
	if _, err := e.JS.UpdateConsumer(ctx, e.Cfg.RequestStream, broken); err != nil {
		t.Fatal(err)
	}
	e.Eventually(10*time.Second, "HeadersOnly and MaxRequestBatch put right", func() bool {
		c := e.ConsumerInfo().Config
		return !c.HeadersOnly && c.MaxRequestBatch == 0
	})
	e.Publish(testenv.NewEvent("", testenv.Request("after-fix")))
	if r := e.WaitResults(1, 10*time.Second)[0]; r.Ev.Type() != events.TypeRoomCreated {
		t.Fatalf("%s %s", r.Ev.Type(), r.Ev.Data())
	}

	// A rolling update: the new pods run with a longer REQUEST_TIMEOUT and version 2.
	rw.Stop()
	<-rw.Done
	e.Cfg.RequestTimeout = 7 * time.Second
	e.Cfg.ConsumerSettingsVersion = 2
	newPod := e.StartWorker(nil)
	e.Eventually(10*time.Second, "the version-2 worker wrote its AckWait", func() bool {
		return e.ConsumerInfo().Config.AckWait == e.Cfg.AckWait()
	})
	// An old pod (version 1, shorter timeout) starting late adopts them and stays ready.
	e.Cfg.RequestTimeout = 5 * time.Second
	e.Cfg.ConsumerSettingsVersion = 1
	oldPod := e.StartWorker(nil)
	time.Sleep(2500 * time.Millisecond) // two rechecks
	if got := e.ConsumerInfo().Config.AckWait; got != 12*time.Second {
		t.Errorf("AckWait %v after the old pod's rechecks, want the version-2 12s", got)
	}
	for i, w := range []*testenv.Worker{newPod, oldPod} {
		if err := w.W.Ready(); err != nil {
			t.Errorf("worker %d not ready: %v", i, err)
		}
	}
	e.Publish(testenv.NewEvent("", testenv.Request("during-rollout")))
	e.WaitResults(2, 10*time.Second)
}

// Case 4: an IDEMPOTENCY_WINDOW shorter than the lease's lifetime must not free a live lease
// (two create calls for one room at once) nor forget attempts (MAX_ATTEMPTS not enforced).
func TestShortIdempotencyWindowCutsNoLifetimeShort(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.IdempotencyWindow = time.Second })
	slow := newSlowAPI(t, e, 3*time.Second)
	e.StartWorker(slow)
	e.StartWorker(slow)
	e.Publish(testenv.NewEvent("", testenv.Request("short-window")))
	e.Eventually(5*time.Second, "the first create call started", func() bool { return slow.calls.Load() == 1 })
	e.Publish(testenv.NewEvent("", testenv.Request("short-window")))
	e.WaitResults(2, 30*time.Second)
	if n := slow.max("short-window"); n != 1 {
		t.Errorf("%d create calls for one room at once, want 1", n)
	}

	e2 := testenv.New(t, func(c *worker.Config) {
		c.IdempotencyWindow = time.Second
		c.MaxAttempts = 3
		c.RetryBaseDelay = 2500 * time.Millisecond // every retry goes back to JetStream, past the window
		c.RetryMaxDelay = 2500 * time.Millisecond
	})
	e2.Standin.SetFaults(plugnmeettest.Faults{Error5xxRate: 1})
	e2.StartWorker(nil)
	e2.Publish(testenv.NewEvent("", testenv.Request("short-window-5xx")))
	r := e2.WaitResults(1, 40*time.Second)[0]
	if r.Failed.Reason != events.ReasonRetriesExhausted || r.Failed.Attempts != 3 {
		t.Errorf("got %s %+v, want retries_exhausted after 3 attempts", r.Ev.Type(), r.Failed)
	}
	if n := e2.Standin.CreateCalls("short-window-5xx"); n != 3 {
		t.Errorf("%d create calls, want MAX_ATTEMPTS=3", n)
	}
}

// Case 5: PubAcks that never come are forgotten after the timeout instead of piling up in
// nats.go's pending map until every publish stalls.
func TestLostPubAcksAreForgotten(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.ConsumerRecheck = 2 * time.Second })
	rw := e.StartWorker(nil)
	ctx := context.Background()
	// ROOM_EVENTS is gone and something that never answers listens on the result subjects:
	// every result publish is sent, and its PubAck lost.
	if err := e.JS.DeleteStream(ctx, e.Cfg.EventsStream); err != nil {
		t.Fatal(err)
	}
	sink, err := e.NC.Subscribe("rooms.>", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e.Publish(testenv.NewEvent("", testenv.Request(fmt.Sprintf("lost-ack-%d", i))))
	}
	// Each request waits for at most one result PubAck at a time (plus, briefly, the write of its
	// record): a lost one is forgotten after 10s, before the redelivery publishes again, so the
	// pending count never grows past two per request. Kept, they would pile up: 15 after 25s.
	most := 0.0
	for deadline := time.Now().Add(25 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		most = max(most, value(t, rw.Reg, "roomworker_publishes_pending", nil))
	}
	if most == 0 || most > 10 {
		t.Errorf("at most %v publishes pending during 25s of lost PubAcks, want 1..10 (two per request)", most)
	}
	// NATS answers again: every request gets its one result.
	_ = sink.Unsubscribe()
	got := e.WaitResults(5, 60*time.Second)
	for _, r := range got {
		if r.Ev.Type() != events.TypeRoomCreated {
			t.Errorf("%s %s", r.Ev.Type(), r.Ev.Data())
		}
	}
	e.Eventually(15*time.Second, "nothing pending", func() bool {
		return value(t, rw.Reg, "roomworker_publishes_pending", nil) == 0
	})
}

// welcome is a create request for roomID whose metadata carries a welcome message.
func welcome(roomID, message string) []byte {
	return []byte(strings.Replace(string(testenv.Request(roomID)), `"room_title":"Room `+roomID+`",`,
		`"room_title":"Room `+roomID+`","welcome_message":"`+message+`",`, 1))
}

// Case 6: a request with many '<' still fits in its retries_exhausted result (embedded as it
// is, not HTML-escaped); a request too big to embed is left out, and the result says so; and
// the attempt counter survives until the result is stored.
func TestEmbeddedRequestFitsMaxPayload(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.MaxAttempts = 2; c.MaxMessageBytes = 1 << 20 })
	e.Standin.SetFaults(plugnmeettest.Faults{Error5xxRate: 1})
	e.StartWorker(nil)
	angles := strings.Repeat("<", 258*1024)
	req := testenv.NewEvent("", welcome("angles", angles))
	e.Publish(req)
	r := e.WaitResults(1, 30*time.Second)[0]
	if r.Failed.Reason != events.ReasonRetriesExhausted {
		t.Fatalf("got %s %+v", r.Ev.Type(), r.Failed.Message)
	}
	if strings.Contains(string(r.Failed.Request), `\u003c`) || !strings.Contains(string(r.Failed.Request), angles) {
		t.Errorf("the request is not embedded as it is (%d bytes)", len(r.Failed.Request))
	}
	if n := e.Standin.CreateCalls("angles"); n != 2 {
		t.Errorf("%d create calls, want MAX_ATTEMPTS=2", n)
	}

	// As large as the NATS server takes (1 MiB max_payload): embedded, it would not fit.
	huge := strings.Repeat("x", 1045000)
	e.Publish(testenv.NewEvent("", welcome("huge", huge)))
	r = e.WaitResults(2, 30*time.Second)[1]
	if r.Failed.Reason != events.ReasonRetriesExhausted || len(r.Failed.Request) != 0 ||
		!strings.Contains(r.Failed.Message, "max_payload") {
		t.Errorf("got %s, message %q, request %d bytes: want retries_exhausted without the request, saying why",
			r.Ev.Type(), r.Failed.Message, len(r.Failed.Request))
	}
}

// Case 7: a PLUGNMEET_URL that does not lead to the API (404 text, an HTML page) pauses the
// worker with one clear line naming PLUGNMEET_URL; nothing fails; it resumes when the URL works.
func TestWrongPlugNmeetURLPausesAndFailsNothing(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	wrong, err := plugnmeet.New(plugnmeet.Config{URL: e.Standin.URL + "/wrong", APIKey: testenv.APIKey, APISecret: testenv.APISecret})
	if err != nil {
		t.Fatal(err)
	}
	rw := e.StartWorker(wrong)
	e.Publish(testenv.NewEvent("", testenv.Request("wrong-url")))
	e.Eventually(10*time.Second, "paused, naming PLUGNMEET_URL", func() bool {
		err := rw.W.Ready()
		return err != nil && strings.Contains(err.Error(), "PLUGNMEET_URL")
	})
	if !strings.Contains(e.Logs.String(), "PLUGNMEET_URL") {
		t.Error("no log line names PLUGNMEET_URL")
	}
	time.Sleep(2 * time.Second)
	if got := e.Results(); len(got) != 0 {
		t.Fatalf("%d results while PLUGNMEET_URL is wrong, want none: %s", len(got), got[0].Ev.Data())
	}
	rw.Stop()
	<-rw.Done

	// A web app's fallback route (HTML 200) until the operator fixes the routing.
	e.Standin.SetFaults(plugnmeettest.Faults{NotPlugNmeet: true})
	rw = e.StartWorker(nil)
	e.Eventually(10*time.Second, "paused on HTML answers", func() bool {
		err := rw.W.Ready()
		return err != nil && strings.Contains(err.Error(), "PLUGNMEET_URL")
	})
	e.Standin.SetFaults(plugnmeettest.Faults{})
	r := e.WaitResults(1, 45*time.Second)[0]
	if r.Ev.Type() != events.TypeRoomCreated || r.Created.Attempts != 1 {
		t.Fatalf("after the fix: %s %s, want room.created in 1 attempt", r.Ev.Type(), r.Ev.Data())
	}
	e.Eventually(5*time.Second, "ready again", func() bool { return rw.W.Ready() == nil })
}

// Case 8: once a request's failure is stored, a redelivery (its Term lost) answers with that
// failure: it never creates the room behind a stored room.failed.
func TestRedeliveryAfterStoredFailureDoesNotContradict(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	client, _ := plugnmeet.New(plugnmeet.Config{URL: e.Standin.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret})
	var refuse atomic.Bool
	refuse.Store(true)
	e.StartWorker(&rewritingAPI{RoomAPI: client, rewrite: func(b []byte) []byte {
		if refuse.Load() { // plugNmeet refuses it (INVALID_PARAMETERS) the first time
			return []byte(strings.Replace(string(b), `"room_title":"Room no-contradiction",`, "", 1))
		}
		return b
	}})
	req := testenv.NewEvent("", testenv.Request("no-contradiction"))
	e.Publish(req)
	r := e.WaitResults(1, 10*time.Second)[0]
	if r.Failed.Reason != events.ReasonRejected {
		t.Fatalf("got %s %+v", r.Ev.Type(), r.Failed)
	}
	refuse.Store(false)
	e.Publish(req) // the same request again, as after a lost Term
	time.Sleep(time.Second)
	e.Eventually(5*time.Second, "the copy ended", func() bool {
		i := e.ConsumerInfo()
		return i.NumAckPending == 0 && i.NumPending == 0
	})
	if _, ok := e.Standin.ActiveRoom("no-contradiction"); ok {
		t.Error("the room exists although the request's stored result is room.failed")
	}
	if n := e.Standin.CreateCalls("no-contradiction"); n != 1 {
		t.Errorf("%d create calls, want 1", n)
	}
}

// Case 12: a message that cannot be decoded still answers its publisher's id whenever it can
// be read: from binary-mode headers always, from a structured body by a bounded scan.
func TestUndecodableMessageKeepsItsRequestID(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.MaxMessageBytes = 4096 })
	e.StartWorker(nil)
	big := testenv.Request("big", `"allow_webcams":true="allow_webcams":true,"welcome_message":"`+strings.Repeat("x", 5000)+`"`)
	binary := testenv.NewEvent("binary-too-big", big)
	e.Publish(binary)
	structured := testenv.NewEvent("structured-too-big", big)
	e.PublishStructured(structured)
	e.PublishRaw(nats.Header{"Content-Type": {"text/plain"}}, []byte("no id anywhere"))
	got := e.WaitResults(3, 10*time.Second)
	ids := map[string]bool{}
	for _, r := range got {
		if r.Failed.Reason != events.ReasonInvalidEvent {
			t.Errorf("%s %+v", r.Ev.Type(), r.Failed)
		}
		ids[r.RequestID()] = true
	}
	for _, want := range []string{"binary-too-big", "structured-too-big", e.Cfg.RequestStream + "/3"} {
		if !ids[want] {
			t.Errorf("no result answers %q; requestids: %v", want, ids)
		}
	}
}

// Case 13: a lease is judged by its TTL alone: a worker whose own view of a lease's age (its
// clock, or its shorter REQUEST_TIMEOUT) says "stale" does not take a live one.
func TestLiveLeaseIsNeverTakenOver(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, func(c *worker.Config) { c.RequestTimeout = 20 * time.Second })
	slow := newSlowAPI(t, e, 16*time.Second)
	e.StartWorker(slow) // holds the lease for 16s: its lease lives 70s
	e.Publish(testenv.NewEvent("", testenv.Request("long-lease")))
	e.Eventually(5*time.Second, "the long create started", func() bool { return slow.calls.Load() == 1 })
	e.Cfg.RequestTimeout = 500 * time.Millisecond // this worker's own lease would live 11.5s
	e.StartWorker(slow)
	e.Publish(testenv.NewEvent("", testenv.Request("long-lease")))
	e.WaitResults(2, 40*time.Second)
	if n := slow.max("long-lease"); n != 1 {
		t.Errorf("%d create calls for one room at once, want 1: a live lease was taken over", n)
	}
}
