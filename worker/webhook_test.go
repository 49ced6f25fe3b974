package worker_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/jstest"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/schema"
	"github.com/roomworker/roomworker/worker"
)

// The recorded deliveries were signed by a real plugNmeet with these (a throwaway local secret).
const (
	recordedKey    = "plugnmeet"
	recordedSecret = "8ebf61f49bc8ed15b868f3b712a995ddce12"
	recordedDir    = "../plugnmeet/testdata/webhooks" // a copy of ../shared/plugnmeet-recorded/webhooks
)

// recorded is one delivery a real plugNmeet v2.4.0 made (see the README beside the files).
type recorded struct {
	File    string
	At      float64           `json:"at"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func (d recorded) time() time.Time {
	sec, frac := math.Modf(d.At)
	return time.Unix(int64(sec), int64(frac*1e9))
}

func (d recorded) fields(t *testing.T) (event, id, roomID, sid, createdAt string) {
	t.Helper()
	var b struct {
		Event     string `json:"event"`
		ID        string `json:"id"`
		CreatedAt string `json:"created_at"`
		Room      struct {
			RoomID string `json:"room_id"`
			SID    string `json:"sid"`
		} `json:"room"`
	}
	if err := json.Unmarshal([]byte(d.Body), &b); err != nil {
		t.Fatalf("%s: %v", d.File, err)
	}
	return b.Event, b.ID, b.Room.RoomID, b.Room.SID, b.CreatedAt
}

func loadRecorded(t testing.TB) []recorded {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(recordedDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recorded webhooks in %s (%v)", recordedDir, err)
	}
	slices.Sort(files)
	var out []recorded
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := recorded{File: filepath.Base(f)}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, d)
	}
	return out
}

func recordedFile(t testing.TB, name string) recorded {
	t.Helper()
	for _, d := range loadRecorded(t) {
		if d.File == name {
			return d
		}
	}
	t.Fatalf("no recorded delivery %s", name)
	return recorded{}
}

// clock is the receiver's time, set by the test to the delivery's own time: the recorded tokens
// expired five minutes after plugNmeet signed them.
type clock struct{ ns atomic.Int64 }

func (c *clock) set(t time.Time) { c.ns.Store(t.UnixNano()) }
func (c *clock) now() time.Time  { return time.Unix(0, c.ns.Load()) }

// hookEnv is a worker with its webhook receiver served over HTTP.
type hookEnv struct {
	*testenv.Env
	W     *testenv.Worker
	Reg   *prometheus.Registry
	Clock *clock
	URL   string // the receiver's base URL
}

func newHookEnv(t *testing.T, tweak ...func(*worker.Config)) *hookEnv {
	t.Helper()
	e := testenv.New(t, tweak...)
	rw := e.StartWorker(nil)
	h := &hookEnv{Env: e, W: rw, Reg: prometheus.NewRegistry(), Clock: &clock{}}
	h.Clock.set(time.Now())
	v := plugnmeet.WebhookVerifier{APIKey: recordedKey, APISecret: recordedSecret, Leeway: e.Cfg.Webhook.Leeway, Now: h.Clock.now}
	srv := httptest.NewServer(rw.W.WebhookHandler(v, worker.NewLifecycleMetrics(h.Reg)))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

// post sends body with the token in both headers, as plugNmeet does (an empty token: none).
func (h *hookEnv) post(t *testing.T, token string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+worker.WebhookPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Go-http-client/1.1")
	if token != "" {
		req.Header.Set("Authorization", token)
		req.Header.Set("Hash-Token", token)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// deliver replays a recorded delivery at its own time.
func (h *hookEnv) deliver(t *testing.T, d recorded) (int, string) {
	t.Helper()
	h.Clock.set(d.time())
	if d.Headers["Authorization"] != d.Headers["Hash-Token"] {
		t.Fatalf("%s: Authorization and Hash-Token differ", d.File)
	}
	return h.post(t, d.Headers["Authorization"], []byte(d.Body))
}

// signed signs body now, with the recorded key and secret.
func (h *hookEnv) signed(t *testing.T, body string) (string, []byte) {
	t.Helper()
	tok, err := plugnmeet.SignWebhook(recordedKey, recordedSecret, []byte(body), h.Clock.now())
	if err != nil {
		t.Fatal(err)
	}
	return tok, []byte(body)
}

func (h *hookEnv) lifecycleStream(t *testing.T) jetstream.Stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := h.JS.Stream(ctx, h.Cfg.Webhook.Stream)
	if err != nil {
		t.Fatalf("lifecycle stream %s: %v", h.Cfg.Webhook.Stream, err)
	}
	return s
}

func (h *hookEnv) provision(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.W.W.ProvisionLifecycle(ctx); err != nil {
		t.Fatal(err)
	}
}

// stored returns every message in the lifecycle stream.
func (h *hookEnv) stored(t *testing.T) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := h.lifecycleStream(t)
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("message %d: %v", seq, err)
		}
		out = append(out, m)
	}
	return out
}

func (h *hookEnv) verdicts(t *testing.T) map[string]float64 {
	t.Helper()
	return labelValues(t, h.Reg, "roomworker_webhooks_received_total", "verdict")
}

func labelValues(t *testing.T, reg *prometheus.Registry, name, label string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					out[lp.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

// wantData is what the event data must mean: the body with room.metadata decoded.
func wantData(t *testing.T, body string) any {
	t.Helper()
	v := decodeJSON(t, []byte(body))
	if room, ok := v.(map[string]any)["room"].(map[string]any); ok {
		if s, ok := room["metadata"].(string); ok {
			var md any
			dec := json.NewDecoder(strings.NewReader(s))
			dec.UseNumber()
			if dec.Decode(&md) == nil {
				if _, isObject := md.(map[string]any); isObject {
					room["metadata"] = md
				}
			}
		}
	}
	return v
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	if dec.More() {
		t.Fatalf("trailing data after JSON:\n%s", b)
	}
	return v
}

func TestWebhookRecordedDeliveriesBecomeLifecycleEvents(t *testing.T) {
	h := newHookEnv(t)
	all := loadRecorded(t)
	if len(all) != 160 {
		t.Fatalf("%d recorded deliveries, want 160", len(all))
	}
	seqOf := map[string]uint64{} // delivery id -> stream sequence of its event
	for _, d := range all {
		t.Run(strings.TrimSuffix(d.File, ".json"), func(t *testing.T) {
			code, body := h.deliver(t, d)
			if code != http.StatusNoContent {
				t.Fatalf("answered %d %q, want 204", code, body)
			}
			event, id, roomID, _, createdAt := d.fields(t)
			info, err := h.lifecycleStream(t).Info(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, seen := seqOf[id]; !seen {
				seqOf[id] = info.State.LastSeq
			}
			if info.State.Msgs != uint64(len(seqOf)) {
				t.Fatalf("the stream holds %d events after %d distinct delivery ids: a copy or retry was stored again, or a delivery not at all",
					info.State.Msgs, len(seqOf))
			}

			m, err := h.lifecycleStream(t).GetMsg(context.Background(), seqOf[id])
			if err != nil {
				t.Fatal(err)
			}
			if want := h.Cfg.Webhook.SubjectPrefix + "." + event; m.Subject != want {
				t.Errorf("subject %q, want %q", m.Subject, want)
			}
			if got, want := m.Header.Get(jetstream.MsgIDHeader), worker.WebhookMsgIDPrefix+id; got != want {
				t.Errorf("Nats-Msg-Id %q, want %q", got, want)
			}
			if ct := m.Header.Get("ce-datacontenttype"); ct != "application/json" {
				t.Errorf("ce-datacontenttype %q (binary mode expected)", ct)
			}
			ev, mode, err := events.Decode(m.Header, m.Data)
			if err != nil {
				t.Fatalf("stored event does not decode: %v", err)
			}
			if mode != events.ModeBinary {
				t.Errorf("content mode %s, want binary", mode)
			}
			var sec int64
			if _, err := fmt.Sscan(createdAt, &sec); err != nil {
				t.Fatalf("created_at %q: %v", createdAt, err)
			}
			checks := []struct{ what, got, want string }{
				{"specversion", ev.SpecVersion(), "1.0"},
				{"id", ev.ID(), id},
				{"source", ev.Source(), h.Cfg.PlugNmeet.URL},
				{"type", ev.Type(), "plugnmeet." + event},
				{"subject", ev.Subject(), roomID},
				{"time", ev.Time().UTC().Format(time.RFC3339Nano), time.Unix(sec, 0).UTC().Format(time.RFC3339Nano)},
				{"datacontenttype", ev.DataContentType(), "application/json"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s %q, want %q", c.what, c.got, c.want)
				}
			}
			if err := schema.ValidateLifecycleEvent(ev.Data()); err != nil {
				t.Errorf("the event data breaks schema/lifecycle-event.schema.json: %v", err)
			}
			if got, want := decodeJSON(t, ev.Data()), wantData(t, d.Body); !reflect.DeepEqual(got, want) {
				t.Errorf("data differs from the body with metadata decoded:\n got %s\nbody %s", ev.Data(), d.Body)
			}
			if _, ok := decodeJSON(t, ev.Data()).(map[string]any)["room"].(map[string]any)["metadata"].(map[string]any); strings.Contains(d.Body, `"metadata":"{`) && !ok {
				t.Errorf("room.metadata was not decoded into an object:\n%s", ev.Data())
			}
		})
	}
	if n := len(h.stored(t)); n != 83 {
		t.Errorf("lifecycle stream holds %d events, want 83 (one per distinct delivery id)", n)
	}
	if got := h.verdicts(t); got["published"] != 160 || got["unverified"] != 0 || got["malformed"] != 0 {
		t.Errorf("verdicts %v, want 160 published and nothing else", got)
	}
	published := labelValues(t, h.Reg, "roomworker_lifecycle_events_published_total", "event")
	var sum float64
	for _, v := range published {
		sum += v
	}
	if sum != 83 || published["other"] != 0 || published["room_finished"] == 0 {
		t.Errorf("lifecycle events published %v: want 83 in all, none under other", published)
	}

	// The handler provisioned the stream on first need, as the contract says.
	cfg := h.lifecycleStream(t).CachedInfo().Config
	if !slices.Equal(cfg.Subjects, []string{"rooms.lifecycle.>"}) || cfg.Retention != jetstream.LimitsPolicy ||
		cfg.Storage != jetstream.FileStorage || cfg.Duplicates != 10*time.Minute || cfg.MaxAge != h.Cfg.EventsMaxAge {
		t.Errorf("lifecycle stream config: subjects %v retention %v storage %v duplicates %v max age %v",
			cfg.Subjects, cfg.Retention, cfg.Storage, cfg.Duplicates, cfg.MaxAge)
	}
}

func TestWebhookTamperedDeliveriesAreRefusedAndNothingIsPublished(t *testing.T) {
	h := newHookEnv(t)
	h.provision(t)
	d := recordedFile(t, "A21-room_finished-global.json")
	other := recordedFile(t, "A23-session_ended-global.json")
	token := d.Headers["Authorization"]
	at := d.time()

	flipped := []byte(d.Body)
	i := bytes.Index(flipped, []byte("hookrec-A-1"))
	flipped[i] = 'H'

	wrongSecret, err := plugnmeet.SignWebhook(recordedKey, "not-the-secret", []byte(d.Body), at)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := plugnmeet.SignWebhook(recordedKey, recordedSecret, []byte(d.Body), at.Add(-plugnmeet.WebhookTokenTTL-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	wrongIssuer, err := plugnmeet.SignWebhook("someone-else", recordedSecret, []byte(d.Body), at)
	if err != nil {
		t.Fatal(err)
	}
	// alg none: the recorded claims, an unsigned token.
	claims := strings.Split(token, ".")[1]
	algNone := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + claims + "."

	cases := []struct {
		name   string
		token  string
		body   []byte
		reason string
	}{
		{"one body byte changed", token, flipped, "body_hash_mismatch"},
		{"wrong secret", wrongSecret, []byte(d.Body), "bad_signature"},
		{"alg none", algNone, []byte(d.Body), "bad_algorithm"},
		{"expired token", expired, []byte(d.Body), "expired"},
		{"token for another body", other.Headers["Authorization"], []byte(d.Body), "body_hash_mismatch"},
		{"missing header", "", []byte(d.Body), "missing_token"},
		{"wrong issuer", wrongIssuer, []byte(d.Body), "wrong_issuer"},
		{"garbage token", "not.a.jwt", []byte(d.Body), "malformed_token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.Clock.set(at)
			code, body := h.post(t, c.token, c.body)
			if code != http.StatusUnauthorized {
				t.Fatalf("answered %d %q, want 401", code, body)
			}
			if strings.Contains(body, recordedSecret) || (c.token != "" && strings.Contains(body, c.token)) {
				t.Errorf("the answer shows the secret or the token: %q", body)
			}
			if got := labelValues(t, h.Reg, "roomworker_webhooks_unverified_total", "reason")[c.reason]; got == 0 {
				t.Errorf("roomworker_webhooks_unverified_total{reason=%q} not counted", c.reason)
			}
		})
	}
	if n := len(h.stored(t)); n != 0 {
		t.Errorf("the lifecycle stream holds %d events after refused deliveries, want 0", n)
	}
	if got := h.verdicts(t); got["unverified"] != float64(len(cases)) || got["published"] != 0 {
		t.Errorf("verdicts %v, want %d unverified", got, len(cases))
	}
	logs := h.Logs.String()
	if strings.Contains(logs, recordedSecret) || strings.Contains(logs, token) || strings.Contains(logs, wrongSecret) {
		t.Error("the log shows a token or the secret")
	}
	if n := strings.Count(logs, "webhook refused: not verified"); n != len(cases) {
		t.Errorf("%d WARN lines for %d refused deliveries, want one each", n, len(cases))
	}
}

func TestWebhookVerifiedButUnusableDeliveriesAre400(t *testing.T) {
	h := newHookEnv(t)
	h.provision(t)
	cases := []struct{ name, body string }{
		{"not JSON", `room_started`},
		{"JSON array", `[{"event":"room_started","id":"x"}]`},
		{"no event", `{"id":"EV_1","room":{"room_id":"r1"}}`},
		{"empty event", `{"event":"","id":"EV_1"}`},
		{"no id", `{"event":"room_started","room":{"room_id":"r1"}}`},
		{"event with a dot", `{"event":"room.started","id":"EV_2"}`},
		{"event with a wildcard", `{"event":"room_*","id":"EV_3"}`},
		{"event with a space", `{"event":"room started","id":"EV_4"}`},
		{"event not ASCII", `{"event":"raum_geöffnet","id":"EV_5"}`},
		{"event too long", `{"event":"` + strings.Repeat("a", 65) + `","id":"EV_6"}`},
		{"id with a newline", `{"event":"room_started","id":"EV_7\r\nNats-Msg-Id: x"}`},
		{"created_at not a time", `{"event":"room_started","id":"EV_8","created_at":"yesterday"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := h.post(t, firstOf(h.signed(t, c.body)), []byte(c.body))
			if code != http.StatusBadRequest {
				t.Fatalf("answered %d %q, want 400", code, body)
			}
		})
	}
	if n := len(h.stored(t)); n != 0 {
		t.Errorf("the lifecycle stream holds %d events, want 0", n)
	}
	if got := h.verdicts(t); got["malformed"] != float64(len(cases)) {
		t.Errorf("verdicts %v, want %d malformed", got, len(cases))
	}
}

func firstOf(tok string, _ []byte) string { return tok }

func TestWebhookEventNamesAndData(t *testing.T) {
	h := newHookEnv(t)
	cases := []struct {
		name, body    string
		subject, typ  string
		wantData      string // exact bytes
		metric        string
		wantCESubject bool
	}{
		{
			name:     "metadata decoded, every other byte kept, nothing HTML-escaped",
			body:     `{"event":"room_started","room":{"room_id":"r<1>&2","metadata":"{\"t\":\"a&b <c>\", \"n\": 1.50,\"u\":\"\\u00e9\"}","sid":"s1"},"id":"EV_data1","created_at":"1796058315","x":[1, 2.0e3]}`,
			subject:  "rooms.lifecycle.room_started",
			typ:      "plugnmeet.room_started",
			wantData: `{"event":"room_started","room":{"room_id":"r<1>&2","metadata":{"t":"a&b <c>","n":1.50,"u":"\u00e9"},"sid":"s1"},"id":"EV_data1","created_at":"1796058315","x":[1, 2.0e3]}`,
			metric:   "room_started", wantCESubject: true,
		},
		{
			name:     "metadata that is not JSON stays a string",
			body:     `{"event":"room_created","id":"EV_data2","room":{"room_id":"r2","metadata":"not json {"}}`,
			subject:  "rooms.lifecycle.room_created",
			typ:      "plugnmeet.room_created",
			wantData: `{"event":"room_created","id":"EV_data2","room":{"room_id":"r2","metadata":"not json {"}}`,
			metric:   "room_created", wantCESubject: true,
		},
		{
			name:     "metadata that is JSON but not an object stays a string",
			body:     `{"event":"room_created","id":"EV_data3","room":{"room_id":"r3","metadata":"[1,2]"}}`,
			subject:  "rooms.lifecycle.room_created",
			typ:      "plugnmeet.room_created",
			wantData: `{"event":"room_created","id":"EV_data3","room":{"room_id":"r3","metadata":"[1,2]"}}`,
			metric:   "room_created", wantCESubject: true,
		},
		{
			name:     "unknown event, upper case, no room: published without subject, counted as other",
			body:     `{"event":"Recording_Started","id":"9d0b1d55-1b7e-4a53-8a39-6c2b1f3f0001"}`,
			subject:  "rooms.lifecycle.recording_started",
			typ:      "plugnmeet.recording_started",
			wantData: `{"event":"Recording_Started","id":"9d0b1d55-1b7e-4a53-8a39-6c2b1f3f0001"}`,
			metric:   "other",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := labelValues(t, h.Reg, "roomworker_lifecycle_events_published_total", "event")[c.metric]
			tok, body := h.signed(t, c.body)
			if code, msg := h.post(t, tok, body); code != http.StatusNoContent {
				t.Fatalf("answered %d %q, want 204", code, msg)
			}
			all := h.stored(t)
			m := all[len(all)-1]
			if m.Subject != c.subject {
				t.Errorf("subject %q, want %q", m.Subject, c.subject)
			}
			ev, _, err := events.Decode(m.Header, m.Data)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type() != c.typ {
				t.Errorf("type %q, want %q", ev.Type(), c.typ)
			}
			if _, has := m.Header["ce-subject"]; has != c.wantCESubject {
				t.Errorf("ce-subject present: %v, want %v (%q)", has, c.wantCESubject, ev.Subject())
			}
			if _, has := m.Header["ce-time"]; has != strings.Contains(c.body, "created_at") {
				t.Errorf("ce-time present: %v for body %s", has, c.body)
			}
			if string(ev.Data()) != c.wantData {
				t.Errorf("data\n got %s\nwant %s", ev.Data(), c.wantData)
			}
			after := labelValues(t, h.Reg, "roomworker_lifecycle_events_published_total", "event")[c.metric]
			if after != before+1 {
				t.Errorf("roomworker_lifecycle_events_published_total{event=%q} went %v -> %v, want +1", c.metric, before, after)
			}
		})
	}
}

func TestWebhookRoutesAndLimits(t *testing.T) {
	h := newHookEnv(t, func(c *worker.Config) { c.Webhook.MaxBytes = 4096 })
	h.provision(t)
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/webhook", http.StatusMethodNotAllowed},
		{http.MethodPut, "/webhook", http.StatusMethodNotAllowed},
		{http.MethodPost, "/", http.StatusNotFound},
		{http.MethodPost, "/webhook/x", http.StatusNotFound},
		{http.MethodGet, "/metrics", http.StatusNotFound},
	} {
		req, _ := http.NewRequest(c.method, h.URL+c.path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}

	// Over WEBHOOK_MAX_BYTES, even signed: 413 without reading further.
	big := `{"event":"room_started","id":"EV_big","pad":"` + strings.Repeat("x", 5000) + `"}`
	if code, body := h.post(t, firstOf(h.signed(t, big)), []byte(big)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a %d-byte body: %d %q, want 413", len(big), code, body)
	}
	if n := len(h.stored(t)); n != 0 {
		t.Errorf("the lifecycle stream holds %d events, want 0", n)
	}
	if got := h.verdicts(t); got["too_large"] != 1 {
		t.Errorf("verdicts %v, want one too_large", got)
	}
}

func TestWebhookMarksTheRecordedRoomEnded(t *testing.T) {
	h := newHookEnv(t)
	ctx := context.Background()
	kv, err := h.JS.KeyValue(ctx, h.Cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	const sidA = "de3a3024-fc2f-4391-b9a2-bc2cc85c4cde" // hookrec-A-1's session in the recordings
	cases := []struct {
		file      string
		roomID    string
		recordSID string
		wantState string
	}{
		{"A21-room_finished-global.json", "hookrec-A-1", sidA, worker.StateEnded},
		{"A23-session_ended-global.json", "hookrec-A-1", sidA, worker.StateEnded},
		{"A24-session_ended-room.json", "hookrec-A-1", "another-session", worker.StateCreated}, // a newer session is recorded
		{"A03-room_started-global.json", "hookrec-A-1", sidA, worker.StateCreated},             // not an end
		{"D03-session_ended-global.json", "hookrec-A-1", sidA, worker.StateCreated},            // another room's end
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			rec := worker.Record{State: worker.StateCreated, RoomID: c.roomID, RequestID: "req-1", RequestKey: "k1",
				SID: c.recordSID, At: time.Now().UTC()}
			b, _ := json.Marshal(rec)
			if _, err := kv.Put(ctx, worker.RoomKey(c.roomID), b); err != nil {
				t.Fatal(err)
			}
			if code, body := h.deliver(t, recordedFile(t, c.file)); code != http.StatusNoContent {
				t.Fatalf("answered %d %q, want 204", code, body)
			}
			e, err := kv.Get(ctx, worker.RoomKey(c.roomID))
			if err != nil {
				t.Fatal(err)
			}
			var got worker.Record
			if err := json.Unmarshal(e.Value(), &got); err != nil {
				t.Fatal(err)
			}
			if got.State != c.wantState || got.SID != c.recordSID {
				t.Errorf("record state %q sid %q, want %q %q", got.State, got.SID, c.wantState, c.recordSID)
			}
			if (c.wantState == worker.StateEnded) == got.EndedAt.IsZero() {
				t.Errorf("ended_at %v with state %q", got.EndedAt, got.State)
			}
		})
	}
}

func TestWebhookAnswers503WhileNATSIsDownAndStoresTheRetryOnce(t *testing.T) {
	const wait = time.Second
	h := newHookEnv(t, func(c *worker.Config) { c.Webhook.PublishWait = wait })
	h.provision(t)
	d := recordedFile(t, "R06-participant_joined-room-http500.json")
	_, id, _, _, _ := d.fields(t)

	port, storeDir := jstest.Address(h.NS)
	h.NS.Shutdown()
	h.NS.WaitForShutdown()
	h.Eventually(5*time.Second, "the test's connection noticing", func() bool { return !h.NC.IsConnected() })
	time.Sleep(100 * time.Millisecond)

	start := time.Now()
	code, body := h.deliver(t, d)
	took := time.Since(start)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("with NATS down: %d %q, want 503", code, body)
	}
	if took < wait-50*time.Millisecond || took > wait+700*time.Millisecond {
		t.Errorf("503 after %v, want about WEBHOOK_PUBLISH_WAIT (%v), within plugNmeet's ~3s", took, wait)
	}
	if got := h.verdicts(t); got["publish_failed"] != 1 {
		t.Errorf("verdicts %v, want one publish_failed", got)
	}

	jstest.Start(t, port, storeDir)
	h.Eventually(15*time.Second, "the worker reconnected", func() bool { return h.W.W.Ready() == nil && h.NC.IsConnected() })
	time.Sleep(200 * time.Millisecond)
	if n := len(h.stored(t)); n != 0 {
		t.Fatalf("the delivery answered 503 was stored anyway (%d events): it was half-published", n)
	}

	// plugNmeet's retries: the same bytes, 1 s and 2 s later.
	h.Clock.set(d.time().Add(time.Second))
	if code, body := h.deliver(t, d); code != http.StatusNoContent {
		t.Fatalf("the retry with NATS back: %d %q, want 204", code, body)
	}
	h.Clock.set(d.time().Add(3 * time.Second))
	if code, body := h.deliver(t, d); code != http.StatusNoContent {
		t.Fatalf("a second retry: %d %q, want 204", code, body)
	}
	got := h.stored(t)
	if len(got) != 1 || got[0].Header.Get("ce-id") != id {
		t.Fatalf("%d events stored, want the delivery once", len(got))
	}
	if v := h.verdicts(t); v["published"] != 2 || v["publish_failed"] != 1 {
		t.Errorf("verdicts %v, want 2 published, 1 publish_failed", v)
	}
}

func TestWebhookLifecycleStreamIsProvisionedAsConfigured(t *testing.T) {
	h := newHookEnv(t, func(c *worker.Config) {
		c.Webhook.Stream = "LIFE"
		c.Webhook.SubjectPrefix = "x.life"
		c.EventsMaxAge = time.Hour
	})
	h.provision(t)
	h.provision(t) // idempotent
	cfg := h.lifecycleStream(t).CachedInfo().Config
	if cfg.Name != "LIFE" || !slices.Equal(cfg.Subjects, []string{"x.life.>"}) || cfg.MaxAge != time.Hour ||
		cfg.Duplicates != 10*time.Minute || cfg.Retention != jetstream.LimitsPolicy || cfg.Replicas != 1 {
		t.Errorf("stream config %+v", cfg)
	}
	tok, body := h.signed(t, `{"event":"room_created","id":"EV_cfg","room":{"room_id":"r"}}`)
	if code, msg := h.post(t, tok, body); code != http.StatusNoContent {
		t.Fatalf("%d %q", code, msg)
	}
	if m := h.stored(t); len(m) != 1 || m[0].Subject != "x.life.room_created" {
		t.Errorf("stored %d events, want one on x.life.room_created", len(m))
	}
}

// FuzzWebhookHandler: whatever the body and token, the receiver never panics, never answers 2xx
// to a delivery the verifier refuses, and a verified delivery it answers 2xx for is stored as a
// valid CloudEvent (NATS is up: 503 is a failure too). With sign set, the fuzzed body is signed correctly, to reach the code after
// verification.
func FuzzWebhookHandler(f *testing.F) {
	ns := jstest.Server(f)
	cfg, err := worker.LoadConfig(context.Background(), testenv.MapLookup(map[string]string{
		"NATS_URL": ns.ClientURL(), "PLUGNMEET_URL": "http://plugnmeet.invalid", "PLUGNMEET_API_KEY": recordedKey,
		"PLUGNMEET_API_SECRET": recordedSecret, "WEBHOOK_MAX_BYTES": "65536",
	}))
	if err != nil {
		f.Fatal(err)
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(nc.Close)
	api, err := plugnmeet.New(plugnmeet.Config{URL: cfg.PlugNmeet.URL, APIKey: recordedKey, APISecret: recordedSecret})
	if err != nil {
		f.Fatal(err)
	}
	w, err := worker.New(cfg, worker.Deps{NC: nc, API: api, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	// The stream first: without it, the subscription below would be the only responder.
	pctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.ProvisionLifecycle(pctx); err != nil {
		f.Fatal(err)
	}
	sub, err := nc.SubscribeSync(cfg.Webhook.SubjectPrefix + ".>")
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1796058316, 0)
	v := plugnmeet.WebhookVerifier{APIKey: recordedKey, APISecret: recordedSecret, Leeway: 30 * time.Second, Now: func() time.Time { return now }}
	handler := w.WebhookHandler(v, nil)

	for _, d := range loadRecorded(f)[:12] {
		f.Add([]byte(d.Body), d.Headers["Authorization"], false)
		f.Add([]byte(d.Body), "", true)
	}
	f.Add([]byte(`{"event":"room_started","id":"x","room":{"room_id":"r","metadata":"{\"a\":1}"}}`), "", true)
	f.Add([]byte(`{"event":"Room.Started","id":"x"}`), "", true)
	f.Add([]byte(`{"event":"room_started","id":"x","room":{"metadata":"{\"a\":"}}`), "", true)
	f.Add([]byte(`{"room":{"metadata":"{}","metadata":"{\"b\":[]}"},"event":"e","id":"i","room":{"metadata":"{\"c\":{}}"}}`), "", true)
	f.Add([]byte(`{}`), "eyJhbGciOiJub25lIn0.e30.", false)

	f.Fuzz(func(t *testing.T, body []byte, token string, sign bool) {
		if sign {
			tok, err := plugnmeet.SignWebhook(recordedKey, recordedSecret, body, now)
			if err != nil {
				t.Fatal(err)
			}
			token = tok
		}
		hdr := http.Header{}
		if token != "" && !strings.ContainsAny(token, "\r\n\x00") {
			hdr.Set("Authorization", token)
		}
		wh, verr := v.Verify(hdr, body)

		req := httptest.NewRequest(http.MethodPost, worker.WebhookPath, bytes.NewReader(body))
		req.Header = hdr
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		code := rec.Code

		switch code {
		case http.StatusNoContent, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default: // 503 included: NATS is up
			t.Fatalf("answered %d %q", code, rec.Body)
		}
		if code/100 == 2 && verr != nil {
			t.Fatalf("answered %d to a delivery the verifier refuses: %v", code, verr)
		}
		if verr != nil && code != http.StatusUnauthorized && code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge {
			t.Fatalf("answered %d to a refused delivery (%v), want 401 or 400", code, verr)
		}
		if code != http.StatusNoContent {
			return
		}
		m, err := sub.NextMsg(2 * time.Second)
		if err != nil {
			t.Fatalf("answered 204 but nothing was published: %v", err)
		}
		ev, _, err := events.Decode(m.Header, m.Data)
		if err != nil {
			t.Fatalf("published event does not decode: %v", err)
		}
		if ev.ID() != wh.ID || ev.Type() != "plugnmeet."+strings.ToLower(wh.Event) || !json.Valid(ev.Data()) {
			t.Fatalf("published id %q type %q valid data %v; delivery id %q event %q", ev.ID(), ev.Type(), json.Valid(ev.Data()), wh.ID, wh.Event)
		}
	})
}

// The whole loop with the plugNmeet stand-in, which signs and sends webhooks like the real
// server: a room created through the worker reports room_created to its metadata.webhook_url (the
// receiver); endRoom makes it send session_ended and room_finished, and the room's record says
// its session ended.
func TestWebhookFromTheStandinEndsTheRecordedRoom(t *testing.T) {
	e := testenv.New(t)
	rw := e.StartWorker(nil)
	reg := prometheus.NewRegistry()
	v := plugnmeet.WebhookVerifier{APIKey: testenv.APIKey, APISecret: testenv.APISecret, Leeway: e.Cfg.Webhook.Leeway}
	srv := httptest.NewServer(rw.W.WebhookHandler(v, worker.NewLifecycleMetrics(reg)))
	t.Cleanup(srv.Close)

	const room = "hooked-room"
	req := strings.Replace(string(testenv.Request(room)), `"metadata":{`, `"metadata":{"webhook_url":"`+srv.URL+worker.WebhookPath+`",`, 1)
	e.Publish(testenv.NewEvent("", []byte(req)))
	res := e.WaitResults(1, 10*time.Second)
	if res[0].Ev.Type() != events.TypeRoomCreated {
		t.Fatalf("result %s: %+v", res[0].Ev.Type(), res[0].Failed)
	}
	sid := res[0].Created.SID

	ctx := context.Background()
	kv, err := e.JS.KeyValue(ctx, e.Cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	record := func() worker.Record {
		var r worker.Record
		if en, err := kv.Get(ctx, worker.RoomKey(room)); err == nil {
			_ = json.Unmarshal(en.Value(), &r)
		}
		return r
	}
	published := func(event string) bool {
		return labelValues(t, reg, "roomworker_lifecycle_events_published_total", "event")[event] == 1
	}
	e.Eventually(10*time.Second, "room_created stored", func() bool { return published("room_created") })
	if r := record(); r.SID != sid || r.State != worker.StateCreated {
		t.Fatalf("record before the end: %+v", r)
	}

	api, err := plugnmeet.New(plugnmeet.Config{URL: e.Standin.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.EndRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	e.Eventually(15*time.Second, "session_ended stored and the record marked ended", func() bool {
		r := record()
		return published("session_ended") && r.State == worker.StateEnded && r.SID == sid
	})
	if got := labelValues(t, reg, "roomworker_webhooks_received_total", "verdict"); got["unverified"] != 0 || got["malformed"] != 0 || got["publish_failed"] != 0 {
		t.Errorf("verdicts %v: the stand-in's deliveries should all be published", got)
	}
}
