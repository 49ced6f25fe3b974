package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
)

// createRoom has the worker create room (publish -wait) and fails the test otherwise.
func createRoom(t *testing.T, env *testenv.Env, room string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, room+".json")
	if err := os.WriteFile(file, testenv.Request(room), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := runWith(t, env, "", "publish", "-wait", "-timeout", "20s", file); got.code != 0 {
		t.Fatalf("publish %s: exit %d\n%s%s", room, got.code, got.stdout, got.stderr)
	}
	if _, ok := env.Standin.ActiveRoom(room); !ok {
		t.Fatalf("the stand-in has no active room %s", room)
	}
}

// lines splits output into its lines.
func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func TestEnd(t *testing.T) {
	env := testenv.New(t)
	w := env.StartWorker(nil)

	t.Run("live room, then again", func(t *testing.T) {
		createRoom(t, env, "end-live")
		got := runWith(t, env, "", "end", "-wait", "-timeout", "20s", "end-live")
		out := lines(got.stdout)
		if got.code != 0 || got.stderr != "" || len(out) != 2 || out[1] != "ended end-live" {
			t.Fatalf("exit %d, stdout %q, stderr %q; want the event id and \"ended end-live\"", got.code, got.stdout, got.stderr)
		}
		if _, err := uuid.Parse(out[0]); err != nil {
			t.Errorf("first line %q is not a fresh UUID event id", out[0])
		}
		if _, ok := env.Standin.ActiveRoom("end-live"); ok {
			t.Error("the room is still active in the stand-in")
		}
		// Flags may follow ROOM_ID, as in "roomctl end ROOM_ID --wait".
		got = runWith(t, env, "", "end", "end-live", "--wait", "--timeout", "20s")
		if out := lines(got.stdout); got.code != 0 || len(out) != 2 || out[1] != "already ended end-live" {
			t.Errorf("second end: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
	})

	t.Run("structured, json result", func(t *testing.T) {
		createRoom(t, env, "end-json")
		got := runWith(t, env, "", "end", "-structured", "-source", "urn:test:cli", "-wait", "-format", "json", "end-json")
		out := lines(got.stdout)
		if got.code != 0 || len(out) != 2 {
			t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
		ev, data := resultLine(t, out[1])
		if ev["type"] != events.TypeRoomEnded || ev[events.ExtRequestID] != out[0] || ev["subject"] != "end-json" ||
			data["room_id"] != "end-json" || data["already_ended"] != false {
			t.Errorf("result = %s, want room.ended for end-json answering %s", out[1], out[0])
		}
	})

	t.Run("same id twice", func(t *testing.T) {
		id := uuid.NewString()
		first := runWith(t, env, "", "end", "-id", id, "-wait", "end-never-created")
		before := lastSeq(t, env, env.Cfg.RequestStream)
		again := runWith(t, env, "", "end", "-id", id, "-wait", "end-never-created")
		if first.code != 0 || again.code != 0 || first.stdout != id+"\nalready ended end-never-created\n" || again.stdout != first.stdout {
			t.Fatalf("exit %d then %d\n%q\n%q\nstderr %q", first.code, again.code, first.stdout, again.stdout, again.stderr)
		}
		if !strings.Contains(again.stderr, "already held an event with id "+id) {
			t.Errorf("second end stderr = %q, want a duplicate notice", again.stderr)
		}
		if got := lastSeq(t, env, env.Cfg.RequestStream); got != before {
			t.Errorf("the copy was stored: last sequence %d, was %d", got, before)
		}
	})

	t.Run("without -wait", func(t *testing.T) {
		got := runWith(t, env, "", "end", "end-nowait")
		if _, err := uuid.Parse(strings.TrimSpace(got.stdout)); got.code != 0 || err != nil || got.stderr != "" {
			t.Errorf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
	})

	t.Run("invalid ROOM_ID is not published", func(t *testing.T) {
		before := lastSeq(t, env, env.Cfg.RequestStream)
		for room, want := range map[string]string{
			"a b":       `roomctl end: invalid room_id "a b": must only contain ASCII letters, digits, '-' or '_'`,
			"user_x":    `roomctl end: invalid room_id "user_x": must not start with "user_" (reserved by plugNmeet)`,
			"":          `roomctl end: invalid room_id "": is empty`,
			"a\nb":      `roomctl end: invalid room_id "a\nb": must only contain`,
			"x-FIELD_y": `must not contain "-FIELD_"`,
		} {
			got := runWith(t, env, "", "end", "-wait", room)
			if got.code != 2 || got.stdout != "" || !strings.Contains(got.stderr, want) || strings.Count(got.stderr, "\n") != 2 {
				t.Errorf("end %q: exit %d, stdout %q, stderr %q, want 2 and %q", room, got.code, got.stdout, got.stderr, want)
			}
		}
		if after := lastSeq(t, env, env.Cfg.RequestStream); after != before {
			t.Errorf("something was published: last sequence %d, was %d", after, before)
		}
	})

	// The worker stops: no answer within -timeout, then a room.failed (stored here by
	// the test, as the worker would) is printed with exit status 1.
	w.Stop()
	<-w.Done
	t.Run("timeout", func(t *testing.T) {
		start := time.Now()
		got := runWith(t, env, "", "end", "-wait", "-timeout", "300ms", "end-timeout")
		if got.code != 2 || !strings.Contains(got.stderr, "roomctl end: no result for") || len(lines(got.stdout)) != 1 {
			t.Errorf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("waited %s for a 300ms timeout", d)
		}
	})

	t.Run("room.failed", func(t *testing.T) {
		done := make(chan result, 1)
		go func() { done <- runWith(t, env, "", "end", "-wait", "-timeout", "20s", "end-failed") }()
		stream, err := env.JS.Stream(context.Background(), env.Cfg.RequestStream)
		if err != nil {
			t.Fatal(err)
		}
		var req *jetstream.RawStreamMsg
		env.Eventually(10*time.Second, "the room.end request", func() bool {
			req, err = stream.GetLastMsgForSubject(context.Background(), env.Cfg.EndSubject)
			if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
				t.Fatal(err)
			}
			return err == nil && strings.Contains(string(req.Data), "end-failed")
		})
		ev, _, err := events.Decode(req.Header, req.Data)
		if err != nil {
			t.Fatal(err)
		}
		res, err := events.NewResult(ev, events.TypeRoomFailed, "roomworker", events.RoomFailed{RoomID: "end-failed",
			Reason: events.ReasonRejected, Message: "plugNmeet refused: no", Attempts: 1, PlugNmeetStatusCode: 400})
		if err != nil {
			t.Fatal(err)
		}
		// Another request's result first: end must wait for its own.
		other, _ := events.NewResultFor(events.Origin{Source: "roomctl", ID: "other"}, events.TypeRoomEnded, "roomworker",
			events.RoomEnded{RoomID: "end-failed"})
		for _, r := range []struct {
			ev      *event.Event
			subject string
		}{{other, env.Cfg.EndedSubject}, {res, env.Cfg.FailedSubject}} {
			h, body, err := events.EncodeBinary(r.ev)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := env.JS.PublishMsg(context.Background(), &nats.Msg{Subject: r.subject, Header: h, Data: body}); err != nil {
				t.Fatal(err)
			}
		}
		got := <-done
		out := lines(got.stdout)
		if got.code != 1 || len(out) != 2 || out[0] != ev.ID() || out[1] != "failed end-failed: rejected: plugNmeet refused: no" {
			t.Errorf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
	})
}

func TestEndStreams(t *testing.T) {
	env := testenv.New(t)
	got := runWith(t, env, "", "end", "r1")
	if got.code != 2 || got.stdout != "" || !strings.Contains(got.stderr, "stream ROOM_REQUESTS not found (roomworker creates it when it starts)") {
		t.Errorf("no stream: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	// A request stream made by a roomworker that does not handle room.end.
	if _, err := env.JS.CreateStream(context.Background(), jetstream.StreamConfig{Name: "ROOM_REQUESTS", Subjects: []string{"rooms.create"}}); err != nil {
		t.Fatal(err)
	}
	got = runWith(t, env, "", "end", "r1")
	if got.code != 2 || !strings.Contains(got.stderr, "stream ROOM_REQUESTS does not take END_SUBJECT rooms.end ([rooms.create]; a roomworker that handles room.end adds it when it starts)") {
		t.Errorf("stream without rooms.end: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
}
