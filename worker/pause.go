package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/roomworker/roomworker/plugnmeet"
)

// maxProbeInterval bounds how long a paused worker waits between probes.
const maxProbeInterval = 30 * time.Second

// probeRoomID is the room the probe asks about; any well-formed id does.
const probeRoomID = "roomworker-credentials-probe"

// pauseReason says, for readiness and logs, why plugNmeet cannot be used and what to check.
func pauseReason(cause error) string {
	switch {
	case errors.Is(cause, plugnmeet.ErrCredentials):
		return fmt.Sprintf("plugNmeet rejects the credentials; check PLUGNMEET_API_KEY and PLUGNMEET_API_SECRET (%v)", cause)
	case errors.Is(cause, plugnmeet.ErrNotPlugNmeet):
		return fmt.Sprintf("PLUGNMEET_URL does not lead to the plugNmeet API; check PLUGNMEET_URL (%v)", cause)
	default:
		return fmt.Sprintf("plugNmeet's answers cannot be used until the configuration is fixed (%v)", cause)
	}
}

// probeCredentials checks, with a cheap signed call, whether a refusal (401/403) that a create
// call met is plugNmeet refusing our key (returned) or only that request (nil).
func (w *Worker) probeCredentials(ctx context.Context) error {
	_, err := w.isRoomActive(ctx, probeRoomID)
	if errors.Is(err, plugnmeet.ErrSystemic) {
		return err
	}
	return nil
}

// pause stops consumption while plugNmeet refuses the credentials or PLUGNMEET_URL does not
// lead to it. A probe re-checks with a cheap signed call (isRoomActive), first after 1s and then
// backing off to every 30s, and resumes consumption when the answer is anything else. While
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
	w.log.Error("consumption paused: "+pauseReason(cause), "plugnmeet_url", w.cfg.PlugNmeet.URL)
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
		_, err := w.isRoomActive(ctx, probeRoomID)
		cancel()
		if !errors.Is(err, plugnmeet.ErrSystemic) {
			w.resume()
			return
		}
		w.mu.Lock()
		w.pausedErr = err
		w.mu.Unlock()
		interval = min(2*interval, maxProbeInterval)
		w.log.Warn("still paused: "+pauseReason(err), "next_check", interval)
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
	w.log.Info("plugNmeet answers again: consumption resumed")
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
