package worker

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roomworker/roomworker/plugnmeet"
)

// maxProbeInterval bounds how long a paused worker waits between credential checks.
const maxProbeInterval = 30 * time.Second

// probeRoomID is the room the credential probe asks about; any well-formed id does.
const probeRoomID = "roomworker-credentials-probe"

// pause stops consumption after plugNmeet rejected the credentials (401/403). A probe re-checks
// the credentials with a cheap signed call (isRoomActive), first after 1s and then backing off
// to every 30s, and resumes consumption when the answer is anything but a rejection. While
// paused no message is fetched, so no delivery is spent and nothing turns into room.failed.
func (w *Worker) pause(cause error) {
	w.mu.Lock()
	if w.paused {
		w.pausedErr = cause
		w.mu.Unlock()
		return
	}
	w.paused = true
	w.pausedErr = cause
	w.resumed = make(chan struct{})
	w.mu.Unlock()
	w.metrics.systemicPause.Set(1)
	w.log.Error("plugNmeet rejects the credentials: consumption paused; check PLUGNMEET_API_KEY and PLUGNMEET_API_SECRET",
		"err", cause)
	go w.probe()
}

func (w *Worker) probe() {
	interval := time.Second
	for {
		select {
		case <-w.stopping:
			return
		case <-time.After(interval):
		}
		ctx, cancel := context.WithTimeout(context.Background(), w.cfg.RequestTimeout)
		start := time.Now()
		_, err := w.api.IsRoomActive(ctx, probeRoomID)
		cancel()
		w.metrics.observeAPI(plugnmeet.RouteIsRoomActive, start, err)
		if !errors.Is(err, plugnmeet.ErrSystemic) {
			w.resume()
			return
		}
		w.mu.Lock()
		w.pausedErr = err
		w.mu.Unlock()
		w.log.Warn("plugNmeet still rejects the credentials", "err", err, "next_check", min(2*interval, maxProbeInterval))
		interval = min(2*interval, maxProbeInterval)
	}
}

func (w *Worker) resume() {
	w.mu.Lock()
	if !w.paused {
		w.mu.Unlock()
		return
	}
	w.paused = false
	w.pausedErr = nil
	close(w.resumed)
	w.mu.Unlock()
	w.metrics.systemicPause.Set(0)
	w.log.Info("plugNmeet accepts the credentials again: consumption resumed")
}

// waitResumed blocks while the worker is paused.
func (w *Worker) waitResumed(ctx context.Context) error {
	for {
		w.mu.Lock()
		paused, ch := w.paused, w.resumed
		w.mu.Unlock()
		if !paused {
			return ctx.Err()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// pauseNakDelay is how long a delivery that met a credentials rejection waits before JetStream
// offers it again. A paused worker fetches nothing, so a short delay costs no deliveries here and
// lets the requests flow again soon after the probe sees the key accepted.
func (w *Worker) pauseNakDelay() time.Duration { return jitter(5 * time.Second) }

// nopRegisterer accepts and forgets metrics (when the caller does not want them).
type nopRegisterer struct{}

func (nopRegisterer) Register(prometheus.Collector) error  { return nil }
func (nopRegisterer) MustRegister(...prometheus.Collector) {}
func (nopRegisterer) Unregister(prometheus.Collector) bool { return true }
