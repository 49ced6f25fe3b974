package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/worker"
)

// bookingEnv is a world whose worker books requests that start more than 1s ahead.
func bookingEnv(t *testing.T) *testenv.Env {
	t.Helper()
	env := testenv.New(t, func(c *worker.Config) { c.CreateLead = time.Second })
	env.StartWorker(nil)
	return env
}

// requestFile writes a valid create-room request for room and returns its path.
func requestFile(t *testing.T, room string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), room+".json")
	if err := os.WriteFile(file, testenv.Request(room), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// book publishes a booking for room starting at start (an -at TIME) and returns its event id.
func book(t *testing.T, env *testenv.Env, room, start string) string {
	t.Helper()
	got := runWith(t, env, "", "publish", "-at", start, "-wait", "-format", "text", requestFile(t, room))
	out := lines(got.stdout)
	if got.code != 0 || len(out) != 2 || !strings.Contains(out[1], " room.scheduled room="+room+" ") {
		t.Fatalf("publish -at %s %s: exit %d, stdout %q, stderr %q", start, room, got.code, got.stdout, got.stderr)
	}
	return out[0]
}

func TestPublishAt(t *testing.T) {
	env := bookingEnv(t)

	t.Run("booked, text", func(t *testing.T) {
		before := time.Now()
		got := runWith(t, env, "", "publish", "-at", "+5s", "-wait", "-format", "text", requestFile(t, "at-text"))
		out := lines(got.stdout)
		if got.code != 0 || got.stderr != "" || len(out) != 2 {
			t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
		want := regexp.MustCompile(`^\S+ room\.scheduled room=at-text request=` + out[0] + ` start=(\S+) create_at=(\S+)$`)
		m := want.FindStringSubmatch(out[1])
		if m == nil {
			t.Fatalf("line %q does not match %s", out[1], want)
		}
		start, _ := time.Parse(time.RFC3339Nano, m[1])
		createAt, _ := time.Parse(time.RFC3339Nano, m[2])
		if d := start.Sub(before); d < 5*time.Second || d > 6*time.Second {
			t.Errorf("start %s is %s after publishing, want +5s", m[1], d)
		}
		if d := start.Sub(createAt); d != time.Second {
			t.Errorf("create_at is %s before the start, want CREATE_LEAD (1s)", d)
		}
		if n := env.Standin.CreateCalls("at-text"); n != 0 {
			t.Errorf("%d create calls for a booking", n)
		}
	})

	t.Run("RFC 3339, wait for the creation", func(t *testing.T) {
		start := time.Now().Add(4 * time.Second).UTC().Truncate(time.Second).Add(time.Second)
		got := runWith(t, env, "", "publish", "-start", start.Format(time.RFC3339), "-wait-created", "-timeout", "10s",
			requestFile(t, "at-created"))
		out := lines(got.stdout)
		if got.code != 0 || len(out) != 3 {
			t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
		sched, sdata := resultLine(t, out[1])
		created, cdata := resultLine(t, out[2])
		if sched["type"] != events.TypeRoomScheduled || sched[events.ExtRequestID] != out[0] || sched[events.ExtStartTime] != nil ||
			sdata["start_time"] != start.Format(time.RFC3339) || sdata["create_at"] != start.Add(-time.Second).Format(time.RFC3339) {
			t.Errorf("first answer %s, want room.scheduled starting %s", out[1], start.Format(time.RFC3339))
		}
		if created["type"] != events.TypeRoomCreated || created[events.ExtRequestID] != out[0] || cdata["room_id"] != "at-created" {
			t.Errorf("second answer %s, want room.created answering %s", out[2], out[0])
		}
		if now := time.Now(); now.Before(start.Add(-time.Second)) {
			t.Errorf("returned at %s, before create_at", now.Format(time.RFC3339Nano))
		}
		if _, ok := env.Standin.ActiveRoom("at-created"); !ok {
			t.Error("the stand-in has no room at-created")
		}
	})

	t.Run("a near start creates at once", func(t *testing.T) {
		got := runWith(t, env, "", "publish", "-at", "+0s", "-wait-created", "-format", "text", requestFile(t, "at-now"))
		out := lines(got.stdout)
		if got.code != 0 || len(out) != 2 || !strings.Contains(out[1], " room.created room=at-now ") {
			t.Errorf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
	})

	t.Run("a replaced booking is never created", func(t *testing.T) {
		done := make(chan result, 1)
		file := requestFile(t, "at-moved")
		go func() {
			done <- runWith(t, env, "", "publish", "-at", "+3s", "-wait-created", "-timeout", "1s", "-format", "text", file)
		}()
		env.Eventually(5*time.Second, "the first booking", func() bool {
			for _, r := range env.Results() {
				if r.Ev.Type() == events.TypeRoomScheduled && r.Scheduled.RoomID == "at-moved" {
					return true
				}
			}
			return false
		})
		book(t, env, "at-moved", "+1h")
		got := <-done
		if got.code != 2 || len(lines(got.stdout)) != 2 || !strings.Contains(got.stderr, "roomctl publish: no room.created for") ||
			!strings.Contains(got.stderr, "replaced or cancelled") {
			t.Errorf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
	})

	t.Run("bad TIME", func(t *testing.T) {
		for _, at := range []string{"tomorrow", "-5m", "2026-03-02 09:00"} {
			got := runWith(t, env, "", "publish", "-at", at, requestFile(t, "at-bad"))
			if got.code != 2 || got.stdout != "" || !strings.Contains(got.stderr, "roomctl publish: invalid value") {
				t.Errorf("-at %q: exit %d, stdout %q, stderr %q", at, got.code, got.stdout, got.stderr)
			}
		}
	})
	env.CheckResultSchemas()
}

func TestSchedulesAndCancel(t *testing.T) {
	env := bookingEnv(t)
	later := book(t, env, "sched-later", "+2h")
	sooner := book(t, env, "sched-sooner", "+1h")

	got := runWith(t, env, "", "schedules")
	out := lines(got.stdout)
	if got.code != 0 || got.stderr != "" || len(out) != 3 {
		t.Fatalf("schedules: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	if f := strings.Fields(out[0]); strings.Join(f, " ") != "ROOM CREATE_AT START REQUEST" {
		t.Errorf("header %q", out[0])
	}
	for i, want := range []struct{ room, id string }{{"sched-sooner", sooner}, {"sched-later", later}} {
		f := strings.Fields(out[i+1])
		if len(f) != 4 || f[0] != want.room || f[3] != want.id {
			t.Errorf("row %d = %q, want %s with request %s (soonest first)", i+1, out[i+1], want.room, want.id)
			continue
		}
		createAt, err1 := time.Parse(time.RFC3339Nano, f[1])
		start, err2 := time.Parse(time.RFC3339Nano, f[2])
		if err1 != nil || err2 != nil || start.Sub(createAt) != time.Second {
			t.Errorf("row %q: create_at should be CREATE_LEAD (1s, the worker's, not roomctl's default) before the start", out[i+1])
		}
	}

	got = runWith(t, env, "", "schedules", "-room", "sched-later", "-format", "json")
	var b booking
	if got.code != 0 || len(lines(got.stdout)) != 1 || json.Unmarshal([]byte(got.stdout), &b) != nil ||
		b.RoomID != "sched-later" || b.RequestID != later || b.Source != "roomctl" || b.StartTime.Sub(b.CreateAt) != time.Second {
		t.Errorf("schedules -room -format json: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}

	t.Run("cancel a pending booking", func(t *testing.T) {
		got := runWith(t, env, "", "cancel", "sched-sooner", "--wait")
		out := lines(got.stdout)
		if got.code != 0 || got.stderr != "" || len(out) != 2 ||
			!regexp.MustCompile(`^cancelled sched-sooner booking=`+sooner+` start=\S+$`).MatchString(out[1]) {
			t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
		left := runWith(t, env, "", "schedules", "-format", "json")
		if n := len(lines(left.stdout)); left.code != 0 || n != 1 || !strings.Contains(left.stdout, `"sched-later"`) {
			t.Errorf("after the cancel, schedules shows %q", left.stdout)
		}
		// Again: nothing is pending and the room was never created.
		got = runWith(t, env, "", "cancel", "-wait", "sched-sooner")
		if out := lines(got.stdout); got.code != 1 || len(out) != 2 || !strings.HasPrefix(out[1], "not cancelled sched-sooner: never_scheduled: no booking is pending") {
			t.Errorf("second cancel: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
	})

	t.Run("cancel a created room, json", func(t *testing.T) {
		createRoom(t, env, "sched-live")
		got := runWith(t, env, "", "cancel", "-wait", "-format", "json", "sched-live")
		out := lines(got.stdout)
		if got.code != 1 || len(out) != 2 {
			t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
		ev, data := resultLine(t, out[1])
		if ev["type"] != events.TypeRoomCancelled || ev[events.ExtRequestID] != out[0] || data["state"] != events.CancelCreated ||
			data["cancelled"] != false || !strings.Contains(data["message"].(string), "room.end") {
			t.Errorf("result %s", out[1])
		}
		if _, ok := env.Standin.ActiveRoom("sched-live"); !ok {
			t.Error("cancel ended a live room")
		}
	})

	t.Run("watch shows bookings and cancellations", func(t *testing.T) {
		got := runWith(t, env, "", "watch", "-since", "1m", "-n", "4", "-format", "text", "-type", "room.scheduled,room.cancelled")
		out := lines(got.stdout)
		if got.code != 0 || len(out) != 4 {
			t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
		for i, want := range []string{
			" room.scheduled room=sched-later request=" + later + " start=",
			" room.scheduled room=sched-sooner request=" + sooner + " start=",
			" room.cancelled room=sched-sooner request=",
			" room.cancelled room=sched-sooner request=",
		} {
			if !strings.Contains(out[i], want) {
				t.Errorf("line %d = %q, want it to contain %q", i, out[i], want)
			}
		}
		if !strings.Contains(out[2], " state=cancelled booking="+sooner+" start=") || !strings.Contains(out[3], " state=never_scheduled: ") {
			t.Errorf("cancelled lines:\n%s\n%s", out[2], out[3])
		}
		// Unfiltered, the booking results are there too.
		start := time.Now()
		all := runWith(t, env, "", "watch", "-since", "1m", "-n", "6", "-format", "text")
		if all.code != 0 || strings.Count(all.stdout, " room.scheduled ") != 2 || strings.Count(all.stdout, " room.cancelled ") != 3 ||
			strings.Count(all.stdout, " room.created ") != 1 || time.Since(start) > 20*time.Second {
			t.Errorf("watch: exit %d, stdout %q, stderr %q", all.code, all.stdout, all.stderr)
		}
	})

	t.Run("invalid ROOM_ID is not published", func(t *testing.T) {
		before := lastSeq(t, env, env.Cfg.RequestStream)
		for room, want := range map[string]string{
			"a b":    `roomctl cancel: invalid room_id "a b": must only contain ASCII letters, digits, '-' or '_'`,
			"user_x": `roomctl cancel: invalid room_id "user_x": must not start with "user_"`,
			"":       `roomctl cancel: invalid room_id "": is empty`,
		} {
			got := runWith(t, env, "", "cancel", "-wait", room)
			if got.code != 2 || got.stdout != "" || !strings.Contains(got.stderr, want) {
				t.Errorf("cancel %q: exit %d, stdout %q, stderr %q, want 2 and %q", room, got.code, got.stdout, got.stderr, want)
			}
		}
		for _, args := range [][]string{{"cancel"}, {"cancel", "a", "b"}, {"schedules", "extra"}, {"schedules", "-room", "a.b"}} {
			if got := runWith(t, env, "", args...); got.code != 2 || !strings.Contains(got.stderr, "for usage") {
				t.Errorf("%q: exit %d, stderr %q", args, got.code, got.stderr)
			}
		}
		if after := lastSeq(t, env, env.Cfg.RequestStream); after != before {
			t.Errorf("something was published: last sequence %d, was %d", after, before)
		}
	})
	env.CheckResultSchemas()
}

func TestCancelWithoutWorker(t *testing.T) {
	env := testenv.New(t)
	got := runWith(t, env, "", "cancel", "r1")
	if got.code != 2 || !strings.Contains(got.stderr, "stream ROOM_REQUESTS not found (roomworker creates it when it starts)") {
		t.Errorf("no stream: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	if got := runWith(t, env, "", "schedules"); got.code != 2 || !strings.Contains(got.stderr, "stream ROOM_REQUESTS not found") {
		t.Errorf("schedules without a stream: exit %d, stderr %q", got.code, got.stderr)
	}
	// A request stream made by a roomworker that does not handle room.cancel.
	if _, err := env.JS.CreateStream(context.Background(), jetstream.StreamConfig{Name: "ROOM_REQUESTS", Subjects: []string{"rooms.create", "rooms.end"}}); err != nil {
		t.Fatal(err)
	}
	got = runWith(t, env, "", "cancel", "r1")
	if got.code != 2 || !strings.Contains(got.stderr, "stream ROOM_REQUESTS does not take CANCEL_SUBJECT rooms.cancel ([rooms.create rooms.end]; a roomworker that handles room.cancel adds it when it starts)") {
		t.Errorf("stream without rooms.cancel: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	// ... and has no bookings.
	if got := runWith(t, env, "", "schedules", "-format", "json"); got.code != 0 || got.stdout != "" || got.stderr != "" {
		t.Errorf("schedules on a stream without schedule subjects: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}

	// The worker made the streams, then stopped: nobody answers.
	env2 := testenv.New(t)
	w := env2.StartWorker(nil)
	w.Stop()
	<-w.Done
	got = runWith(t, env2, "", "cancel", "-wait", "-timeout", "300ms", "r1")
	if got.code != 2 || len(lines(got.stdout)) != 1 || !strings.Contains(got.stderr, "roomctl cancel: no result for") {
		t.Errorf("timeout: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
}
