package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
	"github.com/roomworker/roomworker/worker"
)

// runWith runs roomctl against env's NATS server.
func runWith(t *testing.T, env *testenv.Env, stdin string, args ...string) result {
	t.Helper()
	vars := map[string]string{"NATS_URL": env.NS.ClientURL()}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr strings.Builder
	code := run(ctx, args, strings.NewReader(stdin), &stdout, &stderr, func(k string) string { return vars[k] })
	return result{code, stdout.String(), stderr.String()}
}

// lastSeq is the last sequence number of a stream (0: nothing was ever stored).
func lastSeq(t *testing.T, env *testenv.Env, stream string) uint64 {
	t.Helper()
	s, err := env.JS.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.LastSeq
}

// exampleFiles copies the named examples into a fresh working directory.
func exampleFiles(t *testing.T, names ...string) {
	t.Helper()
	files := map[string][]byte{}
	for _, n := range names {
		files[n] = readExample(t, n)
	}
	workdir(t, files)
}

// resultLine decodes a result printed in the JSON event format.
func resultLine(t *testing.T, line string) (ev map[string]any, data map[string]any) {
	t.Helper()
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("result line %q: %v", line, err)
	}
	data, _ = ev["data"].(map[string]any)
	return ev, data
}

func TestPublishWait(t *testing.T) {
	env := testenv.New(t)
	env.StartWorker(nil)
	minimal := readExample(t, "minimal.json")
	exampleFiles(t, "create-room.json", "invalid-three-errors.json")

	t.Run("created", func(t *testing.T) {
		got := runWith(t, env, "", "publish", "-wait", "-timeout", "20s", "create-room.json")
		if got.code != 0 || got.stderr != "" {
			t.Fatalf("exit %d, stderr %q", got.code, got.stderr)
		}
		lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
		if len(lines) != 2 {
			t.Fatalf("stdout = %q, want the event id and the result", got.stdout)
		}
		id := lines[0]
		if _, err := uuid.Parse(id); err != nil {
			t.Errorf("first line %q is not a fresh UUID event id", id)
		}
		ev, data := resultLine(t, lines[1])
		info, ok := env.Standin.ActiveRoom("demo-seed")
		if !ok {
			t.Fatal("the stand-in has no active room demo-seed")
		}
		if ev["type"] != events.TypeRoomCreated || ev[events.ExtRequestID] != id || ev["subject"] != "demo-seed" ||
			data["room_id"] != "demo-seed" || data["sid"] != info.SID || data["duplicate"] != false {
			t.Errorf("result = %s, want room.created for demo-seed with sid %s answering %s", lines[1], info.SID, id)
		}

		// status shows the record the worker wrote for this request.
		st := runWith(t, env, "", "status", "demo-seed")
		if st.code != 0 || !strings.Contains(st.stdout, "state:      created\n") ||
			!strings.Contains(st.stdout, "sid:        "+info.SID+"\n") || !strings.Contains(st.stdout, "request_id: "+id+"\n") {
			t.Errorf("status: exit %d\n%s%s", st.code, st.stdout, st.stderr)
		}
	})

	t.Run("structured, from stdin, text", func(t *testing.T) {
		got := runWith(t, env, string(minimal), "publish", "-structured", "-source", "urn:test:cli",
			"-wait", "-format", "text", "-")
		lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
		if got.code != 0 || len(lines) != 2 {
			t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
		want := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ room\.created room=demo-minimal request=` + lines[0] +
			` sid=\S+ attempts=1 duplicate=false warnings=\d+$`)
		if !want.MatchString(lines[1]) {
			t.Errorf("text result %q does not match %s", lines[1], want)
		}
	})

	t.Run("same id twice", func(t *testing.T) {
		id := uuid.NewString()
		first := runWith(t, env, "", "publish", "-id", id, "-wait", "create-room.json")
		before := lastSeq(t, env, env.Cfg.RequestStream)
		again := runWith(t, env, "", "publish", "-id", id, "-wait", "create-room.json")
		if first.code != 0 || again.code != 0 {
			t.Fatalf("exit %d then %d (stderr %q, %q)", first.code, again.code, first.stderr, again.stderr)
		}
		if !strings.Contains(again.stderr, "already held an event with id "+id) {
			t.Errorf("second publish stderr = %q, want a duplicate notice", again.stderr)
		}
		if got := lastSeq(t, env, env.Cfg.RequestStream); got != before {
			t.Errorf("the copy was stored: last sequence %d, was %d", got, before)
		}
		if first.stdout != again.stdout {
			t.Errorf("the copy printed a different result:\n%s\n%s", first.stdout, again.stdout)
		}
	})

	t.Run("invalid file is not published", func(t *testing.T) {
		before := lastSeq(t, env, env.Cfg.RequestStream)
		got := runWith(t, env, "", "publish", "-wait", "invalid-three-errors.json")
		want := "invalid-three-errors.json: /max_participants: must be at least 1\n" +
			"invalid-three-errors.json: /metadata/room_title: is required\n" +
			"invalid-three-errors.json: /metadata/webhook_url: must be an absolute http:// or https:// URL\n" +
			"roomctl publish: not published: invalid-three-errors.json is not a valid create-room request (-no-validate sends it anyway)\n"
		if got.code != 1 || got.stdout != "" || got.stderr != want {
			t.Errorf("exit %d\nstdout %q\nstderr:\n%s\nwant:\n%s", got.code, got.stdout, got.stderr, want)
		}
		if after := lastSeq(t, env, env.Cfg.RequestStream); after != before {
			t.Errorf("something was published: last sequence %d, was %d", after, before)
		}
	})

	t.Run("invalid file with -no-validate fails in the worker", func(t *testing.T) {
		got := runWith(t, env, "", "publish", "-no-validate", "-wait", "invalid-three-errors.json")
		lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
		if got.code != 1 || len(lines) != 2 {
			t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
		ev, data := resultLine(t, lines[1])
		if ev["type"] != events.TypeRoomFailed || data["reason"] != string(events.ReasonInvalidRequest) || len(data["errors"].([]any)) != 3 {
			t.Errorf("result = %s", lines[1])
		}
	})

	if n := env.CheckResultSchemas(); n != 4 {
		t.Errorf("checked %d results against the result schemas, want 4 (one per stored request)", n)
	}
}

func TestPublishErrors(t *testing.T) {
	env := testenv.New(t)
	exampleFiles(t, "minimal.json")

	// No worker has run: the request stream does not exist.
	got := runWith(t, env, "", "publish", "minimal.json")
	if got.code != 2 || got.stdout != "" || !strings.Contains(got.stderr, "stream ROOM_REQUESTS not found (roomworker creates it when it starts)") {
		t.Errorf("no stream: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}

	// The worker made the streams, then stopped: nobody answers.
	w := env.StartWorker(nil)
	w.Stop()
	<-w.Done
	start := time.Now()
	got = runWith(t, env, "", "publish", "-wait", "-timeout", "300ms", "minimal.json")
	if got.code != 2 || !strings.Contains(got.stderr, "no result for") || strings.Count(got.stdout, "\n") != 1 {
		t.Errorf("timeout: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("waited %s for a 300ms timeout", d)
	}
	if n := lastSeq(t, env, env.Cfg.RequestStream); n != 1 {
		t.Errorf("request stream last sequence %d, want 1", n)
	}

	// Unreachable NATS and usage errors.
	unreachable := func(k string) string {
		if k == "NATS_URL" {
			return "nats://127.0.0.1:1"
		}
		return ""
	}
	var stdout, stderr strings.Builder
	code := run(context.Background(), []string{"status", "r1"}, nil, &stdout, &stderr, unreachable)
	if code != 2 || !strings.Contains(stderr.String(), "connect to NATS at nats://127.0.0.1:1 (NATS_URL)") {
		t.Errorf("unreachable: exit %d, stderr %q", code, stderr.String())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"publish"}, "roomctl publish: no FILE given"},
		{[]string{"publish", "a", "b"}, "one FILE at a time, got 2"},
		{[]string{"publish", "-format", "yaml", "a"}, "-format must be json or text"},
		{[]string{"publish", "-timeout", "0s", "a"}, "-timeout must be positive"},
		{[]string{"publish", "missing.json"}, "roomctl publish: open missing.json: no such file or directory"},
		{[]string{"watch", "x"}, `roomctl watch: unexpected argument "x"`},
		{[]string{"watch", "-since", "-1s"}, "-since must not be negative"},
		{[]string{"status"}, "roomctl status: no ROOM_ID given"},
		{[]string{"status", "a b"}, `"a b" is not a room_id`},
		{[]string{"replay"}, "roomctl replay: -reason is required"},
		{[]string{"replay", "-reason", "invalid_request"}, `-reason must be retries_exhausted or rejected, got "invalid_request"`},
	} {
		got := runWith(t, env, "", tc.args...)
		if got.code != 2 || !strings.Contains(got.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, got.code, got.stderr, tc.want)
		}
	}
}

func TestWatchAndStatus(t *testing.T) {
	env := testenv.New(t)
	env.StartWorker(nil)
	exampleFiles(t, "minimal.json", "no-webcams.json")

	got := runWith(t, env, "", "status", "demo-minimal")
	want := "roomctl status: no record for room demo-minimal: roomworker has not created it, or the record expired (IDEMPOTENCY_WINDOW)\n"
	if got.code != 1 || got.stdout != "" || got.stderr != want {
		t.Errorf("status before: exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
	}
	var ids []string
	for _, f := range []string{"minimal.json", "no-webcams.json"} {
		got := runWith(t, env, "", "publish", "-wait", f)
		if got.code != 0 {
			t.Fatalf("publish %s: exit %d, stderr %q", f, got.code, got.stderr)
		}
		ids = append(ids, strings.SplitN(got.stdout, "\n", 2)[0])
	}

	got = runWith(t, env, "", "watch", "-since", "1h", "-n", "2", "-format", "text")
	lines := strings.Split(strings.TrimSpace(got.stdout), "\n")
	if got.code != 0 || len(lines) != 2 || !strings.Contains(lines[0], "room.created room=demo-minimal request="+ids[0]) ||
		!strings.Contains(lines[1], "room.created room=demo-no-webcams request="+ids[1]) {
		t.Errorf("watch -since: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}
	got = runWith(t, env, "", "watch", "-since", "1h", "-room", "demo-no-webcams", "-n", "1")
	if ev, _ := resultLine(t, strings.TrimSpace(got.stdout)); got.code != 0 || ev["subject"] != "demo-no-webcams" {
		t.Errorf("watch -room: exit %d\n%s%s", got.code, got.stdout, got.stderr)
	}

	// Live: watch started before the request prints its result, then stops
	// when interrupted.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuilder
	done := make(chan int)
	vars := map[string]string{"NATS_URL": env.NS.ClientURL()}
	go func() {
		done <- run(ctx, []string{"watch", "-format", "text"}, nil, &stdout, &stderr, func(k string) string { return vars[k] })
	}()
	room := "live-" + uuid.NewString()[:8]
	env.Eventually(10*time.Second, "watch subscribed", func() bool {
		// Publish until watch shows it: watch only sees results stored after it started.
		env.Publish(testenv.NewEvent("", testenv.Request(room)))
		time.Sleep(200 * time.Millisecond)
		return strings.Contains(stdout.String(), "room="+room)
	})
	cancel()
	if code := <-done; code != 0 || stderr.String() != "" {
		t.Errorf("interrupted watch: exit %d, stderr %q", code, stderr.String())
	}

	got = runWith(t, env, "", "status", "-format", "json", "demo-minimal")
	var rec worker.Record
	if err := json.Unmarshal([]byte(got.stdout), &rec); got.code != 0 || err != nil || rec.State != worker.StateCreated || rec.RequestID != ids[0] {
		t.Errorf("status -format json: exit %d, %q (%v)", got.code, got.stdout, err)
	}
	env.CheckResultSchemas()
}

func TestReplay(t *testing.T) {
	env := testenv.New(t, func(c *worker.Config) {
		c.RequestRetain = "limits"
		c.MaxAttempts = 2
		c.MaxDeliver = 5
	})
	w := env.StartWorker(nil)
	dir := t.TempDir()
	t.Chdir(dir)
	for _, room := range []string{"replay-a", "replay-b", "replay-ok"} {
		if err := os.WriteFile(filepath.Join(dir, room+".json"), testenv.Request(room), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// plugNmeet is down: two requests fail for good after their attempts.
	env.Standin.SetFaults(plugnmeettest.Faults{Error5xxRate: 1})
	failedIDs := map[string]string{}
	for _, room := range []string{"replay-a", "replay-b"} {
		got := runWith(t, env, "", "publish", "-wait", "-format", "text", room+".json")
		if got.code != 1 || !strings.Contains(got.stdout, "reason=retries_exhausted") {
			t.Fatalf("publish %s during the outage: exit %d\n%s%s", room, got.code, got.stdout, got.stderr)
		}
		failedIDs[room] = strings.SplitN(got.stdout, "\n", 2)[0]
	}
	env.Standin.SetFaults(plugnmeettest.Faults{})
	if got := runWith(t, env, "", "publish", "-wait", "replay-ok.json"); got.code != 0 {
		t.Fatalf("publish after the outage: exit %d, %s", got.code, got.stderr)
	}
	requests := func() uint64 { return lastSeq(t, env, env.Cfg.RequestStream) }
	if n := requests(); n != 3 {
		t.Fatalf("%d requests stored, want 3", n)
	}

	replay := func(args ...string) result {
		t.Helper()
		return runWith(t, env, "", append([]string{"replay", "-reason", "retries_exhausted"}, args...)...)
	}
	lineFor := func(verb, room, suffix string) string {
		id := failedIDs[room]
		failed := events.ResultID(events.Origin{Source: "roomctl", ID: id}, events.TypeRoomFailed)
		return verb + " " + room + " request " + id + " as " + replayID(failed) + suffix + "\n"
	}

	got := replay("-dry-run")
	want := lineFor("would republish", "replay-a", "") + lineFor("would republish", "replay-b", "") +
		"2 retries_exhausted failures: 2 to republish, 0 already replayed, 0 not found\n"
	if got.code != 0 || got.stdout != want || got.stderr != "" {
		t.Errorf("dry run: exit %d\n%s%s\nwant:\n%s", got.code, got.stdout, got.stderr, want)
	}
	if n := requests(); n != 3 {
		t.Errorf("the dry run published: %d requests stored", n)
	}

	// With the worker stopped, the replays stay pending.
	w.Stop()
	<-w.Done
	got = replay()
	want = lineFor("republished", "replay-a", "") + lineFor("republished", "replay-b", "") +
		"2 retries_exhausted failures: 2 republished, 0 already replayed, 0 not found\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("replay: exit %d\n%s%s\nwant:\n%s", got.code, got.stdout, got.stderr, want)
	}
	if n := requests(); n != 5 {
		t.Errorf("%d requests stored after the replay, want 5", n)
	}
	got = replay()
	want = lineFor("already replayed", "replay-a", " (pending)") + lineFor("already replayed", "replay-b", " (pending)") +
		"2 retries_exhausted failures: 0 republished, 2 already replayed, 0 not found\n"
	if got.code != 0 || got.stdout != want {
		t.Errorf("second replay while pending: exit %d\n%s%s\nwant:\n%s", got.code, got.stdout, got.stderr, want)
	}
	if n := requests(); n != 5 {
		t.Errorf("the second replay published: %d requests stored", n)
	}

	// The worker comes back and creates both rooms from the copies.
	env.StartWorker(nil)
	results := env.WaitResults(5, 20*time.Second)
	replayed := map[string]bool{}
	for _, r := range results[3:] {
		if r.Ev.Type() != events.TypeRoomCreated {
			t.Errorf("replayed request ended in %s: %s", r.Ev.Type(), r.Ev.Data())
			continue
		}
		replayed[r.Created.RoomID] = true
	}
	if !replayed["replay-a"] || !replayed["replay-b"] || len(results) != 5 {
		t.Errorf("results after the replay: %d, created rooms %v", len(results), replayed)
	}
	got = replay()
	want = lineFor("already replayed", "replay-a", " (created)") + lineFor("already replayed", "replay-b", " (created)") +
		"2 retries_exhausted failures: 0 republished, 2 already replayed, 0 not found\n"
	if got.code != 0 || got.stdout != want || requests() != 5 {
		t.Errorf("replay after success: exit %d, %d requests\n%s%s\nwant:\n%s", got.code, requests(), got.stdout, got.stderr, want)
	}
	if got := runWith(t, env, "", "replay", "-reason", "rejected"); got.code != 0 ||
		got.stdout != "0 rejected failures: 0 republished, 0 already replayed, 0 not found\n" {
		t.Errorf("replay -reason rejected: exit %d, %q", got.code, got.stdout)
	}
	env.CheckResultSchemas()
}

// syncBuilder is a strings.Builder safe for concurrent use.
type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
