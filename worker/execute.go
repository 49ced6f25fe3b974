package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/tracing"
)

// handle is the life of one delivery: decide, then carry the verdict out. The delivery owns
// the room's lease, if decide took it, and gives it up here once the verdict is carried out
// (its record written), so the next worker for the room reads the record.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	d, ok := w.open(ctx, msg)
	if !ok {
		return
	}
	defer w.releaseLease(d)
	w.metrics.inflight.Inc()
	defer w.metrics.inflight.Dec()
	v := w.decide(ctx, d)
	v = w.execute(ctx, d, v)
	d.endDelivery(v)
}

// open starts a delivery; false for a message without JetStream metadata (not possible on a
// pull consumer, and nothing to ack).
func (w *Worker) open(ctx context.Context, msg jetstream.Msg) (*delivery, bool) {
	meta, err := msg.Metadata()
	if err != nil {
		w.log.Error("message without JetStream metadata", "subject", msg.Subject(), "err", err)
		return nil, false
	}
	w.metrics.requestAge.Observe(time.Since(meta.Timestamp).Seconds())
	d := &delivery{msg: msg, meta: meta, start: time.Now(), log: w.log, mode: "invalid", ops: context.WithoutCancel(ctx),
		origin: events.StreamOrigin(meta.Stream, meta.Sequence.Stream)}
	if o, ok := events.PeekOrigin(msg.Headers(), msg.Data()); ok {
		d.origin = o // results of unreadable events still answer the id their publisher waits for
	}
	return d, true
}

func (w *Worker) releaseLease(d *delivery) {
	ctx, cancel := context.WithTimeout(d.ops, 5*time.Second)
	defer cancel()
	if err := d.lease.release(ctx); err != nil {
		d.log.Warn("could not release room lease; it expires on its own", "err", err, "ttl", w.cfg.leaseTTL())
	}
}

// execute carries out a verdict, always in the same order: record, then publish the result and
// wait for its PubAck, then end the delivery. It is the only code that publishes results or
// ends deliveries.
//
// One rule lives here: from the final delivery on (NumDelivered >= MAX_DELIVER) a verdict that
// would put the request back becomes room.failed retries_exhausted. Only a result that NATS
// refuses to store puts a delivery back then; the consumer redelivers without limit, so such a
// request is answered once NATS takes writes again, and no message is ever parked unanswered.
//
// It returns the verdict it carried out (the one given, or the one a rule or a NATS failure
// made of it).
func (w *Worker) execute(ctx context.Context, d *delivery, v verdict) verdict {
	if v.pause != nil {
		w.metrics.systemicErrors.Inc()
		w.pause(v.pause)
	}
	if v.end.act == actNak && w.finalDelivery(d) {
		v = w.lastDelivery(d, v)
	}
	fresh, err := w.carryOut(d, v) // fresh: stored now, not by an earlier delivery
	if err != nil {
		// NATS refused a write. JetStream redelivers without limit (MAX_DELIVER is ours), so
		// putting the delivery back loses nothing, final or not: the next delivery answers
		// from what was recorded, or decides again.
		d.log.Warn("NATS operation failed, delivery put back", "err", err)
		nv := natsTrouble(err)
		nv.attempts = v.attempts
		v = nv
		_, _ = w.carryOut(d, v) // records the attempts spent, if NATS lets it
	}

	var endErr error
	switch v.end.act {
	case actAck:
		endErr = d.msg.Ack()
	case actTerm:
		endErr = d.msg.TermWithReason(v.why)
	case actNak:
		endErr = d.msg.NakWithDelay(v.end.delay)
	}
	w.metrics.endings.WithLabelValues(v.end.act.String()).Inc()
	tracing.Observe(d.traceCtx(), w.metrics.processing, time.Since(d.start).Seconds())
	if d.meta.NumDelivered == 1 {
		w.metrics.received.WithLabelValues(d.mode).Inc()
	}
	if endErr != nil {
		// The server redelivers after AckWait; the recorded outcome and the deterministic result
		// id keep the redelivery from adding a second or different result.
		d.log.Warn("could not end delivery", "action", v.end.act.String(), "err", endErr)
	}
	if v.result == nil {
		d.log.Debug("delivery put back", "delay", v.end.delay, "why", v.why, "delivered", d.meta.NumDelivered)
		return v
	}
	if !fresh {
		// An earlier delivery stored this result and its ack was lost: counted then.
		d.log.Info("result already stored by an earlier delivery", "type", v.result.typ, "reason", v.result.label)
		return v
	}
	if d.prior > 0 && d.req != nil {
		// The result is stored: the counter has served its purpose.
		cctx, cancel := context.WithTimeout(d.ops, 5*time.Second)
		if err := w.store.clearAttempts(cctx, d.req.key); err != nil {
			d.log.Debug("could not clear attempt counter; it expires on its own (24h at least)", "err", err)
		}
		cancel()
	}
	r := v.result
	outcome := strings.TrimPrefix(r.typ, "room.") // created, ended, scheduled, cancelled, failed
	w.metrics.results.WithLabelValues(outcome, r.label).Inc()
	if r.typ != events.TypeRoomScheduled { // not the request's last word: its room.created follows
		w.metrics.attempts.Observe(float64(r.attempts))
	}
	w.metrics.warnings.Add(float64(r.warnings))
	if v.hit {
		w.metrics.idempotencyHits.Inc()
	}
	if d.fireLag != 0 {
		tracing.Observe(d.traceCtx(), w.metrics.fireLag, d.fireLag.Seconds())
	}
	d.log.Info("room "+outcome, "outcome", outcome, "reason", r.label, "sid", r.sid, "message", r.message,
		"attempts", r.attempts, "warnings", r.warnings, "duration", time.Since(d.start))
	return v
}

// lastDelivery turns a verdict that would put the final delivery back into retries_exhausted.
func (w *Worker) lastDelivery(d *delivery, v verdict) verdict {
	roomID := ""
	if d.req != nil {
		roomID = d.req.roomID
	}
	msg := fmt.Sprintf("delivery %d reached MAX_DELIVER %d: the request is not put back any more, and it was being put back (%s)",
		d.meta.NumDelivered, w.maxDeliver(), v.why)
	if v.lastErr != nil {
		msg += "; last error: " + v.lastErr.Error()
	}
	nv := failure(roomID, events.RoomFailed{
		Reason: events.ReasonRetriesExhausted, Message: msg, Attempts: v.attempts,
		PlugNmeetStatusCode: httpStatus(v.lastErr), PlugNmeetCode: statusCode(v.lastErr),
		Request: w.replayable(d),
	})
	nv.outcome, nv.attempts = d.req != nil, v.attempts
	return nv
}

// carryOut writes what the verdict records and publishes its result, waiting for every answer.
// fresh is false when JetStream already held the result (an earlier delivery stored it).
func (w *Worker) carryOut(d *delivery, v verdict) (fresh bool, err error) {
	if v.result == nil {
		if v.attempts > d.prior && d.req != nil {
			wait, err := w.store.putAttempts(d.req.key, v.attempts)
			if err == nil {
				err = wait()
			}
			if err != nil {
				d.log.Warn("could not record attempts; the count restarts from the last recorded one", "err", err)
			}
		}
		return false, nil
	}
	if err := w.carryOutBooking(d, v); err != nil {
		return false, err
	}
	r := v.result
	r.data = w.fit(d, r)
	_, sp := w.span(d.traceCtx(), "record", trace.SpanKindInternal)
	writes, err := w.record(d, v, r)
	if err != nil {
		endSpan(sp, err)
		return false, err
	}
	if v.endSID != "" && d.req != nil {
		cctx, cancel := context.WithTimeout(d.ops, 5*time.Second)
		_, err := w.store.markEnded(cctx, d.req.roomID, v.endSID)
		cancel()
		if err != nil {
			endSpan(sp, err)
			return false, err
		}
	}
	var errs []error
	for _, wait := range writes {
		errs = append(errs, wait())
	}
	if err := errors.Join(errs...); err != nil {
		endSpan(sp, err)
		return false, err
	}
	endSpan(sp, nil)
	if v.room != nil || v.outcome {
		d.lease.recorded()
	}
	return w.publish(d, r)
}

// record starts the bucket writes a verdict's result needs before it is published: the room's
// new Record, carrying the request's outcome when the Record is the request's own (one write on
// the fast path), else the outcome under the request's key. A claim is always replaced by a
// Record, so the request's outcome stays where acquire looks for it. The outcome of another
// request that a new Record displaces moves to that request's key first.
func (w *Worker) record(d *delivery, v verdict, r *result) ([]write, error) {
	var out *Outcome
	if v.outcome && d.req != nil {
		out = &Outcome{Type: r.typ, RoomID: r.roomID, Label: r.label, Hit: v.hit, Data: r.data,
			SID: r.sid, Attempts: r.attempts, Message: r.message, Warnings: r.warnings}
	}
	var writes []write
	put := func(wait write, err error) error {
		if err == nil {
			writes = append(writes, wait)
		}
		return err
	}
	claim := d.lease != nil && d.lease.claim
	switch {
	case v.room != nil:
		rec := *v.room
		if prev := d.lease.record(); prev != nil && prev.Outcome != nil && prev.RequestKey != rec.RequestKey {
			if err := put(w.store.putOutcome(prev.RequestKey, *prev.ownOutcome())); err != nil {
				return nil, err
			}
		}
		if out != nil && rec.RequestKey == d.req.key {
			rec.Outcome = out
			if own := *out; own.Type == events.TypeRoomCreated && rec.State == StateCreated && !v.hit {
				own.Data, own.InRecord = nil, true // the Record holds it all: ownOutcome rebuilds it
				rec.Outcome = &own
			}
		} else if out != nil {
			if err := put(w.store.putOutcome(d.req.key, *out)); err != nil {
				return nil, err
			}
		}
		if err := put(w.store.putRoom(rec)); err != nil {
			return nil, err
		}
	case out != nil && claim:
		rec := Record{State: StateNone, RoomID: d.req.roomID, RequestID: d.req.ev.ID(), RequestKey: d.req.key,
			PayloadHash: d.req.payloadHash, Attempts: r.attempts, At: time.Now().UTC(), Outcome: out}
		if err := put(w.store.putRoom(rec)); err != nil {
			return nil, err
		}
	case out != nil:
		if err := put(w.store.putOutcome(d.req.key, *out)); err != nil {
			return nil, err
		}
	}
	return writes, nil
}

// publish stores a result event in the events stream and waits for its PubAck. The result's id
// and Nats-Msg-Id derive from the request (or, for a message whose id cannot be read, from its
// stream position), so a redelivered request never adds a second result.
func (w *Worker) publish(d *delivery, r *result) (fresh bool, err error) {
	ev, err := events.NewResultFor(d.origin, r.typ, w.cfg.EventSource, r.data)
	if err != nil {
		return false, err
	}
	if r.roomID != "" {
		ev.SetSubject(r.roomID)
	}
	subject, msgID := w.resultSubject(d, r)
	_, sp := w.tr.StartPublish(d.traceCtx(), ev, tracing.Message{Subject: subject, ID: msgID})
	fresh, err = w.publishEvent(ev, r, subject, msgID)
	if sp.IsRecording() {
		if err == nil && !fresh {
			sp.AddEvent("already stored: dropped as a duplicate")
		}
		endSpan(sp, err)
	}
	return fresh, err
}

// resultSubject is where a result is published, and the Nats-Msg-Id it is published with.
func (w *Worker) resultSubject(d *delivery, r *result) (subject, msgID string) {
	subject = w.cfg.CreatedSubject
	msgID = events.ResultMsgID(d.origin) // one final result per request, whatever its type
	switch r.typ {
	case events.TypeRoomFailed:
		subject = w.cfg.FailedSubject
	case events.TypeRoomEnded:
		subject = w.cfg.EndedSubject
	case events.TypeRoomCancelled:
		subject = w.cfg.CancelledSubject
	case events.TypeRoomScheduled:
		// Not final: the booking's room.created follows, with the request's own result id.
		subject, msgID = w.cfg.ScheduledSubject, events.ResultID(d.origin, r.typ)
	}
	return subject, msgID
}

// publishEvent stores the result event ev on subject and waits for its PubAck.
func (w *Worker) publishEvent(ev *event.Event, r *result, subject, msgID string) (fresh bool, err error) {
	h, body, err := events.EncodeBinary(ev)
	if err != nil {
		return false, fmt.Errorf("encode result: %w", err)
	}
	fut, err := w.js.PublishMsgAsync(&nats.Msg{Subject: subject, Header: h, Data: body},
		jetstream.WithMsgID(msgID), jetstream.WithExpectStream(w.cfg.EventsStream))
	if err != nil {
		return false, fmt.Errorf("publish %s: %w", r.typ, err)
	}
	ack, err := awaitPubAck(fut)
	if err != nil {
		return false, fmt.Errorf("publish %s: %w", r.typ, err)
	}
	return !ack.Duplicate, nil
}

// publishAckTimeout bounds the wait for a PubAck. The JetStream context is built with the same
// timeout, so nats.go forgets an unanswered publish instead of keeping it pending.
const publishAckTimeout = 10 * time.Second

// awaitPubAck waits for the server's answer to an asynchronous publish.
func awaitPubAck(fut jetstream.PubAckFuture) (*jetstream.PubAck, error) {
	t := time.NewTimer(publishAckTimeout + time.Second) // nats.go answers first, with ErrAsyncPublishTimeout
	defer t.Stop()
	select {
	case ack := <-fut.Ok():
		return ack, nil
	case err := <-fut.Err():
		return nil, err
	case <-t.C:
		return nil, fmt.Errorf("no PubAck within %s", publishAckTimeout)
	}
}

// resultHeadroom is what a result's headers and envelope take at most besides its data.
const resultHeadroom = 4096

// fit returns the result's data, shrunk when it would not fit the server's max_payload: a
// failure leaves out the embedded request (saying so), then its error list.
func (w *Worker) fit(d *delivery, r *result) []byte {
	limit := int(w.nc.MaxPayload()) - resultHeadroom
	if limit <= 0 || len(r.data) <= limit || r.typ != events.TypeRoomFailed {
		return r.data
	}
	var f events.RoomFailed
	if json.Unmarshal(r.data, &f) != nil {
		return r.data
	}
	if len(f.Request) > 0 {
		f.Message += fmt.Sprintf("; the request (%d bytes) is not embedded: the result would exceed the NATS server's max_payload (%d bytes)",
			len(f.Request), w.nc.MaxPayload())
		f.Request = nil
	}
	out, err := events.Marshal(f)
	for err == nil && len(out) > limit && len(f.Errors) > 1 {
		n := len(f.Errors) / 2
		f.Message += fmt.Sprintf("; %d of %d errors listed", n, len(f.Errors))
		f.Errors = f.Errors[:n]
		out, err = events.Marshal(f)
	}
	if err != nil {
		return r.data
	}
	d.log.Warn("result shrunk to fit max_payload", "bytes", len(r.data), "now", len(out))
	return out
}
