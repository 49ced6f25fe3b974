// Package worker consumes room.create, room.end and room.cancel requests from JetStream, creates
// and ends the rooms in plugNmeet and publishes one final result per request; it also receives
// plugNmeet's webhooks and republishes them as lifecycle events.
//
// The shape: decide (decide.go) makes the whole decision about one delivery and returns a
// verdict (verdict.go); execute (execute.go) alone carries verdicts out — record, publish the
// result and wait for its PubAck, end the delivery. The room lease, session records, outcomes and
// attempt counters live in a JetStream key-value bucket (store.go); bookings are JetStream message
// schedules (booking.go); the durable consumer is provisioned and kept in line by consumer.go; a
// plugNmeet that refuses the key or is not at PLUGNMEET_URL pauses consumption (pause.go). The
// webhook receiver is webhook.go, and reconcile.go closes the gaps webhooks leave.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/internal/tracing"
	"github.com/roomworker/roomworker/plugnmeet"
)

// RoomAPI is the part of the plugNmeet client the worker uses.
type RoomAPI interface {
	CreateRoom(ctx context.Context, body []byte) (*plugnmeet.RoomInfo, error)
	IsRoomActive(ctx context.Context, roomID string) (bool, error)
	EndRoom(ctx context.Context, roomID string) error
}

// Deps are the worker's collaborators.
type Deps struct {
	NC      *nats.Conn
	API     RoomAPI
	Logger  *slog.Logger
	Metrics *Metrics
	// Tracing records a span per delivery when it is on; nil is off.
	Tracing *tracing.Tracing
}

// Worker consumes room.create requests and publishes their results.
type Worker struct {
	cfg     Config
	id      string
	nc      *nats.Conn
	js      jetstream.JetStream
	api     RoomAPI
	log     *slog.Logger
	metrics *Metrics
	tr      *tracing.Tracing
	backoff backoff
	store   *store

	stopping chan struct{} // closed when shutdown starts: no new fetches, no in-process waits
	stopOnce sync.Once

	mu        sync.Mutex
	notReady  string // why the worker is not ready ("" when ready)
	paused    bool
	pausedErr error
	resumed   chan struct{} // closed when a pause ends

	// The consumer's settings in force (they may be a newer worker's: see consumer.go).
	ackWaitNs       atomic.Int64
	schedules       atomic.Bool // the NATS server has message schedules (bookings)
	warnedSchedules bool        // the start-up warning about an old server was logged (Provision only)
	serverVersion   func() string
}

// New builds a worker; Run starts it.
func New(cfg Config, deps Deps) (*Worker, error) {
	if deps.NC == nil || deps.API == nil {
		return nil, errors.New("worker: NATS connection and plugNmeet API are required")
	}
	// Unanswered publishes are forgotten after publishAckTimeout instead of filling the pending
	// map until every publish stalls.
	js, err := jetstream.New(deps.NC, jetstream.WithPublishAsyncTimeout(publishAckTimeout),
		jetstream.WithPublishAsyncMaxPending(4*cfg.Concurrency+64))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := deps.Metrics
	if m == nil {
		m = NewMetrics(nopRegisterer{})
	}
	w := &Worker{
		cfg:      cfg,
		id:       uuid.NewString(),
		nc:       deps.NC,
		js:       js,
		api:      deps.API,
		log:      log,
		metrics:  m,
		tr:       deps.Tracing,
		backoff:  backoff{base: cfg.RetryBaseDelay, max: cfg.RetryMaxDelay},
		store:    &store{js: js, bucket: cfg.Bucket, window: cfg.IdempotencyWindow},
		stopping: make(chan struct{}),
		notReady: "starting: streams and consumer not provisioned yet",
	}
	w.serverVersion = deps.NC.ConnectedServerVersion
	w.ackWaitNs.Store(int64(cfg.AckWait()))
	m.reportReady(func() bool { return w.Ready() == nil })
	m.reportPendingPublishes(js.PublishAsyncPending)
	return w, nil
}

// Ready returns nil when the worker can take work, or why not: NATS disconnected, consumer not
// bound (or its settings unusable), plugNmeet refusing the key or not at PLUGNMEET_URL,
// shutting down.
func (w *Worker) Ready() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.notReady != "":
		return errors.New(w.notReady)
	case w.paused:
		return fmt.Errorf("paused: %s", pauseReason(w.pausedErr))
	case !w.nc.IsConnected():
		return fmt.Errorf("NATS not connected (%s)", w.nc.Status())
	}
	return nil
}

func (w *Worker) setNotReady(why string) {
	w.mu.Lock()
	if !w.shuttingDown() {
		w.notReady = why
	}
	w.mu.Unlock()
}

// setReady clears the reason the worker was not ready (not the shutdown).
func (w *Worker) setReady() { w.setNotReady("") }

func (w *Worker) shuttingDown() bool {
	select {
	case <-w.stopping:
		return true
	default:
		return false
	}
}

func (w *Worker) ackWait() time.Duration { return time.Duration(w.ackWaitNs.Load()) }
func (w *Worker) maxDeliver() int        { return w.cfg.MaxDeliver }

// Run provisions the streams, consumer and bucket, then consumes until ctx is cancelled. On
// cancellation it stops fetching, lets deliveries in progress finish for up to SHUTDOWN_TIMEOUT
// (after which their create calls are cancelled and they are put back), and returns nil.
func (w *Worker) Run(ctx context.Context) error {
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	go func() {
		<-ctx.Done()
		w.beginShutdown()
	}()

	cons := w.provisionLoop(ctx)
	if cons == nil {
		return nil
	}
	w.log.Info("consuming", "stream", w.cfg.RequestStream, "consumer", w.cfg.Consumer, "concurrency", w.cfg.Concurrency,
		"worker_id", w.id)

	go w.reconcileLoop(ctx)
	go w.pollGauges(ctx)
	var running sync.WaitGroup
	w.consume(ctx, hard, cons, &running)
	w.log.Info("shutting down: fetching stopped, finishing deliveries in progress", "grace", w.cfg.ShutdownTimeout)

	done := make(chan struct{})
	go func() { running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.ShutdownTimeout):
		w.log.Warn("shutdown grace period over: cancelling create calls in progress; their requests will be redelivered",
			"grace", w.cfg.ShutdownTimeout)
		cancelHard()
		<-done
	}
	w.log.Info("worker stopped")
	return nil
}

// beginShutdown turns readiness off and stops new work.
func (w *Worker) beginShutdown() {
	w.stopOnce.Do(func() {
		w.mu.Lock()
		w.notReady = "shutting down"
		close(w.stopping)
		w.mu.Unlock()
	})
}

// fetchWait is how long one pull request waits for messages.
const fetchWait = 2 * time.Second

// consume fetches at most as many messages as there are free slots, so nothing waits in a
// client-side buffer while its ack timer runs. It re-checks the consumer every CONSUMER_RECHECK
// and whenever fetching fails, and re-creates it when it is gone.
func (w *Worker) consume(ctx, hard context.Context, cons jetstream.Consumer, running *sync.WaitGroup) {
	slots := make(chan struct{}, w.cfg.Concurrency)
	// As many long-lived handler goroutines as slots: a fetched message always finds one free,
	// and a handler's stack, grown by its first deliveries, is not grown again for every message
	// (a goroutine per message spent about 5 % of the worker's CPU in stack growth, pprof).
	work := make(chan jetstream.Msg)
	defer close(work)
	for range w.cfg.Concurrency {
		go func() {
			for msg := range work {
				select {
				case <-w.stopping:
					w.handBack(hard, msg) // fetched after shutdown began
				default:
					w.handle(hard, msg)
				}
				<-slots
				running.Done()
			}
		}()
	}
	fetchErrs := 0
	nextCheck := time.Now().Add(w.cfg.ConsumerRecheck)
	for {
		if err := w.waitResumed(ctx); err != nil {
			return
		}
		if fetchErrs > 0 || time.Now().After(nextCheck) {
			if cons = w.keepConsumer(ctx, cons); cons == nil {
				return
			}
			nextCheck = time.Now().Add(w.cfg.ConsumerRecheck)
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1
		for free < w.cfg.Concurrency {
			select {
			case slots <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := cons.Fetch(free, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			for range free {
				<-slots
			}
			if ctx.Err() != nil {
				return
			}
			fetchErrs++
			if fetchErrs == 1 || fetchErrs%30 == 0 {
				w.log.Warn("fetch failed", "err", err, "consecutive", fetchErrs)
			}
			w.setNotReady("fetching from the consumer fails: " + err.Error())
			w.sleep(ctx, time.Second)
			continue
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			running.Add(1)
			work <- msg // it holds a slot: a handler is free, or about to be
		}
		cancel()
		for range free - got {
			<-slots
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) &&
			!errors.Is(err, context.Canceled) && !errors.Is(err, nats.ErrTimeout) {
			fetchErrs++
			if fetchErrs == 1 || fetchErrs%30 == 0 {
				w.log.Warn("fetch ended with an error", "err", err, "consecutive", fetchErrs)
			}
			w.setNotReady("fetching from the consumer fails: " + err.Error())
			w.sleep(ctx, 500*time.Millisecond)
			continue
		}
		if fetchErrs > 0 {
			w.setReady() // keepConsumer found the consumer, and fetching works again
		}
		fetchErrs = 0
	}
}

// handBack puts a message fetched after shutdown began back at once, through the executor. A
// final delivery, which must not be put back, is processed within the grace period instead.
func (w *Worker) handBack(ctx context.Context, msg jetstream.Msg) {
	if meta, err := msg.Metadata(); err == nil && w.maxDeliver() > 0 && meta.NumDelivered >= uint64(w.maxDeliver()) {
		w.handle(ctx, msg)
		return
	}
	if d, ok := w.open(ctx, msg); ok {
		w.execute(ctx, d, putBack(0, "the worker is shutting down"))
	}
}

// sleep waits d unless the worker starts shutting down; it reports whether it slept fully.
func (w *Worker) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.stopping:
		return false
	case <-ctx.Done():
		return false
	}
}

// jitter returns a duration in [d/2, 3d/2).
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d)
}

// pollGauges keeps the consumer and booking gauges current, every 5s until ctx ends.
func (w *Worker) pollGauges(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if cons, err := w.js.Consumer(ictx, w.cfg.RequestStream, w.cfg.Consumer); err == nil {
			info := cons.CachedInfo()
			w.metrics.consumerPending.Set(float64(info.NumPending))
			w.metrics.consumerAckPend.Set(float64(info.NumAckPending))
			w.metrics.consumerRedelivd.Set(float64(info.NumRedelivered))
		}
		if w.schedules.Load() {
			if n, err := w.pendingBookings(ictx); err == nil {
				w.metrics.bookingsPending.Set(float64(n))
			}
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
