package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

// summary is the one-line JSON the soak prints.
type summary struct {
	OK       bool     `json:"ok"`
	Failures []string `json:"failures,omitempty"`

	Seed      uint64  `json:"seed"`
	Published int     `json:"published"` // messages stored in ROOM_REQUESTS
	Requests  int     `json:"requests"`  // distinct requests (copies of one event count once)
	Results   int     `json:"results"`
	Seconds   float64 `json:"seconds"`
	Drained   bool    `json:"drained"`

	Lost         int `json:"lost"`          // requests without a result
	Double       int `json:"double"`        // requests with more than one result
	Stray        int `json:"stray"`         // results that answer no request of this run
	SIDConflicts int `json:"sid_conflicts"` // valid room_ids answered with more than one sid
	WrongOutcome int `json:"wrong_outcome"` // results of the wrong type or reason

	ByKind map[string]int `json:"by_kind"`

	CreateCalls         int64                    `json:"create_calls"`          // create calls the stand-in received
	CreateCallsServed   int64                    `json:"create_calls_served"`   // ... minus the ones a fault answered without creating
	CreateBound         int64                    `json:"create_bound"`          // distinct (room_id, payload) + lost answers + kill allowance + abandoned
	Abandoned           int64                    `json:"abandoned"`             // creates whose caller had gone before the answer (stand-in count)
	DistinctPairs       int                      `json:"distinct_pairs"`        // distinct (room_id, payload) among valid requests
	LostAnswersInjected int64                    `json:"lost_answers_injected"` // creates whose answer the stand-in dropped
	KillAllowance       float64                  `json:"kill_allowance"`        // requests in flight in SIGKILLed workers
	RoomsCreated        int64                    `json:"rooms_created"`         // sessions the stand-in started
	DistinctRooms       int                      `json:"distinct_rooms"`        // valid room_ids
	FaultsInjected      plugnmeettest.FaultStats `json:"faults_injected"`

	Kills          int `json:"kills"`
	Terms          int `json:"terms"`
	NATSRestarts   int `json:"nats_restarts"`
	LatencySpikes  int `json:"latency_spikes"`
	Bursts5xx      int `json:"bursts_5xx"`
	AuthWindows    int `json:"auth_windows"`
	Crashes        int `json:"crashes"`
	TermExitErrors int `json:"term_exit_errors"`

	RSSWarmKB    int64   `json:"rss_warm_kb"`
	RSSEndKB     int64   `json:"rss_end_kb"`
	RSSGrowthPct float64 `json:"rss_growth_pct"`
	SecretLeaks  int     `json:"secret_leaks"` // log lines holding the API secret or the nkey seed
	LogLines     int     `json:"log_lines"`
}

// result is what the checks need of one stored result.
type result struct {
	typ, requestID, roomID, sid, reason, message string
}

func (s *soak) check(ctx context.Context, reqs []*request, drained bool, warm *rssSample) (*summary, error) {
	sum := &summary{Seed: s.o.seed, Requests: len(reqs), Drained: drained, ByKind: map[string]int{}}
	fail := func(format string, args ...any) { sum.Failures = append(sum.Failures, fmt.Sprintf(format, args...)) }
	if !drained {
		fail("not drained before -duration %s", s.o.duration)
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	results, err := s.readResults(rctx)
	if err != nil {
		return nil, err
	}
	sum.Results = len(results)

	byReq := map[string][]result{}
	for _, r := range results {
		byReq[r.requestID] = append(byReq[r.requestID], r)
	}
	claimed := map[string]bool{}
	sids := map[string]map[string]bool{}
	pairs := map[string]bool{}
	rooms := map[string]bool{}
	wrong := map[string]int{}
	for _, q := range reqs {
		sum.ByKind[q.kind]++
		sum.Published += len(q.seqs)
		keys := append([]string{q.id}, q.seqs...)
		var got []result
		for _, k := range keys {
			got = append(got, byReq[k]...)
			claimed[k] = true
		}
		switch {
		case len(got) == 0:
			sum.Lost++
			continue
		case len(got) > 1:
			sum.Double++
		}
		r := got[0]
		if q.want.Type == "room.created" {
			pairs[fmt.Sprintf("%s#%d", q.room, q.variant)] = true
			rooms[q.room] = true
		}
		if r.typ != q.want.Type || r.reason != q.want.Reason {
			sum.WrongOutcome++
			wrong[fmt.Sprintf("%s %s: got %s %s", q.kind, q.caseName, r.typ, r.reason)]++
			continue
		}
		if r.typ == "room.created" {
			if sids[q.room] == nil {
				sids[q.room] = map[string]bool{}
			}
			sids[q.room][r.sid] = true
		}
	}
	for k, rs := range byReq {
		if !claimed[k] {
			sum.Stray += len(rs)
		}
	}
	for _, set := range sids {
		if len(set) > 1 {
			sum.SIDConflicts++
		}
	}
	sum.DistinctPairs, sum.DistinctRooms = len(pairs), len(rooms)

	st, err := s.standinStats()
	if err != nil {
		return nil, err
	}
	inj := st.Injected
	sum.FaultsInjected = inj
	sum.CreateCalls = st.CreateCalls
	sum.CreateCallsServed = st.CreateCalls - inj.Errors5xx - inj.Resets - inj.Timeouts - inj.LockTimeouts -
		st.CreateAuthFailures - st.LockTimeouts
	sum.Abandoned = st.Abandoned
	sum.LostAnswersInjected = inj.LostAnswers
	sum.RoomsCreated = st.RoomsCreated

	s.mu.Lock()
	c := s.counts
	sum.Kills, sum.Terms, sum.NATSRestarts = c.Kills, c.Terms, c.NATSRestarts
	sum.LatencySpikes, sum.Bursts5xx, sum.AuthWindows = c.LatencySpikes, c.Bursts5xx, c.AuthWindows
	sum.KillAllowance = s.killAllowance
	sum.Crashes = len(s.crashLog)
	sum.TermExitErrors = len(s.termExitErrors)
	crashes, termErrs := append([]string(nil), s.crashLog...), append([]string(nil), s.termExitErrors...)
	warmKB, warmPID := warm.kb, warm.pid
	s.mu.Unlock()
	sum.CreateBound = int64(sum.DistinctPairs) + sum.LostAnswersInjected + int64(sum.KillAllowance) + sum.Abandoned

	sum.RSSWarmKB = warmKB
	if pid := s.workers[0].pid(); pid == warmPID && warmPID != 0 {
		// The lowest of a few samples over two seconds: what the worker holds once the last
		// burst's garbage is collected and returned.
		for i := range 5 {
			if i > 0 {
				time.Sleep(500 * time.Millisecond)
			}
			if kb, err := rssKB(pid); err == nil && (sum.RSSEndKB == 0 || kb < sum.RSSEndKB) {
				sum.RSSEndKB = kb
			}
		}
		sum.RSSGrowthPct = 100 * float64(sum.RSSEndKB-warmKB) / float64(warmKB)
	}

	sum.SecretLeaks, sum.LogLines, err = s.grepSecrets()
	if err != nil {
		return nil, err
	}

	if sum.Lost > 0 {
		fail("%d requests without a result", sum.Lost)
	}
	if sum.Double > 0 {
		fail("%d requests with more than one result", sum.Double)
	}
	if sum.Stray > 0 {
		fail("%d results answer no request", sum.Stray)
	}
	if sum.SIDConflicts > 0 {
		fail("%d room_ids answered with more than one sid", sum.SIDConflicts)
	}
	if sum.WrongOutcome > 0 {
		keys := make([]string, 0, len(wrong))
		for k, n := range wrong {
			keys = append(keys, fmt.Sprintf("%dx %s", n, k))
		}
		sort.Strings(keys)
		fail("%d wrong outcomes: %v", sum.WrongOutcome, keys)
	}
	if sum.RoomsCreated != int64(sum.DistinctRooms) {
		fail("the stand-in started %d sessions for %d distinct rooms", sum.RoomsCreated, sum.DistinctRooms)
	}
	if sum.CreateCallsServed > sum.CreateBound {
		fail("%d create calls served, over the bound %d", sum.CreateCallsServed, sum.CreateBound)
	}
	if len(crashes) > 0 {
		fail("unexpected exits: %v", crashes)
	}
	if len(termErrs) > 0 {
		fail("SIGTERM exits not clean: %v", termErrs)
	}
	switch {
	case sum.RSSWarmKB == 0 || sum.RSSEndKB == 0:
		fail("no RSS measurement of worker 0 from warm-up to the end")
	case sum.RSSGrowthPct > 20:
		fail("worker 0 RSS grew %.0f%% (%d kB -> %d kB), over 20%%", sum.RSSGrowthPct, sum.RSSWarmKB, sum.RSSEndKB)
	}
	if sum.SecretLeaks > 0 {
		fail("%d log lines hold a secret", sum.SecretLeaks)
	}
	sum.Seconds = time.Since(s.start).Round(100 * time.Millisecond).Seconds()
	sum.OK = len(sum.Failures) == 0
	return sum, nil
}

// readResults reads every result in ROOM_EVENTS with an ordered consumer.
func (s *soak) readResults(ctx context.Context) ([]result, error) {
	st, err := s.js.Stream(ctx, eventsStream)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	total := info.State.Msgs
	if total == 0 {
		return nil, nil
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var out []result
	for uint64(len(out)) < total {
		batch, err := c.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			ev, _, err := events.Decode(m.Headers(), m.Data())
			if err != nil {
				return nil, fmt.Errorf("a stored result does not decode: %w", err)
			}
			var d struct {
				RoomID  string `json:"room_id"`
				SID     string `json:"sid"`
				Reason  string `json:"reason"`
				Message string `json:"message"`
			}
			_ = json.Unmarshal(ev.Data(), &d)
			rid, _ := ev.Extensions()[events.ExtRequestID].(string)
			out = append(out, result{typ: ev.Type(), requestID: rid, roomID: d.RoomID, sid: d.SID, reason: d.Reason, message: d.Message})
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if n == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	return out, nil
}

func (s *soak) standinStats() (plugnmeettest.Stats, error) {
	var st plugnmeettest.Stats
	resp, err := http.Get(s.standinURL + "/_standin/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// grepSecrets counts log lines, of every process the soak ran, that hold the API secret or
// the nkey seed.
func (s *soak) grepSecrets() (leaks, lines int, err error) {
	paths, err := filepath.Glob(filepath.Join(s.dir, "logs", "*.log"))
	if err != nil {
		return 0, 0, err
	}
	needles := [][]byte{[]byte(s.secret), bytes.TrimSpace(s.nkeySeed)}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return 0, 0, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			lines++
			for _, n := range needles {
				if bytes.Contains(sc.Bytes(), n) {
					leaks++
					s.logf("SECRET in %s: line %d", filepath.Base(p), lines)
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", p, err)
		}
	}
	return leaks, lines, nil
}
