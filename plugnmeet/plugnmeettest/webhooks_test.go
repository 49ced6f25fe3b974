package plugnmeettest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomworker/roomworker/plugnmeet"
)

// hit is one webhook delivery a receiver got.
type hit struct {
	path   string
	header http.Header
	body   []byte
	at     time.Time
}

// receiver records deliveries; answer, when set, picks the status per delivery.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	hits   []hit
	answer func(h hit, n int) int // n: deliveries to this path so far, this one included
}

func newReceiver(t *testing.T, answer func(h hit, n int) int) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h := hit{path: r.URL.Path, header: r.Header.Clone(), body: b, at: time.Now()}
		rc.mu.Lock()
		rc.hits = append(rc.hits, h)
		n := 0
		for _, x := range rc.hits {
			if x.path == h.path {
				n++
			}
		}
		rc.mu.Unlock()
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(h, n)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) all() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.hits)
}

// events returns the event names delivered to path, in arrival order.
func (rc *receiver) events(path string) []string {
	var out []string
	for _, h := range rc.all() {
		if h.path == path {
			out = append(out, eventOf(h.body))
		}
	}
	return out
}

// waitFor waits until path got n deliveries.
func (rc *receiver) waitFor(t *testing.T, path string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ev := rc.events(path)
		if len(ev) >= n {
			return ev
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s got %d deliveries %v, want %d", path, len(ev), ev, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func eventOf(body []byte) string {
	var e struct {
		Event string `json:"event"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Event
}

func hookBody(roomID, webhook string, emptyTimeout int) string {
	extra := ""
	if emptyTimeout > 0 {
		extra = fmt.Sprintf(`"empty_timeout":%d,`, emptyTimeout)
	}
	hook := ""
	if webhook != "" {
		hook = fmt.Sprintf(`"webhook_url":%q,`, webhook)
	}
	return fmt.Sprintf(`{"room_id":%q,%s"metadata":{"room_title":"Hooks",%s"room_features":{}}}`, roomID, extra, hook)
}

func hookOptions(rc *receiver) Options {
	o := recordedOptions()
	o.WebhookURL = rc.URL + "/global"
	o.DepartureTimeout = 200 * time.Millisecond
	o.WebhookRetryWait = 20 * time.Millisecond
	return o
}

var (
	uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	evRE   = regexp.MustCompile(`^EV_[A-Za-z0-9]{12}$`)
)

// checkDeliveries verifies every delivery's token and checks that the
// per-room copies equal the global ones (same bytes, so same id) and that
// ids have the format of the event's maker.
func checkDeliveries(t *testing.T, rc *receiver) {
	t.Helper()
	v := plugnmeet.WebhookVerifier{APIKey: recordedKey, APISecret: recordedSecret}
	var global, perRoom [][]byte
	for _, h := range rc.all() {
		wh, err := v.Verify(h.header, h.body)
		if err != nil {
			t.Errorf("%s %s: %v", h.path, h.body, err)
			continue
		}
		if h.header.Get("Authorization") != h.header.Get("Hash-Token") || h.header.Get("Content-Type") != "application/json" {
			t.Errorf("headers %v", h.header)
		}
		switch wh.Event {
		case "room_created", "session_ended":
			if !uuidRE.MatchString(wh.ID) {
				t.Errorf("%s id %q, want a UUID v4", wh.Event, wh.ID)
			}
		default:
			if !evRE.MatchString(wh.ID) {
				t.Errorf("%s id %q, want EV_ and 12 characters", wh.Event, wh.ID)
			}
		}
		if h.path == "/global" {
			global = append(global, h.body)
		} else {
			perRoom = append(perRoom, h.body)
		}
	}
	if len(perRoom) > 0 && !slices.EqualFunc(global, perRoom, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Errorf("per-room copies differ from the global ones")
	}
}

func activeOf(t *testing.T, srv *Server, roomID string) bool {
	t.Helper()
	r := post(t, srv, plugnmeet.RouteIsRoomActive, fmt.Sprintf(`{"room_id":%q}`, roomID))
	return *r.IsActive
}

var (
	joinEvents  = []string{"participant_joined", "track_published"}
	leaveEvents = []string{"track_unpublished", "participant_left"}
)

func seq(parts ...any) []string {
	var out []string
	for _, p := range parts {
		switch x := p.(type) {
		case string:
			out = append(out, x)
		case []string:
			out = append(out, x...)
		}
	}
	return out
}

// Sequence S: one participant joins and leaves; the room closes by itself
// after the departure timeout (room_finished, then session_ended), and a
// create then starts a new session.
func TestWebhooksRoomClosesByItself(t *testing.T) {
	rc := newReceiver(t, nil)
	srv := NewServer(hookOptions(rc))
	defer srv.Close()
	first := post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-s", rc.URL+"/room", 0)).info(t)
	if err := srv.Join("hooks-s", "alice"); err != nil {
		t.Fatal(err)
	}
	left := time.Now()
	if err := srv.Leave("hooks-s", "alice"); err != nil {
		t.Fatal(err)
	}
	want := seq("room_created", "room_started", joinEvents, leaveEvents, "room_finished", "session_ended")
	got := rc.waitFor(t, "/room", len(want))
	if !slices.Equal(got, want) || !slices.Equal(rc.events("/global"), want) {
		t.Fatalf("events %v / %v, want %v", got, rc.events("/global"), want)
	}
	var finished, ended time.Time
	for _, h := range rc.all() {
		switch eventOf(h.body) {
		case "room_finished":
			finished = h.at
		case "session_ended":
			ended = h.at
		}
	}
	if d := finished.Sub(left); d < 200*time.Millisecond {
		t.Errorf("room_finished %v after the last leave, want the departure timeout (200ms)", d)
	}
	if d := ended.Sub(left); d < 210*time.Millisecond || !ended.After(finished) {
		t.Errorf("session_ended %v after the last leave, want the departure timeout and DepartureTimeout/20 (210ms)", d)
	}
	checkDeliveries(t, rc)
	if activeOf(t, srv, "hooks-s") {
		t.Error("room still active after session_ended")
	}
	second := post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-s", rc.URL+"/room", 0)).info(t)
	if second.SID == first.SID {
		t.Error("create after the session ended returned the old sid")
	}
	rc.waitFor(t, "/room", len(want)+1)
	// A delivery is counted once the receiver's answer is in, a moment after the receiver saw it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st := srv.Stats().Webhooks
		if st.Sent["room_created"] == 4 && st.Sent["session_ended"] == 2 && len(st.Failed) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v, want room_created sent 4 times, session_ended twice, nothing failed", st)
		}
	}
}

// A join while the emptied room waits for its departure timeout keeps it.
func TestWebhooksRejoinKeepsRoom(t *testing.T) {
	rc := newReceiver(t, nil)
	srv := NewServer(hookOptions(rc))
	defer srv.Close()
	post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-re", "", 0))
	_ = srv.Join("hooks-re", "alice")
	_ = srv.Leave("hooks-re", "alice")
	time.Sleep(100 * time.Millisecond)
	_ = srv.Join("hooks-re", "bob")
	time.Sleep(300 * time.Millisecond)
	if !activeOf(t, srv, "hooks-re") || !slices.Equal(srv.Participants("hooks-re"), []string{"bob"}) {
		t.Fatal("the room closed although bob joined within the departure timeout")
	}
	want := seq("room_created", "room_started", joinEvents, leaveEvents, joinEvents)
	if got := rc.waitFor(t, "/global", len(want)); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

// Sequences B and N: endRoom with a participant inside, and with nobody.
func TestWebhooksEndRoom(t *testing.T) {
	rc := newReceiver(t, nil)
	srv := NewServer(hookOptions(rc))
	defer srv.Close()
	post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-b", rc.URL+"/room", 0))
	if err := srv.Join("hooks-b", "carol"); err != nil {
		t.Fatal(err)
	}
	if r := post(t, srv, plugnmeet.RouteEndRoom, `{"room_id":"hooks-b"}`); !r.Status {
		t.Fatal(r.Body)
	}
	want := seq("room_created", "room_started", joinEvents, leaveEvents, "session_ended", "room_finished")
	if got := rc.waitFor(t, "/room", len(want)); !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	for _, h := range rc.all() {
		if eventOf(h.body) == "participant_left" && !strings.Contains(string(h.body), `"disconnect_reason":"CLIENT_INITIATED"`) {
			t.Errorf("participant_left %s", h.body)
		}
	}
	checkDeliveries(t, rc)

	rc2 := newReceiver(t, nil)
	srv2 := NewServer(hookOptions(rc2))
	defer srv2.Close()
	post(t, srv2, plugnmeet.RouteCreate, hookBody("hooks-n", "", 0))
	post(t, srv2, plugnmeet.RouteEndRoom, `{"room_id":"hooks-n"}`)
	if got := rc2.waitFor(t, "/global", 2); !slices.Equal(got, []string{"room_created", "session_ended"}) {
		t.Errorf("events %v", got)
	}
	time.Sleep(300 * time.Millisecond) // nothing more comes
	if got := rc2.events("/global"); len(got) != 2 {
		t.Errorf("events %v", got)
	}
}

// Sequence D: nobody joins; the janitor ends the room once empty_timeout
// has passed since creation (session_ended only). Under 120 becomes 1800,
// and a room someone joined is not the janitor's.
func TestWebhooksEmptyTimeout(t *testing.T) {
	rc := newReceiver(t, nil)
	o := hookOptions(rc)
	o.EmptyTimeoutCheck = 20 * time.Millisecond
	o.EmptyTimeoutUnit = time.Millisecond
	srv := NewServer(o)
	defer srv.Close()
	created := time.Now()
	post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-d", "", 120))
	post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-e", "", 30))
	post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-j", "", 120))
	_ = srv.Join("hooks-j", "alice")
	rc.waitFor(t, "/global", 6)
	deadline := time.Now().Add(5 * time.Second)
	for activeOf(t, srv, "hooks-d") {
		if time.Now().After(deadline) {
			t.Fatal("hooks-d never expired")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d := time.Since(created); d < 120*time.Millisecond {
		t.Errorf("expired after %v, before its empty_timeout", d)
	}
	if !activeOf(t, srv, "hooks-e") || !activeOf(t, srv, "hooks-j") {
		t.Error("hooks-e (1800) or hooks-j (joined) expired")
	}
	var perRoom = map[string][]string{}
	for _, h := range rc.all() {
		var b struct {
			Room struct {
				RoomID       string `json:"room_id"`
				EmptyTimeout int    `json:"empty_timeout"`
			} `json:"room"`
		}
		_ = json.Unmarshal(h.body, &b)
		perRoom[b.Room.RoomID] = append(perRoom[b.Room.RoomID], eventOf(h.body))
		if eventOf(h.body) == "room_created" && b.Room.RoomID == "hooks-e" && b.Room.EmptyTimeout != 1800 {
			t.Errorf("empty_timeout 30 applied as %d, want 1800", b.Room.EmptyTimeout)
		}
	}
	if got := perRoom["hooks-d"]; !slices.Equal(got, []string{"room_created", "session_ended"}) {
		t.Errorf("hooks-d events %v", got)
	}
	checkDeliveries(t, rc)
}

// Bodies have the key sets of the recorded ones, event by event.
func TestWebhookBodiesLikeRecorded(t *testing.T) {
	recorded := map[string]map[string]any{}
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "webhooks", "S*-global.json"))
	bFiles, _ := filepath.Glob(filepath.Join("..", "testdata", "webhooks", "B*-global.json"))
	for _, f := range append(files, bFiles...) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Body string `json:"body"`
		}
		var body map[string]any
		if json.Unmarshal(raw, &d) != nil || json.Unmarshal([]byte(d.Body), &body) != nil {
			t.Fatalf("%s: not a recorded delivery", f)
		}
		recorded[body["event"].(string)] = body
	}
	if len(recorded) < 8 {
		t.Fatalf("recorded deliveries not found (%d events)", len(recorded))
	}
	rc := newReceiver(t, nil)
	srv := NewServer(hookOptions(rc))
	defer srv.Close()
	post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-shape", "", 120))
	_ = srv.Join("hooks-shape", "alice")
	_ = srv.Leave("hooks-shape", "alice")
	rc.waitFor(t, "/global", 8)
	for _, h := range rc.all() {
		var body map[string]any
		if err := json.Unmarshal(h.body, &body); err != nil {
			t.Fatal(err)
		}
		ev := body["event"].(string)
		want, ok := recorded[ev]
		if !ok {
			t.Errorf("%s: not recorded", ev)
			continue
		}
		compareKeys(t, ev, want, body)
		if md, _ := body["room"].(map[string]any)["metadata"].(string); !json.Valid([]byte(md)) || !strings.HasPrefix(md, "{") {
			t.Errorf("%s: room.metadata %q is not a JSON object in a string", ev, md)
		}
	}
}

// compareKeys checks that got has the keys of want at every object level,
// and values of the same JSON types.
func compareKeys(t *testing.T, path string, want, got any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: %T, recorded an object", path, got)
			return
		}
		wk, gk := slices.Sorted(mapKeys(w)), slices.Sorted(mapKeys(g))
		if !slices.Equal(wk, gk) {
			t.Errorf("%s: keys %v, recorded %v", path, gk, wk)
		}
		for k, v := range w {
			if gv, ok := g[k]; ok {
				compareKeys(t, path+"."+k, v, gv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) == 0 || len(w) == 0 {
			if !ok {
				t.Errorf("%s: %T, recorded an array", path, got)
			}
			return
		}
		compareKeys(t, path+"[0]", w[0], g[0])
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			t.Errorf("%s: %T, recorded %T", path, got, want)
		}
	}
}

func mapKeys(m map[string]any) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Retries as the real server: 5xx (but 501), 429 and refused connections
// are tried three times with the same bytes and token, 4xx once.
func TestWebhookRetries(t *testing.T) {
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + closed.Addr().String() + "/room"
	closed.Close()
	for _, c := range []struct {
		name     string
		answer   func(n int) int
		url      string
		attempts int
		sent     bool
	}{
		{"500 twice then 200", func(n int) int { return map[bool]int{true: 500, false: 200}[n <= 2] }, "", 3, true},
		{"500 always", func(int) int { return 500 }, "", 3, false},
		{"429 always", func(int) int { return 429 }, "", 3, false},
		{"503 once", func(n int) int { return map[bool]int{true: 503, false: 204}[n == 1] }, "", 2, true},
		{"400", func(int) int { return 400 }, "", 1, false},
		{"501", func(int) int { return 501 }, "", 1, false},
		{"refused", nil, refused, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := newReceiver(t, func(h hit, n int) int {
				if h.path == "/room" && c.answer != nil {
					return c.answer(n)
				}
				return 200
			})
			o := hookOptions(rc)
			srv := NewServer(o)
			defer srv.Close()
			url := c.url
			if url == "" {
				url = rc.URL + "/room"
			}
			post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-r", url, 0))
			// The next event's global copy waits behind the per-room retries.
			post(t, srv, plugnmeet.RouteEndRoom, `{"room_id":"hooks-r"}`)
			rc.waitFor(t, "/global", 2)
			var room []hit
			for _, h := range rc.all() {
				if h.path == "/room" && eventOf(h.body) == "room_created" {
					room = append(room, h)
				}
			}
			if len(room) != c.attempts {
				t.Fatalf("%d attempts, want %d", len(room), c.attempts)
			}
			for _, h := range room[min(1, len(room)):] {
				if string(h.body) != string(room[0].body) || h.header.Get("Authorization") != room[0].header.Get("Authorization") {
					t.Error("a retry is not the same bytes and token")
				}
			}
			if len(room) == 3 {
				first, second := room[1].at.Sub(room[0].at), room[2].at.Sub(room[1].at)
				if first < 20*time.Millisecond || second < 40*time.Millisecond {
					t.Errorf("waits %v, %v: want 20ms then 40ms", first, second)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				st := srv.Stats().Webhooks
				done := st.Sent["room_created"]+st.Failed["room_created"] == 2 && st.Sent["session_ended"]+st.Failed["session_ended"] == 2
				if done {
					if wantSent := map[bool]int64{true: 2, false: 1}[c.sent]; st.Sent["room_created"] != wantSent {
						t.Errorf("stats %+v", st)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("stats %+v", st)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// Events of a room arrive in order, each URL in turn, even while retries
// hold the queue; deliveries never hold up the API.
func TestWebhookOrderAndNoBlocking(t *testing.T) {
	release := make(chan struct{})
	rc := newReceiver(t, func(h hit, n int) int {
		if h.path == "/slow" {
			<-release
		}
		if h.path == "/room" && n%3 == 1 {
			return 502
		}
		return 200
	})
	srv := NewServer(hookOptions(rc))
	defer srv.Close()
	post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-o", rc.URL+"/room", 0))
	var want []string
	want = append(want, "room_created", "room_started")
	for i := range 5 {
		user := fmt.Sprintf("u%d", i)
		if err := srv.Join("hooks-o", user); err != nil {
			t.Fatal(err)
		}
		want = append(want, joinEvents...)
	}
	for i := range 5 {
		_ = srv.Leave("hooks-o", fmt.Sprintf("u%d", i))
		want = append(want, leaveEvents...)
	}
	want = append(want, "room_finished", "session_ended")
	// Another room whose receiver hangs: its API calls answer at once.
	start := time.Now()
	post(t, srv, plugnmeet.RouteCreate, hookBody("hooks-hang", rc.URL+"/slow", 0))
	_ = srv.Join("hooks-hang", "x")
	post(t, srv, plugnmeet.RouteEndRoom, `{"room_id":"hooks-hang"}`)
	if d := time.Since(start); d > time.Second {
		t.Errorf("API calls took %v behind a hanging receiver", d)
	}
	var globalForO, roomForO []string
	deadline := time.Now().Add(10 * time.Second)
	for len(roomForO) < len(want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		globalForO, roomForO = nil, nil
		var lastRoom string
		for _, h := range rc.all() {
			if !strings.Contains(string(h.body), `"room_id":"hooks-o"`) {
				continue
			}
			if h.path == "/global" {
				globalForO = append(globalForO, eventOf(h.body))
			} else if string(h.body) != lastRoom { // retries repeat the body
				roomForO = append(roomForO, eventOf(h.body))
				lastRoom = string(h.body)
			}
		}
	}
	if !slices.Equal(globalForO[:min(len(want), len(globalForO))], want[:min(len(want), len(globalForO))]) || !slices.Equal(roomForO, want) {
		t.Errorf("global %v\nroom %v\nwant %v", globalForO, roomForO, want)
	}
	done := make(chan struct{})
	go func() { srv.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("Close waits for a hanging receiver")
	}
	close(release)
}

// Without a global URL or a room webhook_url nothing is sent; Join and
// Leave refuse what a real client could not do.
func TestWebhooksQuietAndJoinErrors(t *testing.T) {
	srv := NewServer(Options{APIKey: recordedKey, APISecret: recordedSecret, DepartureTimeout: 50 * time.Millisecond})
	defer srv.Close()
	post(t, srv, plugnmeet.RouteCreate, createBody("quiet", "Quiet"))
	if err := srv.Join("nope", "a"); !errors.Is(err, ErrRoomNotActive) {
		t.Errorf("join unknown room: %v", err)
	}
	if err := srv.Join("quiet", "a"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Join("quiet", "a"); !errors.Is(err, ErrAlreadyJoined) {
		t.Errorf("join twice: %v", err)
	}
	if err := srv.Leave("quiet", "b"); !errors.Is(err, ErrNotJoined) {
		t.Errorf("leave not joined: %v", err)
	}
	if err := srv.Leave("quiet", "a"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for activeOf(t, srv, "quiet") {
		if time.Now().After(deadline) {
			t.Fatal("emptied room never closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := srv.Stats().Webhooks; st.Attempts != 0 || len(st.Sent) != 0 || len(st.Failed) != 0 {
		t.Errorf("stats %+v", st)
	}
	r := post(t, srv, "/auth/room/getActiveRoomsInfo", `{}`)
	if r.Status || r.Msg != plugnmeet.MsgNoActiveRoom {
		t.Errorf("getActiveRoomsInfo with nothing active: %s", r.Body)
	}
}
