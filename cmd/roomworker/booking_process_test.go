package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/jstest"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

// bookingWorker is a roomworker process of the booking soak.
type bookingWorker struct {
	cmd    *exec.Cmd
	output *testenv.LogBuffer
	exited chan struct{}
}

func startBookingWorker(t *testing.T, e *testenv.Env, natsURL, plugnmeetURL string, i int) *bookingWorker {
	t.Helper()
	cmd := exec.Command(binary)
	cmd.Env = append(os.Environ(),
		"NATS_URL="+natsURL,
		"PLUGNMEET_URL="+plugnmeetURL,
		"PLUGNMEET_API_KEY="+testenv.APIKey,
		"PLUGNMEET_API_SECRET="+testenv.APISecret,
		"METRICS_ADDR=127.0.0.1:0",
		"CREATE_LEAD=1s",
		"CONCURRENCY=32",
		"REQUEST_TIMEOUT="+bookingRequestTimeout.String(),
		"RETRY_BASE_DELAY=50ms",
		"RETRY_MAX_DELAY=500ms",
		"LOG_LEVEL=info",
	)
	p := &bookingWorker{cmd: cmd, output: &testenv.LogBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("roomworker %d output (tail):\n%s", i, p.output.Tail(25))
		}
	})
	e.Eventually(15*time.Second, fmt.Sprintf("roomworker %d consuming", i), func() bool {
		return strings.Contains(p.output.String(), `"msg":"consuming"`)
	})
	return p
}

// bookingRequestTimeout is the workers' REQUEST_TIMEOUT; their consumer's AckWait is this plus 5s.
const bookingRequestTimeout = 2 * time.Second

// restartNATS shuts the test's NATS server down and starts it again on the same port with the
// same store directory, as a restarted nats-server process would; clients reconnect.
func restartNATS(t *testing.T, old *natsserver.Server) *natsserver.Server {
	t.Helper()
	return jstest.Restart(t, old)
}

// TestBookingsSurviveAWorkerKillAndANATSRestart books 200 rooms whose creation times are spread
// over the next 20 s (CREATE_LEAD 1s), consumed by 3 roomworker processes; half-way one is
// SIGKILLed, and later the NATS server is restarted (same port, same store). Every booking must
// get exactly one room.scheduled and one room.created, and its first create call must reach
// plugNmeet within 2 s of its creation time.
//
// Except around the restart: nats-server fires schedules while it shuts down and hands the
// messages to pull requests that die with the connection. JetStream gives such a message again
// only after the consumer's AckWait, so a booking due within half a second of the restart may
// come up to AckWait later than that (docs/runbook.md, "Bookings", Restarts).
func TestBookingsSurviveAWorkerKillAndANATSRestart(t *testing.T) {
	n, span := 200, 20*time.Second
	if testing.Short() {
		n, span = 60, 8*time.Second
	}
	const lead, tolerance = time.Second, 2 * time.Second
	e := testenv.New(t)
	clock := plugnmeettest.NewCreateClock(e.Standin)
	front := httptest.NewServer(clock)
	t.Cleanup(front.Close)
	url := e.NS.ClientURL()

	var workers []*bookingWorker
	for i := range 3 {
		workers = append(workers, startBookingWorker(t, e, url, front.URL, i))
	}

	// The bookings: creation times spread evenly from 3 s to 3 s + span from now.
	base := time.Now().Add(3 * time.Second)
	type want struct {
		room     string
		createAt time.Time
	}
	bookings := map[string]want{} // by request id
	var ids []string
	for i := range n {
		room := fmt.Sprintf("book-%03d", i)
		at := base.Add(time.Duration(i) * span / time.Duration(n))
		ev := testenv.NewEvent("", testenv.Request(room))
		ev.SetExtension(events.ExtStartTime, at.Add(lead).UTC().Format(time.RFC3339Nano))
		e.Publish(ev)
		bookings[ev.ID()] = want{room, at}
		ids = append(ids, ev.ID())
	}
	published := time.Since(base.Add(-3 * time.Second))

	// Half-way: SIGKILL one worker; at 70%: restart the NATS server.
	time.Sleep(time.Until(base.Add(span / 2)))
	killedAt := time.Now()
	if err := workers[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-workers[0].exited
	time.Sleep(time.Until(base.Add(span * 7 / 10)))
	restartAt := time.Now()
	e.NS = restartNATS(t, e.NS)
	restarted := time.Since(restartAt)
	e.Eventually(10*time.Second, "the test's connection back", e.NC.IsConnected)

	// Every booking created, or the deadline.
	deadline := base.Add(span + 20*time.Second)
	var results []testenv.Result
	for {
		results = e.Results()
		created := 0
		for _, r := range results {
			if r.Ev.Type() == events.TypeRoomCreated {
				created++
			}
		}
		if created >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // let any late duplicate land
	results = e.Results()

	per := map[string]map[string]int{} // request id -> type -> count
	for _, r := range results {
		id := r.RequestID()
		if _, ok := bookings[id]; !ok {
			t.Errorf("a result for an unknown request %s: %s %s", id, r.Ev.Type(), r.Ev.Data())
			continue
		}
		if per[id] == nil {
			per[id] = map[string]int{}
		}
		per[id][r.Ev.Type()]++
		if r.Ev.Type() == events.TypeRoomFailed {
			t.Errorf("booking %s (%s) failed: %s", id, bookings[id].room, r.Ev.Data())
		}
	}
	var lags []time.Duration
	var late []string
	atRestart := 0 // bookings due around the restart, allowed AckWait more
	type slow struct {
		room string
		due  time.Duration // create_at, after base
		lag  time.Duration
	}
	var slowest []slow
	for _, id := range ids {
		b := bookings[id]
		if c := per[id]; c[events.TypeRoomScheduled] != 1 || c[events.TypeRoomCreated] != 1 {
			t.Errorf("booking %s (%s, create at +%s): %d room.scheduled, %d room.created; want exactly one each",
				id, b.room, b.createAt.Sub(base), c[events.TypeRoomScheduled], c[events.TypeRoomCreated])
		}
		first, ok := clock.First(b.room)
		if !ok {
			t.Errorf("%s: no create call reached plugNmeet", b.room)
			continue
		}
		lag := first.Sub(b.createAt)
		lags = append(lags, lag)
		slowest = append(slowest, slow{b.room, b.createAt.Sub(base), lag})
		bound := tolerance
		if !b.createAt.Before(restartAt.Add(-500*time.Millisecond)) && !b.createAt.After(restartAt.Add(restarted+500*time.Millisecond)) {
			bound = bookingRequestTimeout + 5*time.Second + tolerance // lost in flight: given again after AckWait
			atRestart++
		}
		if lag < -100*time.Millisecond || lag > bound {
			late = append(late, fmt.Sprintf("%s: create at %s, first create call %+.3fs, allowed %s (kill at %s, NATS restart at %s)",
				b.room, b.createAt.Format("15:04:05.000"), lag.Seconds(), bound, killedAt.Format("15:04:05.000"), restartAt.Format("15:04:05.000")))
		}
	}
	if len(late) > 0 {
		t.Errorf("%d of %d bookings created outside [-0.1s, allowed] of their creation time:\n%s", len(late), n, strings.Join(late, "\n"))
	}
	slices.Sort(lags)
	slices.SortFunc(slowest, func(a, b slow) int { return int(b.lag - a.lag) })
	for _, s := range slowest[:min(5, len(slowest))] {
		t.Logf("slow: %s due at +%s, first create call %+.3fs", s.room, s.due.Round(time.Millisecond), s.lag.Seconds())
	}
	if len(lags) > 0 {
		t.Logf("%d bookings over %s (published in %s), 3 workers, one SIGKILLed at +%s, NATS restarted at +%s (down %s): "+
			"fire lag at the stand-in p50 %s, p99 %s, max %s, min %s; create calls %d; %d due within 0.5s of the restart",
			n, span, published.Round(time.Millisecond), killedAt.Sub(base).Round(time.Millisecond), restartAt.Sub(base).Round(time.Millisecond),
			restarted.Round(time.Millisecond), lags[len(lags)/2].Round(time.Millisecond), lags[len(lags)*99/100].Round(time.Millisecond),
			lags[len(lags)-1].Round(time.Millisecond), lags[0].Round(time.Millisecond), e.Standin.Stats().CreateCalls, atRestart)
	}
}
