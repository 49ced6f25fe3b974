package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/roomworker/roomworker/internal/hostile"
	"github.com/roomworker/roomworker/internal/waitfor"
)

// options are the soak's flags.
type options struct {
	n          int
	duration   time.Duration
	seed       uint64
	workers    int
	rate       float64
	chaosEvery time.Duration
	dir        string
	keep       bool
	corpus     string
	skipCases  string
	verbose    bool
}

const (
	apiKey = "soak"
	// The API secret is generated per run and only ever written to a 0600 file.
	requestStream = "ROOM_REQUESTS"
	eventsStream  = "ROOM_EVENTS"
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("roomsoak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.n, "n", 5000, "messages to publish")
	fs.DurationVar(&o.duration, "duration", 20*time.Minute, "hard cap on the whole soak; checks fail when it is reached")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the mix, the chaos schedule and the stand-in's faults")
	fs.IntVar(&o.workers, "workers", 3, "roomworker processes")
	fs.Float64Var(&o.rate, "rate", 0, "messages per second (0: n/30s, at most 100/s, so chaos overlaps the publishing)")
	fs.DurationVar(&o.chaosEvery, "chaos-every", 3*time.Second, "pause between chaos actions")
	fs.StringVar(&o.dir, "dir", "", "work directory (binaries, store, logs); default a new temporary directory")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory")
	fs.StringVar(&o.corpus, "corpus", "testdata/hostile", "hostile corpus directory")
	fs.StringVar(&o.skipCases, "skip-cases", "", "comma-separated hostile case names to leave out")
	fs.BoolVar(&o.verbose, "v", false, "log progress to stderr")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.n < 10 || o.workers < 2 {
		return errors.New("-n must be at least 10 and -workers at least 2")
	}
	if o.rate <= 0 {
		o.rate = min(100, float64(o.n)/30)
	}
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	s := &soak{o: o, stderr: stderr, start: time.Now(), rng: rand.New(rand.NewPCG(o.seed, o.seed^0x5eed))}
	sum, err := s.run(ctx)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(sum)
	fmt.Fprintln(stdout, string(line))
	if !sum.OK {
		return fmt.Errorf("soak failed: %s", strings.Join(sum.Failures, "; "))
	}
	return nil
}

type soak struct {
	o      options
	stderr io.Writer
	start  time.Time
	rng    *rand.Rand

	dir, bin         string
	secret, seedPath string
	nkeySeed         []byte
	natsPort         int
	natsURL          string
	standinURL       string
	nats, standin    *proc
	workers          []*proc
	metricsURLs      []string
	nc               *nats.Conn
	js               jetstream.JetStream

	mu             sync.Mutex
	counts         chaosCounts
	killAllowance  float64
	termExitErrors []string
	crashLog       []string
}

type chaosCounts struct {
	Kills, Terms, NATSRestarts, LatencySpikes, Bursts5xx, AuthWindows int
}

func (s *soak) logf(format string, args ...any) {
	if s.o.verbose {
		fmt.Fprintf(s.stderr, "[%6.1fs] %s\n", time.Since(s.start).Seconds(), fmt.Sprintf(format, args...))
	}
}

func (s *soak) run(ctx context.Context) (*summary, error) {
	var err error
	s.dir = s.o.dir
	if s.dir == "" {
		if s.dir, err = os.MkdirTemp("", "roomsoak-"); err != nil {
			return nil, err
		}
	}
	if !s.o.keep && s.o.dir == "" {
		defer os.RemoveAll(s.dir)
	}
	s.bin = filepath.Join(s.dir, "bin")
	for _, d := range []string{s.bin, filepath.Join(s.dir, "logs"), filepath.Join(s.dir, "secrets")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	cases, err := hostile.Load(s.o.corpus)
	if err != nil {
		return nil, err
	}
	cases = skip(cases, s.o.skipCases)

	s.logf("building binaries in %s", s.bin)
	if err := buildBinaries(ctx, s.bin, s.stderr); err != nil {
		return nil, err
	}
	if err := s.writeSecrets(); err != nil {
		return nil, err
	}
	if err := s.startNATS(); err != nil {
		return nil, err
	}
	defer func() { _ = s.nats.stop(syscall.SIGTERM, 10*time.Second) }()
	if err := s.startStandin(ctx); err != nil {
		return nil, err
	}
	defer func() { _ = s.standin.stop(syscall.SIGTERM, 10*time.Second) }()
	if err := s.startWorkers(ctx); err != nil {
		return nil, err
	}
	defer func() {
		for _, w := range s.workers {
			_ = w.stop(syscall.SIGKILL, 5*time.Second)
		}
	}()
	if err := s.connect(); err != nil {
		return nil, err
	}
	defer s.nc.Close()

	first, second := planMix(s.o.n, s.rng, cases, fmt.Sprintf("r%d", s.o.seed))
	items := append(append([]publishItem(nil), first...), second...)
	warm := &rssSample{}
	chaosCtx, stopChaos := context.WithCancel(ctx)
	chaosDone := make(chan struct{})
	go func() { defer close(chaosDone); s.chaos(chaosCtx) }()
	go s.sampleWarmRSS(chaosCtx, items, warm)

	s.logf("publishing %d + %d messages at %.0f/s", len(first), len(second), s.o.rate)
	pubErr := s.publish(ctx, first, 0)
	if pubErr == nil {
		s.logf("first phase published; waiting for its %d results", len(requestsOf(first)))
		if !s.waitResults(ctx, len(requestsOf(first))) {
			pubErr = fmt.Errorf("first phase not answered before -duration %s", s.o.duration)
		}
	}
	if pubErr == nil {
		pubErr = s.publish(ctx, second, len(first))
	}
	stopChaos()
	<-chaosDone
	if pubErr != nil {
		return nil, pubErr
	}
	// Chaos is over: every worker runs again, the faults drop to the baseline, and the rest drains.
	if err := s.setFaults(baselineFaults); err != nil {
		return nil, err
	}
	for i, w := range s.workers {
		if !w.running() {
			if err := s.restartWorker(ctx, i); err != nil {
				return nil, err
			}
		}
	}
	reqs := requestsOf(items)
	s.logf("published; waiting for %d results", len(reqs))
	drained := s.waitDrained(ctx, len(reqs))
	return s.check(ctx, reqs, drained, warm)
}

func skip(cases []hostile.Case, names string) []hostile.Case {
	if names == "" {
		return cases
	}
	drop := map[string]bool{}
	for _, n := range strings.Split(names, ",") {
		drop[strings.TrimSpace(n)] = true
	}
	var out []hostile.Case
	for _, c := range cases {
		if !drop[c.Name] {
			out = append(out, c)
		}
	}
	return out
}

func (s *soak) writeSecrets() error {
	b := make([]byte, 24)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[s.rng.IntN(36)]
	}
	s.secret = "soak-secret-" + string(b)
	if err := os.WriteFile(filepath.Join(s.dir, "secrets", "api-secret"), []byte(s.secret+"\n"), 0o600); err != nil {
		return err
	}
	user, err := nkeys.CreateUser()
	if err != nil {
		return err
	}
	if s.nkeySeed, err = user.Seed(); err != nil {
		return err
	}
	s.seedPath = filepath.Join(s.dir, "secrets", "nats.nk")
	if err := os.WriteFile(s.seedPath, s.nkeySeed, 0o600); err != nil {
		return err
	}
	pub, err := user.PublicKey()
	if err != nil {
		return err
	}
	if s.natsPort, err = freePort(); err != nil {
		return err
	}
	s.natsURL = fmt.Sprintf("nats://127.0.0.1:%d", s.natsPort)
	conf := fmt.Sprintf("listen: 127.0.0.1:%d\nmax_payload: 16MB\njetstream { store_dir: %q }\nauthorization { users = [ { nkey: %s } ] }\n",
		s.natsPort, filepath.Join(s.dir, "store"), pub)
	return os.WriteFile(filepath.Join(s.dir, "nats.conf"), []byte(conf), 0o600)
}

func (s *soak) startNATS() error {
	s.nats = &proc{name: "nats-server", path: filepath.Join(s.bin, "nats-server"),
		args: []string{"-c", filepath.Join(s.dir, "nats.conf")}, env: []string{},
		logPath: filepath.Join(s.dir, "logs", "nats-server.log")}
	s.nats.onCrash = func(p *proc, err error) { s.noteCrash(p, err) }
	if err := s.nats.start(); err != nil {
		return err
	}
	return waitTCP(fmt.Sprintf("127.0.0.1:%d", s.natsPort), 15*time.Second)
}

func (s *soak) startStandin(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.standinURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	s.standin = &proc{name: "plugnmeet-standin", path: filepath.Join(s.bin, "plugnmeet-standin"),
		args:    []string{"-addr", fmt.Sprintf("127.0.0.1:%d", port), "-seed", fmt.Sprint(s.o.seed), "-log-json"},
		env:     []string{"PLUGNMEET_API_KEY=" + apiKey, "PLUGNMEET_API_SECRET=" + s.secret},
		logPath: filepath.Join(s.dir, "logs", "plugnmeet-standin.log")}
	s.standin.onCrash = func(p *proc, err error) { s.noteCrash(p, err) }
	if err := s.standin.start(); err != nil {
		return err
	}
	if err := waitfor.OK(ctx, s.standinURL+"/_standin/stats", 15*time.Second); err != nil {
		return err
	}
	return s.setFaults(baselineFaults)
}

func (s *soak) startWorkers(ctx context.Context) error {
	s.workers = make([]*proc, s.o.workers)
	s.metricsURLs = make([]string, s.o.workers)
	for i := range s.workers {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.metricsURLs[i] = fmt.Sprintf("http://127.0.0.1:%d", port)
		s.workers[i] = &proc{name: fmt.Sprintf("roomworker-%d", i), path: filepath.Join(s.bin, "roomworker"),
			env: []string{
				"NATS_URL=" + s.natsURL,
				"NATS_NKEY=" + s.seedPath,
				"PLUGNMEET_URL=" + s.standinURL,
				"PLUGNMEET_API_KEY=" + apiKey,
				"PLUGNMEET_API_SECRET_FILE=" + filepath.Join(s.dir, "secrets", "api-secret"),
				fmt.Sprintf("METRICS_ADDR=127.0.0.1:%d", port),
				"CONCURRENCY=32",
				"REQUEST_TIMEOUT=2s",
				"RETRY_BASE_DELAY=100ms",
				"RETRY_MAX_DELAY=2s",
				"SHUTDOWN_TIMEOUT=5s",
				"IDEMPOTENCY_WINDOW=1h",
				"LOG_LEVEL=info",
				"LOG_FORMAT=json",
			},
			logPath: filepath.Join(s.dir, "logs", fmt.Sprintf("roomworker-%d.log", i))}
		s.workers[i].onCrash = func(p *proc, err error) { s.noteCrash(p, err) }
		if err := s.workers[i].start(); err != nil {
			return err
		}
		// The first worker provisions the streams; start the others once it is ready.
		if err := waitfor.OK(ctx, s.metricsURLs[i]+"/readyz", 30*time.Second); err != nil {
			return fmt.Errorf("%s: %w", s.workers[i].name, err)
		}
	}
	return nil
}

func (s *soak) restartWorker(ctx context.Context, i int) error {
	if err := s.workers[i].start(); err != nil {
		return err
	}
	return waitfor.OK(ctx, s.metricsURLs[i]+"/healthz", 15*time.Second)
}

// noteCrash records a process exit the soak did not ask for, and restarts a crashed worker so
// the run goes on (the crash still fails the soak).
func (s *soak) noteCrash(p *proc, err error) {
	s.mu.Lock()
	s.crashLog = append(s.crashLog, fmt.Sprintf("%s exited on its own: %v", p.name, err))
	s.mu.Unlock()
	s.logf("CRASH: %s exited on its own: %v", p.name, err)
}

func (s *soak) connect() error {
	opt, err := nats.NkeyOptionFromSeed(s.seedPath)
	if err != nil {
		return err
	}
	s.nc, err = nats.Connect(s.natsURL, opt, nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond), nats.Name("roomsoak"))
	if err != nil {
		return err
	}
	s.js, err = jetstream.New(s.nc)
	return err
}

// publish sends every item at the configured rate. A publish that fails (NATS restarting) is
// retried with the same Nats-Msg-Id, so a retry never stores a second copy.
func (s *soak) publish(ctx context.Context, items []publishItem, offset int) error {
	every := time.Duration(float64(time.Second) / s.o.rate)
	next := time.Now()
	for i, it := range items {
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		next = next.Add(every)
		msgID := fmt.Sprintf("soak-%d-%d", s.o.seed, offset+i)
		for attempt := 0; ; attempt++ {
			h := nats.Header{}
			for k, v := range it.req.header {
				h[k] = v
			}
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			ack, err := s.js.PublishMsg(pctx, &nats.Msg{Subject: "rooms.create", Header: h, Data: it.req.body}, jetstream.WithMsgID(msgID))
			cancel()
			if err == nil {
				it.req.seqs = append(it.req.seqs, fmt.Sprintf("%s/%d", ack.Stream, ack.Sequence))
				break
			}
			if ctx.Err() != nil {
				return fmt.Errorf("publish %d: %w", i, ctx.Err())
			}
			if attempt%10 == 9 {
				s.logf("publish %d still failing: %v", i, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

// requestsOf lists the distinct logical requests of the mix, in order.
func requestsOf(items []publishItem) []*request {
	seen := map[*request]bool{}
	var out []*request
	for _, it := range items {
		if !seen[it.req] {
			seen[it.req] = true
			out = append(out, it.req)
		}
	}
	return out
}

// waitDrained waits until the request consumer has nothing pending or in flight and the events
// stream holds at least want results, stable for two seconds. It reports whether that happened
// before ctx ended.
func (s *soak) waitDrained(ctx context.Context, want int) bool {
	stableSince := time.Time{}
	for {
		ok := false
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if c, err := s.js.Consumer(qctx, requestStream, "roomworker"); err == nil {
			if ci, err := c.Info(qctx); err == nil && ci.NumPending == 0 && ci.NumAckPending == 0 {
				if st, err := s.js.Stream(qctx, eventsStream); err == nil {
					if si, err := st.Info(qctx); err == nil && si.State.Msgs >= uint64(want) {
						ok = true
					}
				}
			}
		}
		cancel()
		switch {
		case !ok:
			stableSince = time.Time{}
		case stableSince.IsZero():
			stableSince = time.Now()
		case time.Since(stableSince) > 2*time.Second:
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitResults waits until ROOM_EVENTS holds at least want results.
func (s *soak) waitResults(ctx context.Context, want int) bool {
	for {
		qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		if st, err := s.js.Stream(qctx, eventsStream); err == nil {
			if si, err := st.Info(qctx); err == nil && si.State.Msgs >= uint64(want) {
				cancel()
				return true
			}
		}
		cancel()
		select {
		case <-ctx.Done():
			return false
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func waitTCP(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := (&netDialer).Dial("tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening within %s: %w", addr, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// setFaults replaces the stand-in's faults through its admin API.
func (s *soak) setFaults(f faults) error {
	b, _ := json.Marshal(f)
	req, _ := http.NewRequest(http.MethodPut, s.standinURL+"/_standin/faults", bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("set stand-in faults: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("set stand-in faults: %s: %s", resp.Status, msg)
	}
	return nil
}
