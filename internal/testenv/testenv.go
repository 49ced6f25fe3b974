// Package testenv is the test harness shared by the worker's and the binaries' tests: a real
// NATS JetStream server in process, the plugNmeet stand-in over HTTP, workers, and helpers to
// publish requests and read results back from the events stream.
package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/jstest"
	"github.com/roomworker/roomworker/internal/tracing"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
	"github.com/roomworker/roomworker/worker"
)

const (
	APIKey    = "plugnmeet"
	APISecret = "worker-test-secret"
)

// env is one test's world: a real NATS JetStream server, the plugNmeet stand-in over HTTP, and
// any number of workers.
type Env struct {
	t       testing.TB
	NS      *server.Server
	NC      *nats.Conn
	JS      jetstream.JetStream
	Standin *plugnmeettest.Server
	Cfg     worker.Config
	Logs    *LogBuffer
	// BeforeRun, when set, is called with each worker StartWorker builds, before it runs.
	BeforeRun func(*worker.Worker)
	// Tracing, when set, is the workers' tracing (StartWorker's default plugNmeet client then
	// sends its calls through its HTTP transport).
	Tracing *tracing.Tracing
}

// New starts a test's world with the stand-in's default options (no webhooks, rooms that close
// 20 s after their last participant left).
func New(t testing.TB, tweak ...func(*worker.Config)) *Env {
	t.Helper()
	return NewWithStandin(t, plugnmeettest.Options{Seed: 1}, tweak...)
}

// NewWithStandin is New with the stand-in started with opts (its API key and secret, when
// empty, are APIKey and APISecret): a global WebhookURL, a short DepartureTimeout, a janitor...
func NewWithStandin(t testing.TB, opts plugnmeettest.Options, tweak ...func(*worker.Config)) *Env {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = APIKey
	}
	if opts.APISecret == "" {
		opts.APISecret = APISecret
	}
	ns := jstest.Server(t)

	standin := plugnmeettest.NewServer(opts)
	t.Cleanup(standin.Close)

	cfg, err := worker.LoadConfig(context.Background(), MapLookup(map[string]string{
		"NATS_URL":             ns.ClientURL(),
		"PLUGNMEET_URL":        standin.URL,
		"PLUGNMEET_API_KEY":    APIKey,
		"PLUGNMEET_API_SECRET": APISecret,
		"CONCURRENCY":          "16",
		"RETRY_BASE_DELAY":     "20ms",
		"RETRY_MAX_DELAY":      "200ms",
		"REQUEST_TIMEOUT":      "5s",
		"SHUTDOWN_TIMEOUT":     "5s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tweak {
		f(&cfg)
	}
	nc, js := jstest.Connect(t, ns)
	e := &Env{t: t, NS: ns, NC: nc, JS: js, Standin: standin, Cfg: cfg, Logs: &LogBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker logs (last 80 lines):\n%s", e.Logs.Tail(80))
		}
	})
	return e
}

func MapLookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// runningWorker is a worker started by a test, with its own NATS connection and registry.
type Worker struct {
	W    *worker.Worker
	Reg  *prometheus.Registry
	Stop context.CancelFunc
	Done chan struct{} // closed when Run returned
	Err  error         // what Run returned
}

// startWorker runs a worker until the test ends (or stop is called) and waits until it is ready.
func (e *Env) StartWorker(api worker.RoomAPI) *Worker {
	e.t.Helper()
	if api == nil {
		hc := plugnmeet.DefaultHTTPClient()
		hc.Transport = e.Tracing.Transport(hc.Transport)
		c, err := plugnmeet.New(plugnmeet.Config{URL: e.Standin.URL, APIKey: APIKey, APISecret: APISecret, HTTPClient: hc})
		if err != nil {
			e.t.Fatal(err)
		}
		api = c
	}
	nc, err := nats.Connect(e.NS.ClientURL())
	if err != nil {
		e.t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	log := slog.New(slog.NewTextHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w, err := worker.New(e.Cfg, worker.Deps{NC: nc, API: api, Logger: log, Metrics: worker.NewMetrics(reg),
		Tracing: e.Tracing})
	if err != nil {
		e.t.Fatal(err)
	}
	if e.BeforeRun != nil {
		e.BeforeRun(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rw := &Worker{W: w, Reg: reg, Stop: cancel, Done: make(chan struct{})}
	go func() { rw.Err = w.Run(ctx); close(rw.Done) }()
	e.t.Cleanup(func() {
		cancel()
		select {
		case <-rw.Done:
		case <-time.After(15 * time.Second):
			e.t.Error("worker did not stop within 15s")
		}
		nc.Close()
	})
	e.Eventually(10*time.Second, "worker ready", func() bool { return w.Ready() == nil })
	return rw
}

// request builds a create-room request body for roomID.
func Request(roomID string, extra ...string) []byte {
	features := `"allow_webcams":true,"mute_on_start":false,"allow_screen_share":true,"allow_rtmp":true,` +
		`"admin_only_webcams":false,"allow_view_other_webcams":true,"allow_view_other_users_list":true,` +
		`"recording_features":{"is_allow":true,"is_allow_cloud":true,"is_allow_local":true},` +
		`"chat_features":{"is_allow":true,"is_allow_file_upload":true},"shared_note_pad_features":{"is_allow":true},` +
		`"whiteboard_features":{"is_allow":true},"external_media_player_features":{"is_allow":true},` +
		`"waiting_room_features":{"is_active":false},"breakout_room_features":{"is_allow":true,"allowed_number_rooms":2},` +
		`"display_external_link_features":{"is_allow":true}`
	for _, x := range extra {
		features = strings.Replace(features, strings.Split(x, "=")[0], strings.Split(x, "=")[1], 1)
	}
	return []byte(`{"room_id":"` + roomID + `","metadata":{"room_title":"Room ` + roomID + `","room_features":{` + features + `}}}`)
}

// newEvent wraps data in a room.create CloudEvent.
func NewEvent(id string, data []byte) *event.Event {
	ev := event.New()
	if id == "" {
		id = uuid.NewString()
	}
	ev.SetID(id)
	ev.SetSource("worker-test")
	ev.SetType(events.TypeCreateRoom)
	if err := ev.SetData(event.ApplicationJSON, data); err != nil {
		panic(err)
	}
	return &ev
}

// publish sends a request event in binary mode (without Nats-Msg-Id, so copies stay copies).
func (e *Env) Publish(ev *event.Event) {
	e.t.Helper()
	h, body, err := events.EncodeBinary(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	e.PublishRaw(h, body)
}

func (e *Env) PublishStructured(ev *event.Event) {
	e.t.Helper()
	h, body, err := events.EncodeStructured(ev)
	if err != nil {
		e.t.Fatal(err)
	}
	e.PublishRaw(h, body)
}

func (e *Env) PublishRaw(h nats.Header, body []byte) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.JS.PublishMsg(ctx, &nats.Msg{Subject: e.Cfg.RequestSubject, Header: h, Data: body}); err != nil {
		e.t.Fatal(err)
	}
}

// result is a result event read back from ROOM_EVENTS.
type Result struct {
	Ev        *event.Event
	Subject   string // the NATS subject it was stored under
	MsgID     string // its Nats-Msg-Id
	Created   events.RoomCreated
	Ended     events.RoomEnded
	Scheduled events.RoomScheduled
	Cancelled events.RoomCancelled
	Failed    events.RoomFailed
}

func (r Result) RequestID() string { s, _ := r.Ev.Extensions()[events.ExtRequestID].(string); return s }

// stored is one CloudEvent read back from a stream.
type stored struct {
	ev  *event.Event
	seq uint64
	msg *jetstream.RawStreamMsg
}

// storedEvents reads every message of stream, in order, each decoded as a CloudEvent; what names
// the events in a failure. ok is false when the stream does not exist.
func (e *Env) storedEvents(stream, what string) (out []stored, ok bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := e.JS.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		ev, _, err := events.Decode(m.Header, m.Data)
		if err != nil {
			e.t.Fatalf("%s %d does not decode: %v", what, seq, err)
		}
		out = append(out, stored{ev: ev, seq: seq, msg: m})
	}
	return out, true
}

// results reads every result event stored in ROOM_EVENTS.
func (e *Env) Results() []Result {
	e.t.Helper()
	all, ok := e.storedEvents(e.Cfg.EventsStream, "result")
	if !ok {
		e.t.Fatalf("stream %s not found", e.Cfg.EventsStream)
	}
	var out []Result
	for _, st := range all {
		ev, m := st.ev, st.msg
		r := Result{Ev: ev, Subject: m.Subject, MsgID: m.Header.Get(jetstream.MsgIDHeader)}
		switch ev.Type() {
		case events.TypeRoomCreated:
			if err := json.Unmarshal(ev.Data(), &r.Created); err != nil {
				e.t.Fatal(err)
			}
		case events.TypeRoomFailed:
			if err := json.Unmarshal(ev.Data(), &r.Failed); err != nil {
				e.t.Fatal(err)
			}
		case events.TypeRoomEnded:
			if err := json.Unmarshal(ev.Data(), &r.Ended); err != nil {
				e.t.Fatal(err)
			}
		case events.TypeRoomScheduled:
			if err := json.Unmarshal(ev.Data(), &r.Scheduled); err != nil {
				e.t.Fatal(err)
			}
		case events.TypeRoomCancelled:
			if err := json.Unmarshal(ev.Data(), &r.Cancelled); err != nil {
				e.t.Fatal(err)
			}
		default:
			e.t.Fatalf("unexpected result type %q", ev.Type())
		}
		out = append(out, r)
	}
	return out
}

// waitResults waits until ROOM_EVENTS holds n results and returns them.
func (e *Env) WaitResults(n int, within time.Duration) []Result {
	e.t.Helper()
	var got []Result
	e.Eventually(within, fmt.Sprintf("%d results", n), func() bool {
		got = e.Results()
		return len(got) >= n
	})
	return got
}

func (e *Env) Eventually(within time.Duration, what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s\nworker logs (tail):\n%s", within, what, e.Logs.Tail(40))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// consumerInfo returns the durable consumer's state.
func (e *Env) ConsumerInfo() *jetstream.ConsumerInfo {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := e.JS.Consumer(ctx, e.Cfg.RequestStream, e.Cfg.Consumer)
	if err != nil {
		e.t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return info
}

// LogBuffer collects log output from several goroutines (or a child process) for a test.
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *LogBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if os.Getenv("WORKER_TEST_LOGS") != "" {
		_, _ = os.Stderr.Write(p)
	}
	return s.b.Write(p)
}

func (s *LogBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Tail returns the last n lines.
func (s *LogBuffer) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(s.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
