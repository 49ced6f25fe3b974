package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
	"github.com/roomworker/roomworker/worker"
)

// titleDropper sends one room's create call without its room_title, which
// plugNmeet refuses for good (INVALID_PARAMETERS): a rejected failure.
type titleDropper struct {
	worker.RoomAPI
	room string
}

func (d titleDropper) CreateRoom(ctx context.Context, body []byte) (*plugnmeet.RoomInfo, error) {
	return d.RoomAPI.CreateRoom(ctx, bytes.Replace(body, []byte(`"room_title":"Room `+d.room+`",`), nil, 1))
}

// pendingRequests decodes the requests a stream holds, by id.
func pendingRequests(t *testing.T, env *testenv.Env) map[string]*event.Event {
	t.Helper()
	ctx := context.Background()
	s, err := env.JS.Stream(ctx, env.Cfg.RequestStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*event.Event{}
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted: answered
		}
		ev, _, err := events.Decode(m.Header, m.Data)
		if err != nil {
			t.Fatalf("request %d: %v", seq, err)
		}
		if m.Header.Get(jetstream.MsgIDHeader) != ev.ID() {
			t.Errorf("request %s stored with Nats-Msg-Id %q", ev.ID(), m.Header.Get(jetstream.MsgIDHeader))
		}
		out[ev.ID()] = ev
	}
	return out
}

// Under the default work-queue retention the request stream deletes a
// request once it is answered: replay republishes retries_exhausted
// failures from the request they carry, and reports rejected failures,
// which carry none, as not found.
func TestReplayWorkQueue(t *testing.T) {
	env := testenv.New(t, func(c *worker.Config) { c.MaxAttempts = 2; c.MaxDeliver = 4 })
	client, err := plugnmeet.New(plugnmeet.Config{URL: env.Standin.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret})
	if err != nil {
		t.Fatal(err)
	}
	api := titleDropper{RoomAPI: client, room: "wq-rejected"}
	w := env.StartWorker(api)
	files := map[string][]byte{}
	for _, room := range []string{"wq-a", "wq-b", "wq-rejected"} {
		files[room+".json"] = testenv.Request(room)
	}
	workdir(t, files)
	publish := func(room, reason string) string {
		t.Helper()
		got := runWith(t, env, "", "publish", "-wait", "-format", "text", room+".json")
		if got.code != 1 || !strings.Contains(got.stdout, "reason="+reason) {
			t.Fatalf("publish %s: exit %d\n%s%s", room, got.code, got.stdout, got.stderr)
		}
		return strings.SplitN(got.stdout, "\n", 2)[0]
	}
	ids := map[string]string{"wq-rejected": publish("wq-rejected", "rejected")}
	env.Standin.SetFaults(plugnmeettest.Faults{Error5xxRate: 1})
	for _, room := range []string{"wq-a", "wq-b"} {
		ids[room] = publish(room, "retries_exhausted")
	}
	env.Standin.SetFaults(plugnmeettest.Faults{})
	// The worker terminates a request just after storing its result: let the terms land.
	env.Eventually(5*time.Second, "answered requests removed from the work-queue stream", func() bool {
		return len(pendingRequests(t, env)) == 0
	})
	if seq := lastSeq(t, env, env.Cfg.RequestStream); seq != 3 {
		t.Fatalf("request stream last sequence %d, want 3", seq)
	}

	rid := func(room string) string {
		return replayID(events.ResultID(events.Origin{Source: "roomctl", ID: ids[room]}, events.TypeRoomFailed))
	}
	line := func(verb, room, suffix string) string {
		return verb + " " + room + " request " + ids[room] + " as " + rid(room) + suffix + "\n"
	}
	replay := func() result {
		t.Helper()
		return runWith(t, env, "", "replay", "-reason", "retries_exhausted", "-since", "1h")
	}

	// With the worker stopped, the copies stay in the stream.
	w.Stop()
	<-w.Done
	got := replay()
	want := line("republished", "wq-a", "") + line("republished", "wq-b", "") +
		"2 retries_exhausted failures: 2 republished, 0 already replayed, 0 not found\n"
	if got.code != 0 || got.stdout != want || got.stderr != "" {
		t.Fatalf("replay: exit %d\n%s%s\nwant:\n%s", got.code, got.stdout, got.stderr, want)
	}
	held := pendingRequests(t, env)
	for _, room := range []string{"wq-a", "wq-b"} {
		cp := held[rid(room)]
		if cp == nil {
			t.Errorf("no copy %s of %s's request in the stream (holds %d)", rid(room), room, len(held))
			continue
		}
		if cp.Source() != "roomctl" || cp.Type() != events.TypeCreateRoom || cp.Subject() != room ||
			cp.Extensions()[extReplayOf] != ids[room] || !bytes.Equal(cp.Data(), files[room+".json"]) {
			t.Errorf("copy of %s's request: %s", room, cp)
		}
	}
	got = replay()
	want = line("already replayed", "wq-a", " (pending)") + line("already replayed", "wq-b", " (pending)") +
		"2 retries_exhausted failures: 0 republished, 2 already replayed, 0 not found\n"
	if got.code != 0 || got.stdout != want || lastSeq(t, env, env.Cfg.RequestStream) != 5 {
		t.Errorf("second replay while pending: exit %d, last sequence %d\n%s%s\nwant:\n%s",
			got.code, lastSeq(t, env, env.Cfg.RequestStream), got.stdout, got.stderr, want)
	}

	// The worker comes back and creates both rooms from the copies.
	env.StartWorker(api)
	results := env.WaitResults(5, 20*time.Second)
	for _, r := range results[3:] {
		if r.Ev.Type() != events.TypeRoomCreated {
			t.Errorf("replayed request ended in %s: %s", r.Ev.Type(), r.Ev.Data())
		}
	}
	for _, room := range []string{"wq-a", "wq-b"} {
		if _, ok := env.Standin.ActiveRoom(room); !ok {
			t.Errorf("room %s was not created from the replay", room)
		}
	}
	got = replay()
	want = line("already replayed", "wq-a", " (created)") + line("already replayed", "wq-b", " (created)") +
		"2 retries_exhausted failures: 0 republished, 2 already replayed, 0 not found\n"
	if got.code != 0 || got.stdout != want || lastSeq(t, env, env.Cfg.RequestStream) != 5 {
		t.Errorf("replay after success: exit %d, last sequence %d\n%s%s\nwant:\n%s",
			got.code, lastSeq(t, env, env.Cfg.RequestStream), got.stdout, got.stderr, want)
	}

	// A rejected failure carries no request, and the stream deleted it.
	got = runWith(t, env, "", "replay", "-reason", "rejected")
	want = "not found wq-rejected request " + ids["wq-rejected"] + ": the request is no longer in ROOM_REQUESTS" +
		" (rejected failures do not carry their request, and work-queue retention deletes answered requests:" +
		" run roomworker with REQUEST_RETENTION=limits to replay them)\n" +
		"1 rejected failures: 0 republished, 0 already replayed, 1 not found\n"
	if got.code != 1 || got.stdout != want {
		t.Errorf("replay -reason rejected: exit %d\n%s%s\nwant:\n%s", got.code, got.stdout, got.stderr, want)
	}
	if n := env.CheckResultSchemas(); n != 5 {
		t.Errorf("checked %d results, want 5", n)
	}
}

// Failures published before roomworker embedded the request in them are
// replayed from the request stream, as are failures whose embedded request
// is not theirs.
func TestReplayFailuresWithoutRequest(t *testing.T) {
	env := testenv.New(t, func(c *worker.Config) { c.RequestRetain = "limits" })
	w := env.StartWorker(nil) // creates the streams
	w.Stop()
	<-w.Done
	ctx := context.Background()
	newRequest := func(room string) *event.Event {
		t.Helper()
		ev, err := events.NewCreateRoomRequest(testenv.Request(room), events.WithSource("urn:test:scheduler"),
			events.WithExtension(events.ExtTraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	fail := func(req *event.Event, carried []byte) string {
		t.Helper()
		res, err := events.NewResult(req, events.TypeRoomFailed, env.Cfg.EventSource, events.RoomFailed{
			RoomID: req.Subject(), Reason: events.ReasonRetriesExhausted, Message: "10 create attempts failed", Attempts: 10,
			Request: carried,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := events.Publish(ctx, env.JS, env.Cfg.FailedSubject, res); err != nil {
			t.Fatal(err)
		}
		return res.ID()
	}
	// old-kept: in the stream, its failure carries nothing.
	kept := newRequest("old-kept")
	if _, err := events.Publish(ctx, env.JS, env.Cfg.RequestSubject, kept); err != nil {
		t.Fatal(err)
	}
	keptFailure := fail(kept, nil)
	// old-gone: neither in the stream nor carried.
	gone := newRequest("old-gone")
	fail(gone, nil)
	// old-other: carries another request's event.
	other := newRequest("old-other")
	_, stranger, err := events.EncodeStructured(newRequest("old-stranger"))
	if err != nil {
		t.Fatal(err)
	}
	fail(other, stranger)

	got := runWith(t, env, "", "replay", "-reason", "retries_exhausted")
	rid := replayID(keptFailure)
	want := "republished old-kept request " + kept.ID() + " as " + rid + "\n" +
		"not found old-gone request " + gone.ID() + ": the failure does not carry its request (published by an older roomworker)," +
		" and it is no longer in ROOM_REQUESTS\n" +
		"not found old-other request " + other.ID() + `: the request it carries (source "urn:test:scheduler", id "`
	if got.code != 1 || !strings.HasPrefix(got.stdout, want) ||
		!strings.HasSuffix(got.stdout, `") is not the one this failure answers, and it is no longer in ROOM_REQUESTS`+"\n"+
			"3 retries_exhausted failures: 1 republished, 0 already replayed, 2 not found\n") {
		t.Errorf("exit %d\n%s%s\nwant a start of:\n%s", got.code, got.stdout, got.stderr, want)
	}
	cp := pendingRequests(t, env)[rid]
	if cp == nil || cp.Source() != kept.Source() || cp.Extensions()[events.ExtTraceParent] != kept.Extensions()[events.ExtTraceParent] ||
		cp.Extensions()[extReplayOf] != kept.ID() || !bytes.Equal(cp.Data(), kept.Data()) {
		t.Errorf("copy of old-kept's request: %v", cp)
	}
}

// A copy answered while replay runs is not republished. Under work-queue
// retention the worker deletes a copy from the request stream once its
// result is stored: a copy answered after replay read the results, and
// before it read the request stream, must still be seen.
func TestReplayCopyAnsweredDuringReplay(t *testing.T) {
	env := testenv.New(t)
	w := env.StartWorker(nil) // creates the streams and the consumer
	w.Stop()
	<-w.Done
	ctx := context.Background()
	req, err := events.NewCreateRoomRequest(testenv.Request("race-room"), events.WithSource("urn:test:scheduler"))
	if err != nil {
		t.Fatal(err)
	}
	_, carried, err := events.EncodeStructured(req)
	if err != nil {
		t.Fatal(err)
	}
	failure, err := events.NewResult(req, events.TypeRoomFailed, env.Cfg.EventSource, events.RoomFailed{
		RoomID: "race-room", Reason: events.ReasonRetriesExhausted, Message: "10 create attempts failed", Attempts: 10,
		Request: carried,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.Publish(ctx, env.JS, env.Cfg.FailedSubject, failure); err != nil {
		t.Fatal(err)
	}
	// The copy an earlier replay published, longer ago than the request
	// stream's duplicate window: the stream no longer knows its Nats-Msg-Id.
	rid := replayID(failure.ID())
	cp := req.Clone()
	cp.SetID(rid)
	cp.SetExtension(extReplayOf, req.ID())
	env.Publish(&cp)
	before := lastSeq(t, env, env.Cfg.RequestStream)

	// The worker answers the copy between replay's reads.
	answers := 0
	afterFailuresRead = func() {
		answers++
		env.StartWorker(nil)
		env.Eventually(10*time.Second, "copy answered and removed from the request stream", func() bool {
			stored := false
			for _, r := range env.Results() {
				stored = stored || r.RequestID() == rid && r.Ev.Type() == events.TypeRoomCreated
			}
			s, err := env.JS.Stream(ctx, env.Cfg.RequestStream)
			return stored && err == nil && s.CachedInfo().State.Msgs == 0
		})
	}
	t.Cleanup(func() { afterFailuresRead = nil })

	got := runWith(t, env, "", "replay", "-reason", "retries_exhausted")
	want := "already replayed race-room request " + req.ID() + " as " + rid + " (created)\n" +
		"1 retries_exhausted failures: 0 republished, 1 already replayed, 0 not found\n"
	if answers != 1 {
		t.Fatalf("the copy was answered %d times during replay, want 1", answers)
	}
	if got.code != 0 || got.stdout != want || got.stderr != "" {
		t.Errorf("replay: exit %d\n%s%s\nwant:\n%s", got.code, got.stdout, got.stderr, want)
	}
	if seq := lastSeq(t, env, env.Cfg.RequestStream); seq != before {
		t.Errorf("request stream last sequence %d after replay, want %d: the answered copy was published again", seq, before)
	}
}
