package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/plugnmeet"
)

// RoomAPI is the part of the plugNmeet client the worker uses.
type RoomAPI interface {
	CreateRoom(ctx context.Context, body []byte) (*plugnmeet.RoomInfo, error)
	IsRoomActive(ctx context.Context, roomID string) (bool, error)
}

// Deps are the worker's collaborators.
type Deps struct {
	NC      *nats.Conn
	API     RoomAPI
	Logger  *slog.Logger
	Metrics *Metrics
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
	backoff backoff
	store   *store

	stopping chan struct{} // closed when shutdown starts: no new fetches, no in-process waits
	stopOnce sync.Once

	mu        sync.Mutex
	notReady  string // why the worker is not ready ("" when ready)
	consumer  jetstream.Consumer
	paused    bool
	pausedErr error
	resumed   chan struct{} // closed when a pause ends
	inflight  atomic.Int64
}

// New builds a worker; Run starts it.
func New(cfg Config, deps Deps) (*Worker, error) {
	if deps.NC == nil || deps.API == nil {
		return nil, errors.New("worker: NATS connection and plugNmeet API are required")
	}
	js, err := jetstream.New(deps.NC)
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
		backoff:  backoff{base: cfg.RetryBaseDelay, max: cfg.RetryMaxDelay},
		store:    &store{js: js, bucket: cfg.Bucket},
		stopping: make(chan struct{}),
		notReady: "starting: streams and consumer not provisioned yet",
	}
	m.reportReady(func() bool { return w.Ready() == nil })
	return w, nil
}

// Ready returns nil when the worker can take work, or why not: NATS disconnected, consumer not
// bound (or its config differs from what the worker needs), plugNmeet credentials rejected,
// shutting down.
func (w *Worker) Ready() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.notReady != "":
		return errors.New(w.notReady)
	case w.paused:
		return fmt.Errorf("paused: plugNmeet rejects the credentials: %v", w.pausedErr)
	case !w.nc.IsConnected():
		return fmt.Errorf("NATS not connected (%s)", w.nc.Status())
	}
	return nil
}

func (w *Worker) setNotReady(why string) {
	w.mu.Lock()
	w.notReady = why
	w.mu.Unlock()
}

// Run provisions the streams, consumer and bucket, then consumes until ctx is cancelled. On
// cancellation it stops fetching, lets in-flight deliveries finish for up to SHUTDOWN_TIMEOUT
// (after which their create calls are cancelled and they are put back), and returns nil.
func (w *Worker) Run(ctx context.Context) error {
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	go func() {
		<-ctx.Done()
		w.beginShutdown()
	}()

	cons, err := w.provisionLoop(ctx)
	if err != nil || cons == nil {
		return err
	}
	w.mu.Lock()
	w.consumer = cons
	w.notReady = ""
	w.mu.Unlock()
	w.log.Info("consuming", "stream", w.cfg.RequestStream, "consumer", w.cfg.Consumer, "concurrency", w.cfg.Concurrency,
		"worker_id", w.id)

	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	go w.pollConsumer(pollCtx, cons)

	var inflight sync.WaitGroup
	w.consume(ctx, hard, cons, &inflight)
	w.log.Info("shutting down: fetching stopped, finishing in-flight deliveries", "in_flight", w.inflight.Load(),
		"grace", w.cfg.ShutdownTimeout)

	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(w.cfg.ShutdownTimeout):
		w.log.Warn("shutdown grace period over: cancelling in-flight create calls; their requests will be redelivered",
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
		w.setNotReady("shutting down")
		close(w.stopping)
	})
}

// consume fetches at most as many messages as there are free slots, so nothing waits in a
// client-side buffer while its ack timer runs.
func (w *Worker) consume(ctx, hard context.Context, cons jetstream.Consumer, inflight *sync.WaitGroup) {
	slots := make(chan struct{}, w.cfg.Concurrency)
	fetchErrs := 0
	for {
		if err := w.waitResumed(ctx); err != nil {
			return
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
		fctx, cancel := context.WithTimeout(ctx, 2*time.Second)
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
			w.sleep(ctx, time.Second)
			continue
		}
		got := 0
		for msg := range batch.Messages() {
			got++
			select {
			case <-w.stopping:
				// Fetched after shutdown began: hand it straight back.
				_ = msg.NakWithDelay(0)
				<-slots
				continue
			default:
			}
			inflight.Add(1)
			w.inflight.Add(1)
			go func() {
				defer func() { <-slots; w.inflight.Add(-1); inflight.Done() }()
				w.handle(hard, msg)
			}()
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
			w.sleep(ctx, 500*time.Millisecond)
			continue
		}
		fetchErrs = 0
	}
}

// pollConsumer keeps the consumer gauges current.
func (w *Worker) pollConsumer(ctx context.Context, cons jetstream.Consumer) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
		info, err := cons.Info(ictx)
		cancel()
		if err == nil {
			w.metrics.consumerPending.Set(float64(info.NumPending))
			w.metrics.consumerAckPend.Set(float64(info.NumAckPending))
			w.metrics.consumerRedelivd.Set(float64(info.NumRedelivered))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
