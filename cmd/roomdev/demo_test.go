package main

import (
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/worker"
)

func TestDemo(t *testing.T) {
	var out testenv.LogBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	err := run(ctx, []string{"-demo", "../../examples"}, testenv.MapLookup(map[string]string{}), &out, io.Discard)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("the demo took %s, want it under 20s", took.Round(time.Millisecond))
	}
	text := out.String()
	// demo-seed's lifecycle events are printed in the order plugNmeet sent them.
	last := -1
	for _, name := range []string{"room_created", "room_started", "participant_joined", "participant_left", "room_finished", "session_ended"} {
		i := strings.Index(text, "<- plugnmeet."+name+" ")
		if i < 0 || i < last {
			t.Errorf("plugnmeet.%s missing or out of order (at %d, the previous one at %d)", name, i, last)
		}
		last = i
	}
	for _, want := range []string{
		"room.created for create-room.json",
		"room.created for create-room.json             room_id=demo-seed",
		"duplicate=true",
		"warning: /metadata/room_features/allow_webcams requested false, plugNmeet applied true",
		"room.failed  for invalid-room-id.json",
		"reason=invalid_request",
		"/room_id: must not start with \"user_\"",
		// The lifecycle: alice joins and leaves demo-seed, plugNmeet's webhooks come back as events.
		"-- lifecycle of demo-seed",
		"<- plugnmeet.room_created         room=demo-seed sid=",
		"<- plugnmeet.room_started         room=demo-seed",
		"<- plugnmeet.participant_joined   room=demo-seed sid=",
		" user=alice\n",
		"<- plugnmeet.participant_left     room=demo-seed",
		" user=alice reason=CLIENT_INITIATED\n",
		"<- plugnmeet.room_finished        room=demo-seed",
		"<- plugnmeet.session_ended        room=demo-seed",
		// room.end for the next room.
		"-- room.end for demo-minimal",
		"<- plugnmeet.session_ended        room=demo-minimal",
		"<- room.ended   for room.end demo-minimal        room_id=demo-minimal already_ended=false attempts=1",
		// A booking 5s ahead, created CREATE_LEAD (1s in roomdev) before its start.
		"-- booking demo-booked: the meeting starts at ",
		"<- room.scheduled for demo-booked                  room_id=demo-booked create_at=",
		"<- room.created for demo-booked                  room_id=demo-booked sid=",
		"demo done: 5 created, 2 failed, 1 ended, 1 booked; ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q:\n%s", want, text)
		}
	}
	// On time: created within a second of its create_at, not before it.
	if m := regexp.MustCompile(`created (-?[0-9.]+m?s) after its create_at`).FindStringSubmatch(text); m == nil {
		t.Errorf("the demo does not say when the booking was created:\n%s", text)
	} else if late, err := time.ParseDuration(m[1]); err != nil || late < 0 || late > time.Second {
		t.Errorf("the booking was created %s after its create_at, want 0 to 1s", m[1])
	}
}

func TestDemoFailsWhenLifecycleEventsDoNotArrive(t *testing.T) {
	saved := demoBounds
	t.Cleanup(func() { demoBounds = saved })
	demoBounds.lifecycle = 3 * time.Second
	var out testenv.LogBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Every delivery about demo-seed (its metadata is over 1 KiB) is refused 413, which plugNmeet
	// does not retry: its lifecycle events never reach the stream.
	err := run(ctx, []string{"-demo", "../../examples"}, testenv.MapLookup(map[string]string{"WEBHOOK_MAX_BYTES": "1024"}), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "did not arrive within 3s") || !strings.Contains(err.Error(), "plugnmeet.room_started of demo-seed") {
		t.Fatalf("demo returned %v, want an error naming the lifecycle events that did not arrive\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "demo done") {
		t.Errorf("a failed demo printed its summary:\n%s", out.String())
	}
}

func TestWorkerErrorEndsTheDemo(t *testing.T) {
	boom := errors.New("worker: boom")
	old := runWorker
	t.Cleanup(func() { runWorker = old })
	runWorker = func(_ *worker.Worker, ctx context.Context) error {
		select {
		case <-time.After(200 * time.Millisecond):
			return boom
		case <-ctx.Done():
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-demo", "../../examples"}, testenv.MapLookup(map[string]string{}), io.Discard, io.Discard)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Fatalf("run returned %v, want the worker's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run still running 10s after the worker failed during the demo (the demo waits 60s for it)")
	}
}
