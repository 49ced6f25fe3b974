package worker_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
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

var invariantSeed = flag.Uint64("invariant.seed", 0, "seed for TestInvariant's random sequences (0: taken from the clock)")

// TestInvariant drives random sequences of requests and disturbances through real workers, a
// real nats-server and the plugNmeet stand-in, then checks the processing rules of DESIGN.md
// that must hold whatever happened:
//
//  1. every request id has exactly one stored result;
//  2. no result contradicts another: one type per request id, one sid per room_id (the test
//     never ends a room), and at most one room.created per room that is not a duplicate;
//  3. at most one create call per room_id is in flight at any moment, across all workers;
//  4. nothing ends as room.failed because of a credentials outage (401) or a plugNmeet URL
//     that answers HTML: a request that meets only those is created, or, when its deliveries
//     or attempts run out, fails with retries_exhausted.
//
// A sequence mixes transient plugNmeet faults (5xx, resets, lock timeouts, lost answers),
// permanent refusals (a room whose room_title is dropped on the wire: INVALID_PARAMETERS),
// a firewall that refuses bodies carrying a marker (403), 401 and not-plugNmeet windows,
// windows in which ROOM_EVENTS refuses new results, copies of the same event, several
// requests per room_id on 2–3 workers, worker shutdowns and restarts, and a MAX_DELIVER small
// enough to be reached. The sequence is drawn from -invariant.seed (printed on failure); the
// interleaving with the workers is not, so a seed repeats the sequence, not the run.
func TestInvariant(t *testing.T) {
	t.Parallel()
	seed := *invariantSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d", seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("repeat with: go test -race -count=1 -run TestInvariant ./worker/ -invariant.seed=%d", seed)
		}
	})
	sequences := 3
	if testing.Short() {
		sequences = 1
	}
	for i := range sequences {
		s := generateSequence(rand.New(rand.NewPCG(seed, uint64(i))), i)
		t.Run(fmt.Sprintf("seq%d", i), func(t *testing.T) { runSequence(t, s) })
	}
}

// The generator.

// invSequence is one random scenario: the workers' settings, the requests and the steps.
type invSequence struct {
	idx         int
	maxAttempts int
	maxDeliver  int
	grace       time.Duration // SHUTDOWN_TIMEOUT
	workers     int           // started before the first step
	faults      plugnmeettest.Faults
	marker      string          // the firewall refuses create bodies containing it (403)
	rewrite     map[string]bool // rooms whose room_title is dropped on the wire (INVALID_PARAMETERS)
	requests    []invRequest
	steps       []invStep
}

// invRequest is one request event; copies are the same event (same source and id) published again.
type invRequest struct {
	id     string
	room   string
	marker bool // its welcome_message carries the sequence's marker
	copies int
}

// kind is what plugNmeet can make of the request, and so what its result may be.
type requestKind int

const (
	kindClean     requestKind = iota // created, or retries_exhausted
	kindForbidden                    // 403 from the firewall: rejected, or retries_exhausted
	kindInvalid                      // INVALID_PARAMETERS: rejected, or retries_exhausted
)

func (s *invSequence) kind(q invRequest) requestKind {
	switch {
	case q.marker:
		return kindForbidden
	case s.rewrite[q.room]:
		return kindInvalid
	}
	return kindClean
}

func (q invRequest) body(marker string) []byte {
	b := string(testenv.Request(q.room))
	if q.marker {
		title := `"room_title":"Room ` + q.room + `"`
		b = strings.Replace(b, title, title+`,"welcome_message":"Welcome! `+marker+`"`, 1)
	}
	return []byte(b)
}

type stepKind int

const (
	stPublish      stepKind = iota // publish requests[req]
	stSleep                        // wait d
	stUnauthorized                 // plugNmeet answers 401 to every call (on), or not (off)
	stNotPlugNmeet                 // every call answers an HTML page (on), or not (off)
	stBlockResults                 // ROOM_EVENTS refuses new messages (on), or takes them (off)
	stStopWorker                   // stop the n-th running worker (its Stop func: a graceful shutdown)
	stStartWorker                  // start a new worker
)

type invStep struct {
	kind stepKind
	req  int
	on   bool
	d    time.Duration
	n    int
}

func (st invStep) String() string {
	onOff := map[bool]string{true: "on", false: "off"}
	switch st.kind {
	case stPublish:
		return fmt.Sprintf("publish #%d", st.req)
	case stSleep:
		return "sleep " + st.d.String()
	case stUnauthorized:
		return "401 " + onOff[st.on]
	case stNotPlugNmeet:
		return "not-plugNmeet " + onOff[st.on]
	case stBlockResults:
		return "block-results " + onOff[st.on]
	case stStopWorker:
		return fmt.Sprintf("stop worker %d", st.n)
	case stStartWorker:
		return "start worker"
	}
	return "?"
}

// generateSequence draws a sequence: requests published in small bursts with short pauses, and
// between bursts, now and then, a disturbance. Windows (401, not plugNmeet, results refused)
// stay open for 1–3 bursts, so a probe started by a paused worker finds plugNmeet back within
// seconds. Workers are restarted only while plugNmeet answers (a new worker must become ready).
func generateSequence(r *rand.Rand, idx int) *invSequence {
	s := &invSequence{
		idx:         idx,
		maxAttempts: 2,
		maxDeliver:  3 + r.IntN(3),
		grace:       []time.Duration{150 * time.Millisecond, time.Second}[r.IntN(2)],
		workers:     2 + r.IntN(2),
		marker:      "FIREWALL-REFUSES-THIS",
		rewrite:     map[string]bool{},
		faults: plugnmeettest.Faults{
			Latency:         10 * time.Millisecond,
			LatencyJitter:   90 * time.Millisecond,
			Error5xxRate:    0.04 + 0.12*r.Float64(),
			ResetRate:       0.02 + 0.06*r.Float64(),
			LockTimeoutRate: 0.02 + 0.06*r.Float64(),
			LostAnswerRate:  0.03 + 0.07*r.Float64(),
		},
	}
	rooms := make([]string, 10+r.IntN(10))
	for i := range rooms {
		rooms[i] = fmt.Sprintf("inv%d-room%02d", idx, i)
		if r.IntN(7) == 0 {
			s.rewrite[rooms[i]] = true
		}
	}
	var publishes []int
	for i := range 28 + r.IntN(13) {
		room := rooms[r.IntN(len(rooms))]
		if r.IntN(5) < 2 {
			room = rooms[r.IntN(3)] // a few hot rooms: several requests wait for the same lease
		}
		q := invRequest{id: fmt.Sprintf("inv%d-req%02d", idx, i), room: room, marker: r.IntN(7) == 0, copies: 1}
		if r.IntN(5) == 0 {
			q.copies += 1 + r.IntN(2)
		}
		s.requests = append(s.requests, q)
		for range q.copies {
			publishes = append(publishes, i)
		}
	}
	r.Shuffle(len(publishes), func(i, j int) { publishes[i], publishes[j] = publishes[j], publishes[i] })

	windows := []stepKind{stUnauthorized, stNotPlugNmeet, stBlockResults}
	open := map[stepKind]int{} // open window → bursts left before it closes
	add := func(st invStep) { s.steps = append(s.steps, st) }
	for len(publishes) > 0 {
		n := min(len(publishes), 1+r.IntN(5))
		for _, q := range publishes[:n] {
			add(invStep{kind: stPublish, req: q})
		}
		publishes = publishes[n:]
		for _, k := range windows {
			if left, ok := open[k]; ok {
				if left == 0 {
					add(invStep{kind: k, on: false})
					delete(open, k)
				} else {
					open[k] = left - 1
				}
			}
		}
		if r.IntN(2) == 0 {
			switch k := []stepKind{stUnauthorized, stNotPlugNmeet, stBlockResults, stStopWorker}[r.IntN(4)]; k {
			case stStopWorker:
				_, unauthorized := open[stUnauthorized]
				_, notPlugNmeet := open[stNotPlugNmeet]
				if !unauthorized && !notPlugNmeet {
					add(invStep{kind: stStopWorker, n: r.IntN(s.workers)})
					add(invStep{kind: stSleep, d: time.Duration(r.IntN(300)) * time.Millisecond})
					add(invStep{kind: stStartWorker})
				}
			default:
				if _, ok := open[k]; !ok {
					add(invStep{kind: k, on: true})
					open[k] = r.IntN(3)
				}
			}
		}
		add(invStep{kind: stSleep, d: time.Duration(50+r.IntN(350)) * time.Millisecond})
	}
	for _, k := range windows {
		if _, ok := open[k]; ok {
			add(invStep{kind: k, on: false})
		}
	}
	return s
}

func (s *invSequence) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "MAX_ATTEMPTS %d, MAX_DELIVER %d, SHUTDOWN_TIMEOUT %s, %d workers, faults %+v\n",
		s.maxAttempts, s.maxDeliver, s.grace, s.workers, s.faults)
	for i, q := range s.requests {
		fmt.Fprintf(&b, "  #%d %s room %s copies %d kind %s\n", i, q.id, q.room, q.copies,
			[]string{"clean", "forbidden(403)", "invalid(no room_title)"}[s.kind(q)])
	}
	var steps []string
	for _, st := range s.steps {
		steps = append(steps, st.String())
	}
	b.WriteString("  steps: " + strings.Join(steps, ", "))
	return b.String()
}

// The runner.

type invRunner struct {
	t       *testing.T
	e       *testenv.Env
	s       *invSequence
	api     *watchedAPI
	faults  plugnmeettest.Faults
	workers []*testenv.Worker
	events  []*event.Event
}

func runSequence(t *testing.T, s *invSequence) {
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("sequence %d:\n%s", s.idx, s)
		}
	})
	e := testenv.New(t, func(c *worker.Config) {
		c.MaxAttempts = s.maxAttempts
		c.MaxDeliver = s.maxDeliver
		c.ShutdownTimeout = s.grace
	})
	client, err := plugnmeet.New(plugnmeet.Config{URL: e.Standin.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret})
	if err != nil {
		t.Fatal(err)
	}
	r := &invRunner{t: t, e: e, s: s, api: newWatchedAPI(client, s.rewrite), faults: s.faults}
	r.faults.ForbidBodyContaining = s.marker
	r.e.Standin.SetFaults(r.faults)
	for _, q := range s.requests {
		r.events = append(r.events, testenv.NewEvent(q.id, q.body(s.marker)))
	}
	for range s.workers {
		r.workers = append(r.workers, e.StartWorker(r.api))
	}

	start := time.Now()
	for _, st := range s.steps {
		r.do(st)
	}
	stepsTook := time.Since(start)
	results := r.settle()
	r.check(results)
	e.CheckResultSchemas()

	tally := map[string]int{}
	for _, res := range results {
		label := "created"
		switch {
		case res.Ev.Type() == events.TypeRoomFailed && res.Failed.Reason == events.ReasonRetriesExhausted:
			label = "exhausted_attempts"
			if strings.Contains(res.Failed.Message, "MAX_DELIVER") {
				label = "exhausted_final_delivery"
			}
		case res.Ev.Type() == events.TypeRoomFailed:
			label = string(res.Failed.Reason)
		case res.Created.Duplicate:
			label = "duplicate"
		}
		tally[label]++
	}
	st := e.Standin.Stats()
	t.Logf("%d requests (%d publishes), %d steps in %s, settled after %s: results %v; create calls %d, injected %+v",
		len(s.requests), countPublishes(s), len(s.steps), stepsTook.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond), tally, st.CreateCalls, st.Injected)
}

func countPublishes(s *invSequence) int {
	n := 0
	for _, st := range s.steps {
		if st.kind == stPublish {
			n++
		}
	}
	return n
}

func (r *invRunner) do(st invStep) {
	r.t.Helper()
	switch st.kind {
	case stPublish:
		r.e.Publish(r.events[st.req])
	case stSleep:
		time.Sleep(st.d)
	case stUnauthorized:
		r.faults.Unauthorized = st.on
		r.e.Standin.SetFaults(r.faults)
	case stNotPlugNmeet:
		r.faults.NotPlugNmeet = st.on
		r.e.Standin.SetFaults(r.faults)
	case stBlockResults:
		r.blockResults(st.on)
	case stStopWorker:
		i := st.n % len(r.workers)
		w := r.workers[i]
		r.workers = slices.Delete(r.workers, i, i+1)
		w.Stop()
		select {
		case <-w.Done:
		case <-time.After(r.s.grace + 15*time.Second):
			r.t.Fatalf("worker did not stop within SHUTDOWN_TIMEOUT %s + 15s", r.s.grace)
		}
		if w.Err != nil {
			r.t.Errorf("worker stopped with %v", w.Err)
		}
	case stStartWorker:
		r.workers = append(r.workers, r.e.StartWorker(r.api))
	}
}

// blockResults makes ROOM_EVENTS refuse every new result (MaxMsgs at its current count with
// DiscardNew: a publish fails with "maximum messages exceeded"), or lifts the limit again.
func (r *invRunner) blockResults(on bool) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := r.e.JS.Stream(ctx, r.e.Cfg.EventsStream)
	if err != nil {
		r.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	cfg := info.Config
	if on {
		if info.State.Msgs == 0 {
			return // MaxMsgs 0 means no limit: nothing to block with yet
		}
		cfg.MaxMsgs, cfg.Discard = int64(info.State.Msgs), jetstream.DiscardNew
	} else {
		cfg.MaxMsgs, cfg.Discard = -1, jetstream.DiscardOld
	}
	if _, err := r.e.JS.UpdateStream(ctx, cfg); err != nil {
		r.t.Fatalf("update %s (block %t): %v", r.e.Cfg.EventsStream, on, err)
	}
}

// settle lifts every window, keeps a worker running, and waits until the consumer has nothing
// pending and nothing waiting for an ack, and the results have not changed for a while. It
// returns the stored results.
func (r *invRunner) settle() []testenv.Result {
	r.t.Helper()
	r.faults.Unauthorized, r.faults.NotPlugNmeet = false, false
	r.e.Standin.SetFaults(r.faults)
	r.blockResults(false)
	if len(r.workers) == 0 {
		r.workers = append(r.workers, r.e.StartWorker(r.api))
	}
	const within, quiet = 60 * time.Second, 2 * time.Second
	deadline := time.Now().Add(within)
	var results []testenv.Result
	var info *jetstream.ConsumerInfo
	stableSince := time.Now()
	for {
		info = r.e.ConsumerInfo()
		got := r.e.Results()
		if len(got) != len(results) {
			stableSince = time.Now()
		}
		results = got
		// NumRedelivered is left out: a message put back past MAX_DELIVER stays counted there
		// for good (the check below reports it); one waiting for a worker shows up in ack
		// pending within the quiet period.
		idle := info.NumPending == 0 && info.NumAckPending == 0
		if !idle {
			stableSince = time.Now()
		}
		if idle && time.Since(stableSince) >= quiet {
			break
		}
		if time.Now().After(deadline) {
			r.t.Errorf("not settled after %s: consumer pending %d, ack pending %d, redelivered %d; %d results",
				within, info.NumPending, info.NumAckPending, info.NumRedelivered, len(results))
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A request left in the work queue with the consumer idle reached MAX_DELIVER unanswered.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s, err := r.e.JS.Stream(ctx, r.e.Cfg.RequestStream); err == nil {
		if si, err := s.Info(ctx); err == nil && si.State.Msgs > 0 {
			r.t.Errorf("%d request(s) still in %s with the consumer idle (redelivered %d): deliveries ran out without a result",
				si.State.Msgs, r.e.Cfg.RequestStream, info.NumRedelivered)
		}
	}
	return results
}

// The checker.

func (r *invRunner) check(results []testenv.Result) {
	t, s := r.t, r.s
	t.Helper()
	byRequest := map[string][]testenv.Result{}
	for _, res := range results {
		byRequest[res.RequestID()] = append(byRequest[res.RequestID()], res)
	}
	known := map[string]bool{}
	for _, q := range s.requests {
		known[q.id] = true
	}
	for id, rs := range byRequest {
		if !known[id] {
			t.Errorf("result for unknown request id %q: %s %s", id, rs[0].Ev.Type(), rs[0].Ev.Data())
		}
	}

	createdSIDs := map[string]map[string][]string{} // room → sid → request ids
	fresh := map[string][]string{}                  // room → request ids with a non-duplicate room.created
	for _, q := range s.requests {
		rs := byRequest[q.id]
		// 1. Exactly one stored result.
		if len(rs) != 1 {
			r.violation(q, rs, fmt.Sprintf("has %d stored results, want exactly 1", len(rs)))
			if len(rs) == 0 {
				continue
			}
		}
		// 2. No contradiction within the request.
		for _, res := range rs[1:] {
			if res.Ev.Type() != rs[0].Ev.Type() || res.Failed.Reason != rs[0].Failed.Reason || res.Created.SID != rs[0].Created.SID {
				r.violation(q, rs, "results contradict each other")
				break
			}
		}
		res := rs[0]
		if res.Ev.Type() == events.TypeRoomCreated {
			if res.Created.RoomID != q.room {
				r.violation(q, rs, fmt.Sprintf("room.created names room %q", res.Created.RoomID))
			}
			if createdSIDs[q.room] == nil {
				createdSIDs[q.room] = map[string][]string{}
			}
			createdSIDs[q.room][res.Created.SID] = append(createdSIDs[q.room][res.Created.SID], q.id)
			if !res.Created.Duplicate {
				fresh[q.room] = append(fresh[q.room], q.id)
			}
		}
		// 4. What the request may end as, given what plugNmeet makes of it.
		if why := r.unexpected(q, res); why != "" {
			r.violation(q, rs, why)
		}
	}

	// 2. One session per room, the one plugNmeet has, and one request that made it.
	for room, sids := range createdSIDs {
		if len(sids) > 1 {
			t.Errorf("room %s: room.created results carry %d different sids (the room was never ended): %v", room, len(sids), sids)
		}
		active, ok := r.e.Standin.ActiveRoom(room)
		for sid, ids := range sids {
			if !ok || active.SID != sid {
				t.Errorf("room %s: requests %v got sid %s, the stand-in's active session is %q (active %t)", room, ids, sid, active.SID, ok)
			}
		}
	}
	for room, ids := range fresh {
		if len(ids) > 1 {
			t.Errorf("room %s: %d room.created results are not marked duplicate (%v): one session, one creator", room, len(ids), ids)
		}
	}

	// 3. One create call in flight per room at any moment.
	for room, n := range r.api.maxInFlight() {
		if n > 1 {
			t.Errorf("room %s: %d create calls were in flight at once (across all workers), want at most 1", room, n)
		}
		if m := r.e.Standin.MaxConcurrentCreates(room); m > n {
			// The stand-in counts a call until its handler notices the caller has gone; a call
			// cut short (shutdown) may overlap the next one there without overlapping in the worker.
			t.Logf("room %s: the stand-in saw %d create calls at once (the workers' side: %d)", room, m, n)
		}
	}
}

// unexpected says why res is not a result q may end with, or "".
func (r *invRunner) unexpected(q invRequest, res testenv.Result) string {
	s := r.s
	if res.Ev.Type() == events.TypeRoomCreated {
		if k := s.kind(q); k != kindClean {
			return "created, but plugNmeet refuses this request's body (" + []string{"", "firewall marker", "no room_title"}[k] + ")"
		}
		return ""
	}
	f := res.Failed
	switch f.Reason {
	case events.ReasonRetriesExhausted:
		// Only when the attempts ran out, or on the final delivery.
		if f.Attempts < s.maxAttempts && !strings.Contains(f.Message, "MAX_DELIVER") {
			return fmt.Sprintf("retries_exhausted after %d of MAX_ATTEMPTS %d attempts, and not on the final delivery", f.Attempts, s.maxAttempts)
		}
		return ""
	case events.ReasonRejected:
		if f.PlugNmeetStatusCode == 401 {
			return "rejected because of a 401: a credentials outage must never fail a request"
		}
		if f.PlugNmeetStatusCode == 200 && f.PlugNmeetCode == "" {
			return "rejected with an answer that is not plugNmeet's: a wrong URL must never fail a request"
		}
		switch s.kind(q) {
		case kindForbidden:
			if f.PlugNmeetStatusCode != 403 {
				return fmt.Sprintf("rejected with HTTP %d %q, want the firewall's 403", f.PlugNmeetStatusCode, f.PlugNmeetCode)
			}
		case kindInvalid:
			if f.PlugNmeetCode != plugnmeet.StatusInvalidParameters {
				return fmt.Sprintf("rejected with HTTP %d %q, want INVALID_PARAMETERS", f.PlugNmeetStatusCode, f.PlugNmeetCode)
			}
		default:
			return "rejected, but plugNmeet accepts this request when it answers at all"
		}
		return ""
	}
	return fmt.Sprintf("room.failed %s for a valid request", f.Reason)
}

// violation reports a request that breaks an invariant, with its results and its log lines.
func (r *invRunner) violation(q invRequest, rs []testenv.Result, why string) {
	r.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "request %s (room %s, %d copies, marker %t, rewritten %t): %s", q.id, q.room, q.copies, q.marker, r.s.rewrite[q.room], why)
	for _, res := range rs {
		fmt.Fprintf(&b, "\n  result %s on %s: %s", res.Ev.Type(), res.Subject, compactResult(res))
	}
	var lines []string
	for _, l := range strings.Split(r.e.Logs.String(), "\n") {
		if strings.Contains(l, "request_id="+q.id+" ") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	fmt.Fprintf(&b, "\n  its log lines (%d):\n    %s", len(lines), strings.Join(lines, "\n    "))
	r.t.Error(b.String())
}

// compactResult is a result's data without the embedded request.
func compactResult(res testenv.Result) string {
	if res.Ev.Type() == events.TypeRoomFailed {
		f := res.Failed
		f.Request = nil
		b, _ := json.Marshal(f)
		return string(b)
	}
	c := res.Created
	return fmt.Sprintf(`{"room_id":%q,"sid":%q,"duplicate":%t,"attempts":%d}`, c.RoomID, c.SID, c.Duplicate, c.Attempts)
}

// watchedAPI is the plugNmeet API every worker of a sequence shares. It drops room_title on
// the wire for some rooms (plugNmeet answers INVALID_PARAMETERS) and keeps, per room_id, the
// most create calls that were ever in flight at once.
type watchedAPI struct {
	worker.RoomAPI
	rewrite map[string]bool

	mu       sync.Mutex
	inFlight map[string]int
	most     map[string]int
}

func newWatchedAPI(api worker.RoomAPI, rewrite map[string]bool) *watchedAPI {
	return &watchedAPI{RoomAPI: api, rewrite: rewrite, inFlight: map[string]int{}, most: map[string]int{}}
}

func (a *watchedAPI) CreateRoom(ctx context.Context, body []byte) (*plugnmeet.RoomInfo, error) {
	var head struct {
		RoomID string `json:"room_id"`
	}
	_ = json.Unmarshal(body, &head)
	room := head.RoomID
	a.mu.Lock()
	a.inFlight[room]++
	a.most[room] = max(a.most[room], a.inFlight[room])
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.inFlight[room]--
		a.mu.Unlock()
	}()
	if a.rewrite[room] {
		body = []byte(strings.Replace(string(body), `"room_title":"Room `+room+`",`, "", 1))
	}
	return a.RoomAPI.CreateRoom(ctx, body)
}

func (a *watchedAPI) maxInFlight() map[string]int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return maps.Clone(a.most)
}
