package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
)

// publishLifecycle stores a lifecycle event as roomworker's webhook receiver does: binary
// mode, type plugnmeet.<event>, subject room_id, the delivery body as data, Nats-Msg-Id from
// the delivery id, on LIFECYCLE_SUBJECT_PREFIX.<event>.
func publishLifecycle(t *testing.T, env *testenv.Env, name, id, room, body string, reconciled bool) {
	t.Helper()
	ev := event.New()
	ev.SetID(id)
	ev.SetSource("https://meet.example.com")
	ev.SetType(events.TypeLifecyclePrefix + name)
	ev.SetSubject(room)
	ev.SetTime(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	if reconciled {
		ev.SetExtension(events.ExtReconciled, true)
	}
	if err := ev.SetData(event.ApplicationJSON, []byte(body)); err != nil {
		t.Fatal(err)
	}
	h, data, err := events.EncodeBinary(&ev)
	if err != nil {
		t.Fatal(err)
	}
	_, err = env.JS.PublishMsg(context.Background(), &nats.Msg{Subject: env.Cfg.Webhook.SubjectPrefix + "." + name, Header: h, Data: data},
		jetstream.WithMsgID("plugnmeet-webhook:"+id))
	if err != nil {
		t.Fatal(err)
	}
}

// delivery bodies, shaped like plugNmeet v2.4.0's (shortened; room.metadata decoded).
func body(name, id, room string, extra string) string {
	return fmt.Sprintf(`{"event":%q,"room":{"sid":"S-%s","room_id":%q,"metadata":{"room_title":"T"}}%s,"id":%q,"created_at":"1772442000"}`,
		name, room, room, extra, id)
}

func TestWatchLifecycle(t *testing.T) {
	env := testenv.New(t)
	env.StartWorker(nil)

	// A live watch started before the lifecycle stream exists (no webhook yet).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuilder
	done := make(chan int)
	vars := map[string]string{"NATS_URL": env.NS.ClientURL()}
	go func() {
		done <- run(ctx, []string{"watch", "-format", "text"}, nil, &stdout, &stderr, func(k string) string { return vars[k] })
	}()
	time.Sleep(300 * time.Millisecond) // let watch open its feeds
	// The worker may have made the lifecycle stream already; else the first webhook would.
	if _, err := env.JS.Stream(context.Background(), env.Cfg.Webhook.Stream); errors.Is(err, jetstream.ErrStreamNotFound) {
		if _, err := env.JS.CreateStream(context.Background(), jetstream.StreamConfig{Name: env.Cfg.Webhook.Stream,
			Subjects: []string{env.Cfg.Webhook.SubjectPrefix + ".>"}, Duplicates: time.Minute}); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}

	const room = "lc-room"
	publishLifecycle(t, env, "room_created", "u-1", room, body("room_created", "u-1", room, ""), false)
	createRoom(t, env, room)
	publishLifecycle(t, env, "participant_joined", "EV_2", room, body("participant_joined", "EV_2", room,
		`,"participant":{"sid":"PA_1","identity":"alice","name":"Alice A","state":"ACTIVE"}`), false)
	publishLifecycle(t, env, "track_published", "EV_3", room, body("track_published", "EV_3", room,
		`,"participant":{"sid":"PA_1","identity":"alice"},"track":{"sid":"TR_1","name":"microphone","source":"MICROPHONE"}`), false)
	// The copy plugNmeet sends to the per-room URL is stored once.
	publishLifecycle(t, env, "track_published", "EV_3", room, body("track_published", "EV_3", room, ""), false)
	publishLifecycle(t, env, "participant_left", "EV_4", room, body("participant_left", "EV_4", room,
		`,"participant":{"sid":"PA_1","identity":"alice","disconnect_reason":"CLIENT_INITIATED"}`), false)
	if got := runWith(t, env, "", "end", "-wait", room); got.code != 0 {
		t.Fatalf("end: exit %d, %s%s", got.code, got.stdout, got.stderr)
	}
	publishLifecycle(t, env, "session_ended", "u-5", room, body("session_ended", "u-5", room, ""), true)
	publishLifecycle(t, env, "artifact_created", "u-6", room, body("artifact_created", "u-6", room,
		`,"room_artifact":{"type":"MEETING_ANALYTICS","artifact_id":"A-1"}`), false)
	publishLifecycle(t, env, "participant_joined", "EV_7", "other-room", body("participant_joined", "EV_7", "other-room",
		`,"participant":{"sid":"PA_9","identity":"bob name"}`), false)

	const ts = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ `
	want := []string{
		`2026-03-02T09:00:00Z plugnmeet.room_created room=lc-room sid=S-lc-room id=u-1`,
		ts + `room.created room=lc-room request=\S+ sid=\S+ attempts=1 duplicate=false warnings=\d+`,
		`2026-03-02T09:00:00Z plugnmeet.participant_joined room=lc-room sid=S-lc-room participant=alice id=EV_2`,
		`2026-03-02T09:00:00Z plugnmeet.track_published room=lc-room sid=S-lc-room participant=alice track=TR_1 source=MICROPHONE id=EV_3`,
		`2026-03-02T09:00:00Z plugnmeet.participant_left room=lc-room sid=S-lc-room participant=alice reason=CLIENT_INITIATED id=EV_4`,
		ts + `room.ended room=lc-room request=\S+ already_ended=false attempts=1`,
		`2026-03-02T09:00:00Z plugnmeet.session_ended room=lc-room sid=S-lc-room reconciled=true id=u-5`,
		`2026-03-02T09:00:00Z plugnmeet.artifact_created room=lc-room sid=S-lc-room artifact=MEETING_ANALYTICS artifact_id=A-1 id=u-6`,
		`2026-03-02T09:00:00Z plugnmeet.participant_joined room=other-room sid=S-other-room participant="bob name" id=EV_7`,
	}
	match := func(t *testing.T, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("got %d lines, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
			return
		}
		for i := range want {
			if !regexp.MustCompile("^"+strings.ReplaceAll(want[i], ".", `\.`)+"$").MatchString(got[i]) &&
				!regexp.MustCompile("^"+want[i]+"$").MatchString(got[i]) {
				t.Errorf("line %d = %q, want it to match %q", i, got[i], want[i])
			}
		}
	}

	// The live watch found the lifecycle stream and saw everything once (the order of
	// two streams' live events may differ from their storing order by the poll delay).
	env.Eventually(10*time.Second, "the live watch to show all events", func() bool {
		return strings.Count(stdout.String(), "\n") >= len(want)
	})
	time.Sleep(200 * time.Millisecond)
	cancel()
	if code := <-done; code != 0 || stderr.String() != "" {
		t.Errorf("interrupted watch: exit %d, stderr %q", code, stderr.String())
	}
	live := lines(stdout.String())
	if len(live) != len(want) {
		t.Errorf("live watch printed %d lines, want %d:\n%s", len(live), len(want), stdout.String())
	}
	for _, w := range want {
		re := regexp.MustCompile("^" + w + "$")
		n := 0
		for _, l := range live {
			if re.MatchString(l) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("live watch printed %d lines matching %q, want 1:\n%s", n, w, stdout.String())
		}
	}

	t.Run("since: both streams, oldest first", func(t *testing.T) {
		got := runWith(t, env, "", "watch", "-since", "1h", "-format", "text", "-n", fmt.Sprint(len(want)))
		if got.code != 0 || got.stderr != "" {
			t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
		}
		match(t, lines(got.stdout), want...)
	})

	t.Run("type and room filters", func(t *testing.T) {
		got := runWith(t, env, "", "watch", "-since", "1h", "-format", "text", "-n", "3",
			"-type", "plugnmeet.participant_joined,room.ended", "--type", "plugnmeet.session_ended")
		match(t, lines(got.stdout), want[2], want[5], want[6])
		got = runWith(t, env, "", "watch", "-since", "1h", "-format", "text", "-n", "1",
			"-type", "plugnmeet.participant_joined", "-room", "other-room")
		match(t, lines(got.stdout), want[8])
		got = runWith(t, env, "", "watch", "-since", "1h", "-format", "text", "-n", "2", "-type", "room.created", "-type", "room.ended")
		match(t, lines(got.stdout), want[1], want[5])
		got = runWith(t, env, "", "watch", "-since", "1h", "-format", "text", "-n", "2", "-room", room, "-type", "plugnmeet.track_published,plugnmeet.artifact_created")
		match(t, lines(got.stdout), want[3], want[7])
	})

	t.Run("json", func(t *testing.T) {
		got := runWith(t, env, "", "watch", "-since", "1h", "-n", "1", "-type", "plugnmeet.session_ended")
		var ev map[string]any
		if err := json.Unmarshal([]byte(got.stdout), &ev); err != nil || got.code != 0 {
			t.Fatalf("exit %d, %q (%v)", got.code, got.stdout, err)
		}
		data, _ := ev["data"].(map[string]any)
		r, _ := data["room"].(map[string]any)
		md, _ := r["metadata"].(map[string]any)
		if ev["type"] != "plugnmeet.session_ended" || ev["id"] != "u-5" || ev["subject"] != room || ev["source"] != "https://meet.example.com" ||
			fmt.Sprint(ev[events.ExtReconciled]) != "true" || md["room_title"] != "T" || data["event"] != "session_ended" {
			t.Errorf("raw event = %s", got.stdout)
		}
	})

	t.Run("usage", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"watch", "-type", "room.create"}, `"room.create" is not a type watch shows (room.created, room.ended, room.scheduled, room.cancelled, room.failed or plugnmeet.<event>)`},
			{[]string{"watch", "-type", "plugnmeet."}, `"plugnmeet." is not a type watch shows`},
			{[]string{"watch", "-type", "plugnmeet.a>"}, `"plugnmeet.a>" is not a type watch shows`},
			{[]string{"watch", "-type", "room.ended,"}, "empty type"},
			{[]string{"watch", "-n", "-1"}, "-n must not be negative"},
		} {
			got := runWith(t, env, "", tc.args...)
			if got.code != 2 || got.stdout != "" || !strings.Contains(got.stderr, tc.want) {
				t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, got.code, got.stderr, tc.want)
			}
		}
	})
	env.CheckResultSchemas()
}

// With only lifecycle types asked for, watch does not need the events stream, and waits for
// the lifecycle stream.
func TestWatchLifecycleOnly(t *testing.T) {
	env := testenv.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuilder
	done := make(chan int)
	vars := map[string]string{"NATS_URL": env.NS.ClientURL()}
	go func() {
		done <- run(ctx, []string{"watch", "-format", "text", "-type", "plugnmeet.room_started", "-n", "1"}, nil, &stdout, &stderr,
			func(k string) string { return vars[k] })
	}()
	// The stream must appear after watch looked for it (had it been there, watch would read only
	// what is stored after it started, which may be after these events): give watch time to start.
	time.Sleep(2 * time.Second)
	if _, err := env.JS.CreateStream(context.Background(), jetstream.StreamConfig{Name: env.Cfg.Webhook.Stream,
		Subjects: []string{env.Cfg.Webhook.SubjectPrefix + ".>"}}); err != nil {
		t.Fatal(err)
	}
	publishLifecycle(t, env, "room_created", "u-1", "r1", body("room_created", "u-1", "r1", ""), false)
	publishLifecycle(t, env, "room_started", "EV_2", "r1", body("room_started", "EV_2", "r1", ""), false)
	select {
	case code := <-done:
		if want := "2026-03-02T09:00:00Z plugnmeet.room_started room=r1 sid=S-r1 id=EV_2\n"; code != 0 || stdout.String() != want || stderr.String() != "" {
			t.Errorf("exit %d, stdout %q, stderr %q, want %q", code, stdout.String(), stderr.String(), want)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("watch did not print the event; stdout %q, stderr %q", stdout.String(), stderr.String())
	}

	// Without -type the events stream is needed.
	got := runWith(t, env, "", "watch")
	if got.code != 2 || !strings.Contains(got.stderr, "stream ROOM_EVENTS not found") {
		t.Errorf("no events stream: exit %d, stderr %q", got.code, got.stderr)
	}
}
