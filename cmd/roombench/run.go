package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/cpuprofile"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

type lookupFunc func(string) (string, bool)

const (
	benchKey    = "plugnmeet"
	benchSecret = "roombench-secret"
)

// options are the command-line settings.
type options struct {
	n            int
	concurrency  []int
	latency      []time.Duration
	replicas     []int
	runs         int
	paceFraction float64
	paceSeconds  float64
	workerBin    string
	skipBaseline bool
	baseline     string // a key of baselines
	// workerCPU, when not empty, is the CPU list (taskset -c) the consumer processes run on;
	// the rig (nats-server, stand-in, publisher: this process) keeps the other CPUs.
	workerCPU string
	// profileDir, when not empty, receives a CPU profile of each consumer process's drain.
	profileDir string
	// otlpEndpoint, when not empty: roomworker exports every span there (sampler always_on).
	otlpEndpoint string
}

func run(ctx context.Context, args []string, lookup lookupFunc, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case baselines["bare"].role:
			return runBare(ctx, lookup)
		case baselines["client-pipeline"].role:
			return runClientBaseline(ctx, lookup)
		}
	}
	fs := flag.NewFlagSet("roombench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	var conc, lat, reps string
	fs.IntVar(&o.n, "n", 5000, "requests per measurement (pre-published, distinct room_ids, ~2 KB each)")
	fs.StringVar(&conc, "concurrency", "1,8,64,256", "comma-separated worker concurrencies to sweep")
	fs.StringVar(&lat, "latency", "0ms,20ms", "comma-separated stand-in latencies to sweep")
	fs.StringVar(&reps, "replicas", "1", "comma-separated numbers of roomworker processes to sweep (e.g. 1,2,4)")
	fs.IntVar(&o.runs, "runs", 3, "rotations per configuration (roomworker and the baseline alternate; one line gives median, min, max)")
	fs.StringVar(&o.baseline, "baseline", "bare", "the baseline: bare (Consume with prefetch, net/http, answer not decoded) or client-pipeline (roomworker's plugnmeet client and pull discipline)")
	fs.Float64Var(&o.paceFraction, "pace", 0.5, "latency phase: publish rate as a fraction of the slower drain rate in the rotation")
	fs.Float64Var(&o.paceSeconds, "pace-seconds", 3, "latency phase: how long to publish at the paced rate")
	fs.StringVar(&o.workerBin, "worker-bin", "", "roomworker binary to run (default: built from this module)")
	fs.BoolVar(&o.skipBaseline, "no-baseline", false, "skip the baseline (the line then has no baseline metrics and no ratios)")
	bookings := fs.Int("bookings", 0, "instead of the sweep: book `N` rooms all due in the same second and print their fire lag (p50/p99/max)")
	lead := fs.Duration("create-lead", 2*time.Second, "with -bookings: the workers' CREATE_LEAD")
	pin := fs.Bool("pin", false, "run the consumer processes (roomworker and the baseline) on the last CPU and this process "+
		"(nats-server, stand-in, publisher) on the others, with taskset, so the rig and the worker do not fight for a CPU")
	fs.StringVar(&o.profileDir, "worker-cpuprofile", "", "write a CPU profile of each consumer process (roomworker built with -tags pprof, and the baseline) "+
		"from its start to the end of the drain into `DIR`")
	trace := fs.Bool("trace", false, "roomworker records every span (OTEL_TRACES_SAMPLER=always_on) and exports it over OTLP/HTTP "+
		"to a receiver in this process that reads and discards it (the cost of tracing on)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (nats-server, stand-in, driver) to `FILE`")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: roombench [flags]\n\nFor each configuration prints one JSON line naming its baseline: for roomworker and the\n"+
			"baseline, alternating in -runs rotations on fresh servers of the same kind with the same payloads,\n"+
			"drain throughput (msgs/s), worker CPU µs per message, paced p50/p99 latency, peak RSS, NATS messages\n"+
			"and create calls per request, and the ratios roomworker/baseline: median, min, max and every run.\n"+
			"With -bookings N it instead books N rooms all due in the same second and prints their fire lag as one JSON line.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var err error
	if o.concurrency, err = parseInts(conc); err != nil {
		return fmt.Errorf("-concurrency: %w", err)
	}
	if o.replicas, err = parseInts(reps); err != nil {
		return fmt.Errorf("-replicas: %w", err)
	}
	for _, s := range strings.Split(lat, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-latency: %w", err)
		}
		o.latency = append(o.latency, d)
	}
	if o.n < 1 || o.runs < 1 {
		return errors.New("-n and -runs must be positive")
	}
	if _, ok := baselines[o.baseline]; !ok {
		return fmt.Errorf("-baseline: %q is neither bare nor client-pipeline", o.baseline)
	}
	if *bookings < 0 || *lead < 0 {
		return errors.New("-bookings and -create-lead must not be negative")
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	if *pin {
		if o.workerCPU, err = pinRig(stderr); err != nil {
			return fmt.Errorf("-pin: %w", err)
		}
	}
	if *trace {
		sink := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			rw.Header().Set("Content-Type", "application/x-protobuf")
			rw.WriteHeader(http.StatusOK)
		}))
		defer sink.Close()
		o.otlpEndpoint = sink.URL
	}
	tmp, err := os.MkdirTemp("", "roombench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.workerBin == "" {
		o.workerBin = filepath.Join(tmp, "roomworker")
		fmt.Fprintln(stderr, "building roomworker ...")
		build := []string{"build", "-o", o.workerBin}
		if o.profileDir != "" {
			build = append(build, "-tags", "pprof")
		}
		if out, err := exec.Command("go", append(build, "github.com/roomworker/roomworker/cmd/roomworker")...).CombinedOutput(); err != nil {
			return fmt.Errorf("build roomworker: %v\n%s", err, out)
		}
	}
	if *bookings > 0 {
		bo := bookingOptions{n: *bookings, replicas: o.replicas[0], concurrency: 64, lead: *lead, workerBin: o.workerBin}
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "concurrency" {
				bo.concurrency = o.concurrency[0]
			}
		})
		return runBookings(ctx, bo, tmp, stdout, stderr)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for _, latency := range o.latency {
		for _, c := range o.concurrency {
			for _, r := range o.replicas {
				rep, err := measure(ctx, o, self, tmp, config{concurrency: c, replicas: r, latency: latency}, stderr)
				if err != nil {
					return err
				}
				line, _ := json.Marshal(rep)
				fmt.Fprintln(stdout, string(line))
			}
		}
	}
	return nil
}

type config struct {
	concurrency, replicas int
	latency               time.Duration
}

// report is one configuration's JSON line.
type report struct {
	Baseline     string  `json:"baseline"`
	BaselineWhat string  `json:"baseline_is"`
	N            int     `json:"n"`
	Concurrency  int     `json:"concurrency"`
	Replicas     int     `json:"replicas"`
	LatencyMs    float64 `json:"standin_latency_ms"`
	Rotations    int     `json:"rotations"`
	// Pinned: consumers on their own CPU (-pin); Traced: roomworker exports every span (-trace).
	Pinned bool `json:"pinned,omitempty"`
	Traced bool `json:"traced,omitempty"`
	// Order is who ran first in each rotation.
	Order      []string `json:"order"`
	Roomworker metrics  `json:"roomworker"`
	Base       *metrics `json:"baseline_metrics,omitempty"`
	// Ratio is roomworker / baseline, per rotation, then summarised.
	Ratio    *ratios `json:"ratio_roomworker_over_baseline,omitempty"`
	PacedRPS spread  `json:"paced_rps"`
}

// measure runs -runs rotations of roomworker and the baseline, alternating who goes first, each
// phase on fresh servers with the same payloads: first both drain a pre-published backlog
// (throughput, CPU), then both get the same paced load (a fraction of the slower drain rate of
// the rotation) for end-to-end latency.
func measure(ctx context.Context, o options, self, tmp string, c config, log io.Writer) (report, error) {
	bl := baselines[o.baseline]
	rep := report{Baseline: o.baseline, BaselineWhat: bl.what, N: o.n, Concurrency: c.concurrency, Replicas: c.replicas,
		LatencyMs: float64(c.latency) / 1e6, Rotations: o.runs, Pinned: o.workerCPU != "", Traced: o.otlpEndpoint != ""}
	argv := map[string][]string{"roomworker": {o.workerBin}, "baseline": {self, bl.role}}
	procs := map[string]int{"roomworker": c.replicas, "baseline": 1}
	var paced []float64
	var rws, bases []sample
	for i := range o.runs {
		order := rotationOrder(i, !o.skipBaseline)
		rep.Order = append(rep.Order, strings.Join(order, ","))
		fmt.Fprintf(log, "concurrency=%d replicas=%d latency=%s n=%d baseline=%s: rotation %d/%d (%s)\n",
			c.concurrency, c.replicas, c.latency, o.n, o.baseline, i+1, o.runs, strings.Join(order, " then "))
		got := map[string]*sample{}
		slowest := 0.0
		for _, who := range order {
			res, err := runPhase(ctx, o, c, tmp, who, o.n, 0, argv[who], procs[who])
			if err != nil {
				return rep, fmt.Errorf("%s drain: %w", who, err)
			}
			got[who] = &sample{rps: res.rps, cpuUsPerMsg: res.cpuSec / float64(o.n) * 1e6, peakRSSMiB: res.peakRSS / (1 << 20),
				rigCPUUsPerMsg: res.rigCPUSec / float64(o.n) * 1e6,
				natsMsgsPerReq: res.natsMsgsPerReq, createCalls: res.createCallsPerReq}
			if slowest == 0 || res.rps < slowest {
				slowest = res.rps
			}
		}
		pace := slowest * o.paceFraction
		for _, who := range order {
			res, err := runPhase(ctx, o, c, tmp, who, 0, pace, argv[who], procs[who])
			if err != nil {
				return rep, fmt.Errorf("%s latency: %w", who, err)
			}
			got[who].p50, got[who].p99 = res.p50, res.p99
			if who == "roomworker" {
				paced = append(paced, res.pacedRPS)
			}
		}
		for _, who := range order {
			s := got[who]
			fmt.Fprintf(log, "  %-10s %8.1f msgs/s  %7.1f µs CPU/msg  rig %7.1f µs/msg  p50 %6.2f ms  p99 %6.2f ms\n", who, s.rps, s.cpuUsPerMsg, s.rigCPUUsPerMsg, s.p50, s.p99)
		}
		rws = append(rws, *got["roomworker"])
		if b, ok := got["baseline"]; ok {
			bases = append(bases, *b)
		}
	}
	rep.Roomworker = metricsOf(rws)
	rep.PacedRPS = spreadOf(paced)
	if len(bases) > 0 {
		m, r := metricsOf(bases), ratiosOf(rws, bases)
		rep.Base, rep.Ratio = &m, &r
	}
	return rep, nil
}

type phaseResult struct {
	rps, pacedRPS               float64
	p50, p95, p99               float64
	cpuSec, peakRSS             float64
	rigCPUSec                   float64 // this process (nats-server, stand-in, publisher, subscriber) during the drain
	jsAPIPerReq, natsMsgsPerReq float64
	createCallsPerReq           float64
}

// runPhase starts a fresh nats-server and stand-in and the consumer processes. With drain > 0 it
// times the drain of that many pre-published requests; with pace > 0 it publishes at that rate
// for o.paceSeconds and records each request's publish-to-result latency.
func runPhase(ctx context.Context, o options, c config, tmp, name string, drain int, pace float64, argv []string, procs int) (phaseResult, error) {
	var res phaseResult
	dir, err := os.MkdirTemp(tmp, name+"-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: dir, NoSigs: true, NoLog: true, MaxPayload: 8 << 20})
	if err != nil {
		return res, err
	}
	ns.Start()
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	if !ns.ReadyForConnections(10 * time.Second) {
		return res, errors.New("nats-server did not start")
	}
	standin := plugnmeettest.NewServer(plugnmeettest.Options{APIKey: benchKey, APISecret: benchSecret})
	defer standin.Close()
	standin.SetFaults(plugnmeettest.Faults{Latency: c.latency})

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		return res, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return res, err
	}
	if err := createStreams(ctx, js); err != nil {
		return res, err
	}

	// Count results as they are stored, and note when each room's result arrived.
	var stored atomic.Int64
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	sub, err := nc.Subscribe("rooms.*", func(m *nats.Msg) {
		if m.Subject == "rooms.create" {
			return
		}
		now := time.Now()
		room := m.Header.Get("ce-subject")
		mu.Lock()
		arrived[room] = now
		mu.Unlock()
		stored.Add(1)
	})
	if err != nil {
		return res, err
	}
	defer sub.Unsubscribe()

	body := seedBody()
	if err := prepublish(ctx, js, body, "req-drain", drain); err != nil {
		return res, err
	}
	jszBefore, varzBefore := serverCounters(ns)
	rigBefore, _, err := procUsage(os.Getpid())
	if err != nil {
		return res, fmt.Errorf("rig CPU: %w", err)
	}
	callsBefore := standin.Stats().CreateCalls

	env := append(os.Environ(),
		"NATS_URL="+ns.ClientURL(), "PLUGNMEET_URL="+standin.URL, "PLUGNMEET_API_KEY="+benchKey,
		"PLUGNMEET_API_SECRET="+benchSecret, "CONCURRENCY="+strconv.Itoa(c.concurrency),
		"MAX_ACK_PENDING="+strconv.Itoa(max(1024, c.concurrency*procs)), "METRICS_ADDR=127.0.0.1:0",
		"LOG_LEVEL=warn", "REQUEST_TIMEOUT=10s")
	start := time.Now()
	var cmds []*exec.Cmd
	for i := range procs {
		cmd := exec.Command(argv[0], argv[1:]...)
		if o.workerCPU != "" {
			cmd = exec.Command("taskset", append([]string{"-c", o.workerCPU}, argv...)...) // taskset execs: same pid
		}
		cmd.Env = env
		if o.otlpEndpoint != "" && name == "roomworker" {
			cmd.Env = append(cmd.Env, "OTEL_EXPORTER_OTLP_ENDPOINT="+o.otlpEndpoint, "OTEL_TRACES_SAMPLER=always_on")
		}
		if o.profileDir != "" {
			cmd.Env = append(cmd.Env, cpuprofile.EnvVar+"="+filepath.Join(o.profileDir,
				fmt.Sprintf("%s-c%d-%s-%d-%d.pprof", name, c.concurrency, c.latency, time.Now().UnixNano(), i)))
		}
		cmd.Stderr = &prefixWriter{prefix: fmt.Sprintf("[%s %d] ", name, i), w: os.Stderr}
		if err := cmd.Start(); err != nil {
			return res, err
		}
		cmds = append(cmds, cmd)
	}
	defer func() {
		for _, cmd := range cmds {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	deadline := time.Now().Add(10 * time.Minute)
	if drain > 0 {
		for stored.Load() < int64(drain) {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return res, fmt.Errorf("%d of %d results after %s", stored.Load(), drain, time.Since(start))
			}
			time.Sleep(2 * time.Millisecond)
		}
		elapsed := time.Since(start)
		res.rps = float64(drain) / elapsed.Seconds()
		jszAfter, varzAfter := serverCounters(ns)
		res.jsAPIPerReq = float64(jszAfter-jszBefore) / float64(drain)
		res.natsMsgsPerReq = float64(varzAfter-varzBefore) / float64(drain)
		res.createCallsPerReq = float64(standin.Stats().CreateCalls-callsBefore) / float64(drain)
		if rigAfter, _, err := procUsage(os.Getpid()); err == nil {
			res.rigCPUSec = rigAfter - rigBefore
		}
		for _, cmd := range cmds {
			cpu, rss, err := procUsage(cmd.Process.Pid)
			if err != nil {
				return res, fmt.Errorf("worker CPU: %w", err)
			}
			res.cpuSec += cpu
			res.peakRSS = max(res.peakRSS, rss)
		}
		if o.profileDir != "" {
			for _, cmd := range cmds {
				_ = cmd.Process.Signal(syscall.SIGUSR2) // the profile ends with the drain
			}
			time.Sleep(300 * time.Millisecond)
		}
	}

	if paced := int(pace * o.paceSeconds); paced > 0 {
		// Wait until the consumers are up (they are when a warm-up request comes back).
		warm, err := requestMsg(body, "req-warmup")
		if err != nil {
			return res, err
		}
		if _, err := js.PublishMsg(ctx, warm); err != nil {
			return res, err
		}
		for stored.Load() < int64(drain)+1 {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return res, errors.New("paced phase: consumers did not start")
			}
			time.Sleep(2 * time.Millisecond)
		}
		sentAt, rate, err := publishPaced(ctx, js, body, "req-paced", paced, pace)
		if err != nil {
			return res, err
		}
		res.pacedRPS = rate
		want := int64(drain + 1 + paced)
		for stored.Load() < want {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return res, fmt.Errorf("paced phase: %d of %d results", stored.Load(), want)
			}
			time.Sleep(2 * time.Millisecond)
		}
		mu.Lock()
		var lat []float64
		for room, t0 := range sentAt {
			lat = append(lat, float64(arrived[room].Sub(t0))/1e6)
		}
		mu.Unlock()
		slices.Sort(lat)
		res.p50, res.p95, res.p99 = round3(pct(lat, 0.50)), round3(pct(lat, 0.95)), round3(pct(lat, 0.99))
	}

	for _, cmd := range cmds {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	return res, nil
}

func createStreams(ctx context.Context, js jetstream.JetStream) error {
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ROOM_REQUESTS", Subjects: []string{"rooms.create"},
		Retention: jetstream.WorkQueuePolicy, Storage: jetstream.FileStorage, Replicas: 1, Duplicates: 2 * time.Minute}); err != nil {
		return err
	}
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "ROOM_EVENTS", Subjects: []string{"rooms.created", "rooms.failed"},
		Retention: jetstream.LimitsPolicy, Storage: jetstream.FileStorage, Replicas: 1, MaxAge: 168 * time.Hour,
		Duplicates: 10 * time.Minute})
	return err
}

// requestMsg is one room.create event in binary mode, its room_id also in ce-subject so the
// baseline (which reads no JSON) can label its results.
func requestMsg(body map[string]any, roomID string) (*nats.Msg, error) {
	body["room_id"] = roomID
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	ev := event.New()
	ev.SetID(roomID)
	ev.SetSource("roombench")
	ev.SetType(events.TypeCreateRoom)
	ev.SetSubject(roomID)
	if err := ev.SetData(event.ApplicationJSON, data); err != nil {
		return nil, err
	}
	h, b, err := events.EncodeBinary(&ev)
	if err != nil {
		return nil, err
	}
	return &nats.Msg{Subject: "rooms.create", Header: h, Data: b}, nil
}

func prepublish(ctx context.Context, js jetstream.JetStream, body map[string]any, prefix string, n int) error {
	const window = 512
	var pending []jetstream.PubAckFuture
	for i := range n {
		msg, err := requestMsg(body, fmt.Sprintf("%s-%06d", prefix, i))
		if err != nil {
			return err
		}
		f, err := js.PublishMsgAsync(msg)
		if err != nil {
			return err
		}
		pending = append(pending, f)
		if len(pending) >= window || i == n-1 {
			for _, f := range pending {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					return err
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			pending = pending[:0]
		}
	}
	return nil
}

// publishPaced publishes n requests at rate per second and returns when each was sent.
func publishPaced(ctx context.Context, js jetstream.JetStream, body map[string]any, prefix string, n int, rate float64) (map[string]time.Time, float64, error) {
	sent := make(map[string]time.Time, n)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := range n {
		room := fmt.Sprintf("%s-%06d", prefix, i)
		msg, err := requestMsg(body, room)
		if err != nil {
			return nil, 0, err
		}
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		sent[room] = time.Now()
		if _, err := js.PublishMsgAsync(msg); err != nil {
			return nil, 0, err
		}
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		return nil, 0, errors.New("paced publishes not acknowledged within 30s")
	}
	return sent, float64(n) / time.Since(start).Seconds(), nil
}

// seedBody is the seed document's full example request (~2 KB), as a map so each copy gets its
// own room_id.
func seedBody() map[string]any {
	var m map[string]any
	if err := json.Unmarshal(seedExample, &m); err != nil {
		panic(err) // the embedded example is valid JSON; a test checks it
	}
	return m
}

func serverCounters(ns *server.Server) (jsAPI, msgsIn int64) {
	if jsz, err := ns.Jsz(&server.JSzOptions{}); err == nil {
		jsAPI = int64(jsz.JetStreamStats.API.Total)
	}
	if vz, err := ns.Varz(&server.VarzOptions{}); err == nil {
		msgsIn = vz.InMsgs
	}
	return jsAPI, msgsIn
}

// procUsage reads a process's CPU seconds (utime+stime) and peak RSS in bytes from /proc.
func procUsage(pid int) (cpuSec, peakRSS float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	ticks, err := parseProcStat(string(b))
	if err != nil {
		return 0, 0, err
	}
	if b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err != nil {
		return 0, 0, err
	}
	if peakRSS, err = parseVmHWM(string(b)); err != nil {
		return 0, 0, err
	}
	return float64(ticks) / userHZ, peakRSS, nil
}

// userHZ is the unit of /proc/<pid>/stat's utime and stime (sysconf(_SC_CLK_TCK), 100 on
// Linux on every architecture Go supports).
const userHZ = 100

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// prefixWriter labels a child process's stderr lines.
type prefixWriter struct {
	prefix string
	w      io.Writer
	mu     sync.Mutex
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprint(p.w, p.prefix+line)
		}
	}
	return len(b), nil
}
