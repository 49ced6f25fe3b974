package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrConsumerMismatch means the durable consumer exists with settings the worker cannot run with.
var ErrConsumerMismatch = errors.New("consumer config differs from what the worker needs")

// eventsDuplicateWindow is how long ROOM_EVENTS remembers result ids: longer than any
// redelivery of a request whose result was stored but whose ack was lost.
const eventsDuplicateWindow = 10 * time.Minute

// provisionLoop provisions until it succeeds or ctx ends (nil consumer, nil error). A consumer
// whose config differs keeps the worker unready, re-checked every CONSUMER_RECHECK.
func (w *Worker) provisionLoop(ctx context.Context) (jetstream.Consumer, error) {
	delay := time.Second
	for {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		cons, err := w.Provision(pctx)
		cancel()
		if err == nil {
			return cons, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		wait := delay
		if errors.Is(err, ErrConsumerMismatch) {
			wait = w.cfg.ConsumerRecheck
			w.log.Error("refusing to consume: "+err.Error(), "recheck_in", wait)
		} else {
			w.log.Warn("provisioning failed, retrying", "err", err, "retry_in", wait)
			delay = min(2*delay, 30*time.Second)
		}
		w.setNotReady(err.Error())
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(wait):
		}
	}
}

// Provision creates or updates the request and events streams and the idempotency bucket, and
// creates the durable consumer or checks that the existing one has the settings the worker needs.
func (w *Worker) Provision(ctx context.Context) (jetstream.Consumer, error) {
	c := w.cfg
	retention := jetstream.WorkQueuePolicy
	if c.RequestRetain == "limits" {
		retention = jetstream.LimitsPolicy
	}
	if err := w.ensureStream(ctx, jetstream.StreamConfig{
		Name:        c.RequestStream,
		Description: "room.create requests for roomworker",
		Subjects:    []string{c.RequestSubject},
		Retention:   retention,
		Storage:     jetstream.FileStorage,
		Replicas:    c.StreamReplicas,
		Duplicates:  2 * time.Minute,
	}); err != nil {
		return nil, err
	}
	if err := w.ensureStream(ctx, jetstream.StreamConfig{
		Name:        c.EventsStream,
		Description: "room.created and room.failed results from roomworker",
		Subjects:    []string{c.CreatedSubject, c.FailedSubject},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    c.StreamReplicas,
		MaxAge:      c.EventsMaxAge,
		Duplicates:  min(eventsDuplicateWindow, c.EventsMaxAge),
	}); err != nil {
		return nil, err
	}
	kv, err := w.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         c.Bucket,
		Description:    "roomworker idempotency records and room_id leases",
		History:        1,
		TTL:            c.IdempotencyWindow,
		Storage:        jetstream.FileStorage,
		Replicas:       c.StreamReplicas,
		LimitMarkerTTL: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", c.Bucket, err)
	}
	w.store.kv = kv

	want := w.consumerConfig()
	cons, err := w.js.Consumer(ctx, c.RequestStream, c.Consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = w.js.CreateConsumer(ctx, c.RequestStream, want)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			cons, err = w.js.Consumer(ctx, c.RequestStream, c.Consumer) // another replica won the race
		}
	}
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", c.Consumer, c.RequestStream, err)
	}
	if diff := consumerDiff(cons.CachedInfo().Config, want); len(diff) > 0 {
		return nil, fmt.Errorf("%w: consumer %q on stream %q has %s; align the worker's configuration or delete the consumer so the worker recreates it",
			ErrConsumerMismatch, c.Consumer, c.RequestStream, strings.Join(diff, ", "))
	}
	return cons, nil
}

// consumerConfig is the durable pull consumer the worker needs.
func (w *Worker) consumerConfig() jetstream.ConsumerConfig {
	c := w.cfg
	return jetstream.ConsumerConfig{
		Durable:       c.Consumer,
		Description:   "roomworker replicas share this pull consumer",
		FilterSubject: c.RequestSubject,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       c.AckWait(),
		MaxDeliver:    c.MaxDeliver,
		MaxAckPending: c.MaxAckPending,
		Replicas:      0, // inherit the stream's
	}
}

// consumerDiff lists the settings of have that differ from want, as "AckWait 30s (want 15s)".
func consumerDiff(have, want jetstream.ConsumerConfig) []string {
	var d []string
	add := func(name string, h, w any) { d = append(d, fmt.Sprintf("%s %v (want %v)", name, h, w)) }
	if have.AckPolicy != want.AckPolicy {
		add("AckPolicy", have.AckPolicy, want.AckPolicy)
	}
	if have.AckWait != want.AckWait {
		add("AckWait", have.AckWait, want.AckWait)
	}
	if have.MaxDeliver != want.MaxDeliver {
		add("MaxDeliver", have.MaxDeliver, want.MaxDeliver)
	}
	if have.MaxAckPending != want.MaxAckPending {
		add("MaxAckPending", have.MaxAckPending, want.MaxAckPending)
	}
	filters := have.FilterSubjects
	if have.FilterSubject != "" {
		filters = append(filters, have.FilterSubject)
	}
	if !slices.Equal(filters, []string{want.FilterSubject}) {
		add("FilterSubject", strings.Join(filters, ","), want.FilterSubject)
	}
	if have.DeliverPolicy != want.DeliverPolicy {
		add("DeliverPolicy", have.DeliverPolicy, want.DeliverPolicy)
	}
	if len(have.BackOff) > 0 {
		add("BackOff", have.BackOff, "none: the worker computes its own delays")
	}
	return d
}

// ensureStream creates the stream, or updates it keeping subjects an operator added.
func (w *Worker) ensureStream(ctx context.Context, cfg jetstream.StreamConfig) error {
	s, err := w.js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = w.js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil // another replica created it first
		}
		if err != nil {
			return fmt.Errorf("create stream %s: %w", cfg.Name, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", cfg.Name, err)
	}
	have := s.CachedInfo().Config
	if have.Retention != cfg.Retention {
		return fmt.Errorf("stream %s has %s retention, the worker is configured for %s (REQUEST_RETENTION); retention cannot change in place",
			cfg.Name, have.Retention, cfg.Retention)
	}
	for _, sub := range have.Subjects {
		if !slices.Contains(cfg.Subjects, sub) {
			cfg.Subjects = append(cfg.Subjects, sub)
		}
	}
	if slices.Equal(have.Subjects, cfg.Subjects) && have.Replicas == cfg.Replicas && have.MaxAge == cfg.MaxAge &&
		have.Duplicates == cfg.Duplicates && have.Storage == cfg.Storage {
		return nil
	}
	if _, err := w.js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("update stream %s: %w", cfg.Name, err)
	}
	return nil
}
