package main

import (
	"context"
	"net"
	"syscall"
	"time"

	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

type faults = plugnmeettest.Faults

// baselineFaults are in force all the time: a few percent of create calls fail in every way
// the stand-in knows, and a lost answer creates the room without telling the worker.
var baselineFaults = faults{
	Latency:         2 * time.Millisecond,
	LatencyJitter:   10 * time.Millisecond,
	Error5xxRate:    0.02,
	ResetRate:       0.01,
	TimeoutRate:     0.003,
	LockTimeoutRate: 0.01,
	LostAnswerRate:  0.01,
}

var netDialer = net.Dialer{Timeout: time.Second}

// chaos runs one disruption after another until ctx ends. Worker 0 is left alone so its memory
// can be followed from warm-up to the end; the others are killed, stopped and restarted.
func (s *soak) chaos(ctx context.Context) {
	lastNATS := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.o.chaosEvery):
		}
		r := s.rng.Float64()
		victim := 1 + s.rng.IntN(len(s.workers)-1)
		switch {
		case r < 0.30:
			s.killWorker(ctx, victim)
		case r < 0.50:
			s.termWorker(ctx, victim)
		case r < 0.65 && time.Since(lastNATS) > 15*time.Second:
			s.restartNATS()
			lastNATS = time.Now()
		case r < 0.78:
			s.faultWindow(ctx, "latency spike", func(f *faults) { f.Latency, f.LatencyJitter = 300*time.Millisecond, 500*time.Millisecond }, 3*time.Second)
			s.count(func(c *chaosCounts) { c.LatencySpikes++ })
		case r < 0.90:
			s.faultWindow(ctx, "5xx burst", func(f *faults) { f.Error5xxRate = 0.5 }, 2*time.Second)
			s.count(func(c *chaosCounts) { c.Bursts5xx++ })
		default:
			s.faultWindow(ctx, "401 window", func(f *faults) { f.Unauthorized = true }, 1500*time.Millisecond)
			s.count(func(c *chaosCounts) { c.AuthWindows++ })
		}
	}
}

func (s *soak) count(f func(*chaosCounts)) {
	s.mu.Lock()
	f(&s.counts)
	s.mu.Unlock()
}

// killWorker SIGKILLs a worker and restarts it shortly after. Create calls it had in flight may
// have reached plugNmeet without a recorded answer: the number of requests it had in flight just
// before the kill, plus one for a request fetched between that scrape and the kill, is added to
// the create-call allowance.
func (s *soak) killWorker(ctx context.Context, i int) {
	w := s.workers[i]
	if !w.running() {
		return
	}
	inflight, _ := gauge(s.metricsURLs[i]+"/metrics", "roomworker_inflight")
	s.logf("SIGKILL %s (%.0f in flight)", w.name, inflight)
	_ = w.stop(syscall.SIGKILL, 5*time.Second)
	s.count(func(c *chaosCounts) { c.Kills++ })
	s.mu.Lock()
	s.killAllowance += inflight + 1
	s.mu.Unlock()
	sleepCtx(ctx, time.Duration(500+s.rng.IntN(1500))*time.Millisecond)
	if err := s.restartWorker(context.WithoutCancel(ctx), i); err != nil {
		s.logf("restart %s: %v", w.name, err)
	}
}

// termWorker SIGTERMs a worker, which must exit 0 within its grace period, and restarts it.
func (s *soak) termWorker(ctx context.Context, i int) {
	w := s.workers[i]
	if !w.running() {
		return
	}
	s.logf("SIGTERM %s", w.name)
	err := w.stop(syscall.SIGTERM, 20*time.Second)
	s.count(func(c *chaosCounts) { c.Terms++ })
	if err != nil {
		s.mu.Lock()
		s.termExitErrors = append(s.termExitErrors, w.name+": "+err.Error())
		s.mu.Unlock()
	}
	sleepCtx(ctx, 300*time.Millisecond)
	if err := s.restartWorker(context.WithoutCancel(ctx), i); err != nil {
		s.logf("restart %s: %v", w.name, err)
	}
}

// restartNATS stops nats-server gracefully and starts it again on the same port and store.
func (s *soak) restartNATS() {
	s.logf("restarting nats-server")
	if err := s.nats.stop(syscall.SIGTERM, 30*time.Second); err != nil {
		s.logf("nats-server exit: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	if err := s.nats.start(); err != nil {
		s.logf("nats-server start: %v", err)
		return
	}
	if err := waitTCP(s.natsURL[len("nats://"):], 30*time.Second); err != nil {
		s.logf("nats-server: %v", err)
	}
	s.count(func(c *chaosCounts) { c.NATSRestarts++ })
}

// faultWindow applies change on top of the baseline for d, then goes back to the baseline.
func (s *soak) faultWindow(ctx context.Context, name string, change func(*faults), d time.Duration) {
	f := baselineFaults
	change(&f)
	s.logf("%s for %s", name, d)
	if err := s.setFaults(f); err != nil {
		s.logf("%s: %v", name, err)
		return
	}
	sleepCtx(ctx, d)
	if err := s.setFaults(baselineFaults); err != nil {
		s.logf("restore faults: %v", err)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// rssSample is worker 0's resident memory after warm-up.
type rssSample struct {
	kb  int64
	pid int
}

// sampleWarmRSS records worker 0's RSS once a fifth of the requests have results, and at least
// 1,000 (or half of a short run), so the Go heap has grown to its working size first. The value
// kept is the highest RSS sampled (every 500 ms) until then: the level the worker reached while
// warming up, so a single sample taken between two garbage collections does not set the mark.
func (s *soak) sampleWarmRSS(ctx context.Context, items []publishItem, out *rssSample) {
	total := len(requestsOf(items))
	want := uint64(max(total/5, min(1000, total/2)))
	var peak int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(500 * time.Millisecond):
		}
		qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := s.js.Stream(qctx, eventsStream)
		var n uint64
		if err == nil {
			if si, err := st.Info(qctx); err == nil {
				n = si.State.Msgs
			}
		}
		cancel()
		pid := s.workers[0].pid()
		if kb, err := rssKB(pid); err == nil {
			peak = max(peak, kb)
		}
		if n >= want && peak > 0 {
			s.mu.Lock()
			out.kb, out.pid = peak, pid
			s.mu.Unlock()
			s.logf("warm-up RSS of %s: %d kB (highest sample) after %d results", s.workers[0].name, peak, n)
			return
		}
	}
}
