package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrConsumerMismatch means the durable consumer has settings the worker cannot run with and
// cannot change in place.
var ErrConsumerMismatch = errors.New("consumer config differs from what the worker needs")

// eventsDuplicateWindow is how long ROOM_EVENTS remembers result ids: longer than any
// redelivery of a request whose result was stored but whose ack was lost.
const eventsDuplicateWindow = 10 * time.Minute

// settingsVersionKey is the consumer metadata entry naming the CONSUMER_SETTINGS_VERSION of the
// worker that last wrote the consumer's settings.
const settingsVersionKey = "roomworker.settings_version"

// The rule for the consumer's settings, so that replicas with different configurations (a
// rolling update) never fight over it:
//   - Settings that break consumption (a filter other than the request subject, HeadersOnly,
//     MaxRequestBatch below CONCURRENCY, MaxRequestExpires below the fetch wait, priority
//     groups, BackOff) are always put right, in place.
//   - The tunables (AckWait, MaxAckPending, and MaxDeliver, which the worker wants unlimited) are
//     written only by a worker whose CONSUMER_SETTINGS_VERSION is higher than the one recorded
//     in the consumer's metadata. Any other worker adopts the consumer's values (it heartbeats
//     within the consumer's AckWait) and stays ready.
//   - AckPolicy and DeliverPolicy cannot change in place: the worker stays unready and says so.
//   - A consumer that is gone (deleted by an operator) is re-created.

// provisionLoop provisions until it succeeds or ctx ends (nil consumer).
func (w *Worker) provisionLoop(ctx context.Context) jetstream.Consumer {
	delay := time.Second
	for {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		cons, err := w.Provision(pctx)
		cancel()
		if err == nil {
			w.setReady()
			return cons
		}
		if ctx.Err() != nil {
			return nil
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
			return nil
		case <-time.After(wait):
		}
	}
}

// keepConsumer checks the streams, the bucket and the consumer (periodically, and after fetch
// errors) and returns the consumer to fetch from: the same, corrected in place, or re-created
// when it is gone. It keeps the worker unready while there is none, and returns nil only when
// ctx ends.
func (w *Worker) keepConsumer(ctx context.Context, cons jetstream.Consumer) jetstream.Consumer {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := w.Provision(cctx)
	cancel()
	switch {
	case err == nil:
		w.setReady()
		return c
	case ctx.Err() != nil:
		return nil
	case errors.Is(err, ErrConsumerMismatch):
		w.log.Error("refusing to consume: "+err.Error(), "recheck_in", w.cfg.ConsumerRecheck)
		w.setNotReady(err.Error())
		return w.provisionLoop(ctx)
	default:
		// NATS itself is in trouble: keep the consumer; the next fetch error brings us back.
		w.log.Warn("consumer check failed", "err", err)
		return cons
	}
}

// Provision creates or updates the request and events streams and the idempotency bucket, and
// creates the durable consumer or brings the existing one in line (see the rule above).
func (w *Worker) Provision(ctx context.Context) (jetstream.Consumer, error) {
	c := w.cfg
	w.checkSchedules()
	requestSubjects := []string{c.RequestSubject, c.EndSubject, c.CancelSubject}
	if w.schedules.Load() {
		requestSubjects = append(requestSubjects, c.ScheduleSubjectPrefix+".>")
	}
	retention := jetstream.WorkQueuePolicy
	if c.RequestRetain == "limits" {
		retention = jetstream.LimitsPolicy
	}
	if err := w.ensureStream(ctx, jetstream.StreamConfig{
		Name:        c.RequestStream,
		Description: "room.create, room.end and room.cancel requests for roomworker, and pending bookings",
		Subjects:    requestSubjects,
		// A booking and its target must live in the same stream; the consumer's filter keeps
		// the bookings themselves from being consumed as requests.
		AllowMsgSchedules: w.schedules.Load(),
		Retention:         retention,
		Storage:           jetstream.FileStorage,
		Replicas:          c.StreamReplicas,
		Duplicates:        2 * time.Minute,
	}); err != nil {
		return nil, err
	}
	if err := w.ensureStream(ctx, jetstream.StreamConfig{
		Name:        c.EventsStream,
		Description: "room.created, room.ended, room.scheduled, room.cancelled and room.failed results from roomworker",
		Subjects:    []string{c.CreatedSubject, c.EndedSubject, c.ScheduledSubject, c.CancelledSubject, c.FailedSubject},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    c.StreamReplicas,
		MaxAge:      c.EventsMaxAge,
		Duplicates:  min(eventsDuplicateWindow, c.EventsMaxAge),
	}); err != nil {
		return nil, err
	}
	if err := w.ProvisionLifecycle(ctx); err != nil {
		return nil, err
	}
	// No bucket-wide TTL: every entry carries its own (see store.go), so a short
	// IDEMPOTENCY_WINDOW can never delete a live lease.
	kv, err := w.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         c.Bucket,
		Description:    "roomworker room leases, session records, request outcomes and attempt counters",
		History:        1,
		Storage:        jetstream.FileStorage,
		Replicas:       c.StreamReplicas,
		LimitMarkerTTL: time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", c.Bucket, err)
	}
	if w.store.kv == nil {
		// Set once, by the first Provision, before any delivery is handled: later checks run
		// while handlers read it, and the handle (a bucket name) stays valid anyway.
		w.store.kv = kv
	}
	return w.reconcile(ctx)
}

// reconcile creates the consumer, or brings the existing one in line, and adopts the settings
// in force.
func (w *Worker) reconcile(ctx context.Context) (jetstream.Consumer, error) {
	c := w.cfg
	want := w.consumerConfig()
	cons, err := w.js.Consumer(ctx, c.RequestStream, c.Consumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		w.log.Info("creating the consumer", "stream", c.RequestStream, "consumer", c.Consumer)
		cons, err = w.js.CreateConsumer(ctx, c.RequestStream, want)
		if errors.Is(err, jetstream.ErrConsumerExists) {
			cons, err = w.js.Consumer(ctx, c.RequestStream, c.Consumer) // another replica won the race
		}
	}
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", c.Consumer, c.RequestStream, err)
	}
	have := cons.CachedInfo().Config
	if fixed := immutableDiff(have, want); len(fixed) > 0 {
		return nil, fmt.Errorf("%w: consumer %q on stream %q has %s, which cannot change in place; delete the consumer so the worker re-creates it",
			ErrConsumerMismatch, c.Consumer, c.RequestStream, strings.Join(fixed, ", "))
	}
	update := have
	var changes []string
	if broken := brokenDiff(have, want, c.Concurrency); len(broken) > 0 {
		changes = append(changes, broken...)
		update.FilterSubject, update.FilterSubjects = "", want.FilterSubjects
		update.HeadersOnly, update.MaxRequestBatch, update.MaxRequestExpires = false, 0, 0
		update.PriorityGroups, update.PriorityPolicy, update.BackOff = nil, want.PriorityPolicy, nil
	}
	tunables := tunableDiff(have, want)
	haveVersion := settingsVersion(have)
	if len(tunables) > 0 {
		if c.ConsumerSettingsVersion > haveVersion {
			changes = append(changes, tunables...)
			update.AckWait, update.MaxDeliver, update.MaxAckPending = want.AckWait, want.MaxDeliver, want.MaxAckPending
			update.Metadata = want.Metadata
		} else {
			w.log.Warn("the consumer keeps the settings of CONSUMER_SETTINGS_VERSION "+strconv.Itoa(haveVersion)+
				"; this worker adopts them (raise CONSUMER_SETTINGS_VERSION above it to roll out its own)",
				"differences", strings.Join(tunables, ", "), "worker_settings_version", c.ConsumerSettingsVersion)
		}
	} else if c.ConsumerSettingsVersion > haveVersion {
		changes = append(changes, fmt.Sprintf("%s %d (want %d)", settingsVersionKey, haveVersion, c.ConsumerSettingsVersion))
		update.Metadata = want.Metadata
	}
	if len(changes) > 0 {
		w.log.Warn("updating the consumer's settings in place", "consumer", c.Consumer, "changes", strings.Join(changes, ", "))
		if cons, err = w.js.UpdateConsumer(ctx, c.RequestStream, update); err != nil {
			return nil, fmt.Errorf("update consumer %s on %s (%s): %w", c.Consumer, c.RequestStream, strings.Join(changes, ", "), err)
		}
	}
	inForce := cons.CachedInfo().Config
	w.ackWaitNs.Store(int64(inForce.AckWait))
	return cons, nil
}

// consumerConfig is the durable pull consumer the worker needs.
func (w *Worker) consumerConfig() jetstream.ConsumerConfig {
	c := w.cfg
	return jetstream.ConsumerConfig{
		Durable:        c.Consumer,
		Description:    "roomworker replicas share this pull consumer",
		FilterSubjects: w.requestSubjects(),
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.AckWait(),
		// JetStream redelivers without limit: MAX_DELIVER is enforced by the worker, which
		// answers a request that reaches it with a stored result. A JetStream MaxDeliver
		// would park a message whose final delivery could not store its result (NATS
		// refusing writes until the process stopped) with no result, for good.
		MaxDeliver:    -1,
		MaxAckPending: c.MaxAckPending,
		Replicas:      0, // inherit the stream's
		Metadata:      map[string]string{settingsVersionKey: strconv.Itoa(c.ConsumerSettingsVersion)},
	}
}

// requestSubjects are the subjects the consumer takes requests from: only these, so that
// anything else in the request stream is never consumed as a request.
func (w *Worker) requestSubjects() []string {
	return []string{w.cfg.RequestSubject, w.cfg.EndSubject, w.cfg.CancelSubject}
}

// checkSchedules notes whether the connected NATS server has message schedules, and says once
// when it has not.
func (w *Worker) checkSchedules() {
	ok := supportsSchedules(w.serverVersion())
	if !ok && !w.warnedSchedules {
		w.warnedSchedules = true
		w.log.Warn("the NATS server has no message schedules (nats-server 2.12 or later): room.create events whose starttime "+
			"is more than CREATE_LEAD away will fail with invalid_request instead of being booked", "server_version", w.serverVersion())
	}
	w.schedules.Store(ok)
}

func settingsVersion(cfg jetstream.ConsumerConfig) int {
	v, err := strconv.Atoi(cfg.Metadata[settingsVersionKey])
	if err != nil {
		return 0 // written by hand, or by a roomworker before settings versions
	}
	return v
}

type diffs []string

func (d *diffs) add(name string, have, want any) {
	*d = append(*d, fmt.Sprintf("%s %v (want %v)", name, have, want))
}

// immutableDiff lists the settings of have that differ from want and cannot change in place.
func immutableDiff(have, want jetstream.ConsumerConfig) []string {
	var d diffs
	if have.AckPolicy != want.AckPolicy {
		d.add("AckPolicy", have.AckPolicy, want.AckPolicy)
	}
	if have.DeliverPolicy != want.DeliverPolicy {
		d.add("DeliverPolicy", have.DeliverPolicy, want.DeliverPolicy)
	}
	return d
}

// brokenDiff lists the settings of have that keep the worker from consuming as it must.
func brokenDiff(have, want jetstream.ConsumerConfig, concurrency int) []string {
	var d diffs
	filters := slices.Clone(have.FilterSubjects)
	if have.FilterSubject != "" {
		filters = append(filters, have.FilterSubject)
	}
	slices.Sort(filters)
	wantFilters := slices.Sorted(slices.Values(want.FilterSubjects))
	if !slices.Equal(filters, wantFilters) {
		d.add("FilterSubjects", strings.Join(filters, ","), strings.Join(wantFilters, ","))
	}
	if have.HeadersOnly {
		d.add("HeadersOnly", true, false)
	}
	if have.MaxRequestBatch > 0 && have.MaxRequestBatch < concurrency {
		d.add("MaxRequestBatch", have.MaxRequestBatch, fmt.Sprintf("0 or at least CONCURRENCY %d", concurrency))
	}
	if have.MaxRequestExpires > 0 && have.MaxRequestExpires < fetchWait {
		d.add("MaxRequestExpires", have.MaxRequestExpires, fmt.Sprintf("0 or at least %s", fetchWait))
	}
	if len(have.PriorityGroups) > 0 {
		d.add("PriorityGroups", have.PriorityGroups, "none")
	}
	if len(have.BackOff) > 0 {
		d.add("BackOff", have.BackOff, "none: the worker computes its own delays")
	}
	return d
}

// tunableDiff lists the settings that differ and that a newer worker may change in place.
func tunableDiff(have, want jetstream.ConsumerConfig) []string {
	var d diffs
	if have.AckWait != want.AckWait {
		d.add("AckWait", have.AckWait, want.AckWait)
	}
	if have.MaxDeliver != want.MaxDeliver {
		d.add("MaxDeliver", have.MaxDeliver, want.MaxDeliver)
	}
	if have.MaxAckPending != want.MaxAckPending {
		d.add("MaxAckPending", have.MaxAckPending, want.MaxAckPending)
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
		return fmt.Errorf("stream %s has %s retention, the worker needs %s; retention cannot change in place (for %s see REQUEST_RETENTION)",
			cfg.Name, have.Retention, cfg.Retention, w.cfg.RequestStream)
	}
	for _, sub := range have.Subjects {
		if !slices.Contains(cfg.Subjects, sub) {
			cfg.Subjects = append(cfg.Subjects, sub)
		}
	}
	cfg.AllowMsgSchedules = cfg.AllowMsgSchedules || have.AllowMsgSchedules // never turned off
	if slices.Equal(have.Subjects, cfg.Subjects) && have.Replicas == cfg.Replicas && have.MaxAge == cfg.MaxAge &&
		have.Duplicates == cfg.Duplicates && have.Storage == cfg.Storage && have.AllowMsgSchedules == cfg.AllowMsgSchedules {
		return nil
	}
	if _, err := w.js.UpdateStream(ctx, cfg); err != nil {
		return fmt.Errorf("update stream %s: %w", cfg.Name, err)
	}
	return nil
}
