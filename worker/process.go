package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/schema"
)

// action is how a delivery ends: exactly one of these per message.
type action int

const (
	actAck action = iota
	actNak
	actTerm
)

func (a action) String() string { return [...]string{"ack", "nak", "term"}[a] }

// ending is the verdict on one delivery.
type ending struct {
	act    action
	delay  time.Duration // for actNak
	reason string        // for actTerm and logs
}

// request is a decoded, validated room.create event.
type request struct {
	ev          *event.Event
	key         string // stable per (source, id): names results and attempt counters
	roomID      string
	data        []byte
	payloadHash string
	metadata    any // the decoded request metadata
}

// delivery is one message being processed, with what the worker learned about it so far.
type delivery struct {
	msg   jetstream.Msg
	meta  *jetstream.MsgMetadata
	start time.Time
	log   *slog.Logger
	req   *request
	ops   context.Context // for NATS operations: not cancelled by shutdown, bounded by JetStream's timeout
}

// handle processes one delivery and ends it with exactly one of Ack, NakWithDelay or Term.
func (w *Worker) handle(ctx context.Context, msg jetstream.Msg) {
	d := &delivery{msg: msg, start: time.Now(), log: w.log, ops: context.WithoutCancel(ctx)}
	meta, err := msg.Metadata()
	if err != nil {
		// Not a JetStream delivery: nothing to ack. Cannot happen on a pull consumer.
		w.log.Error("message without JetStream metadata", "subject", msg.Subject(), "err", err)
		return
	}
	d.meta = meta
	w.metrics.requestAge.Observe(time.Since(meta.Timestamp).Seconds())
	w.metrics.inflight.Inc()
	defer w.metrics.inflight.Dec()

	end := w.process(ctx, d)

	var ackErr error
	switch end.act {
	case actAck:
		ackErr = msg.Ack()
	case actTerm:
		ackErr = msg.TermWithReason(end.reason)
	case actNak:
		ackErr = msg.NakWithDelay(end.delay)
	}
	w.metrics.endings.WithLabelValues(end.act.String()).Inc()
	w.metrics.processing.Observe(time.Since(d.start).Seconds())
	if ackErr != nil {
		// The server redelivers after AckWait; the deterministic result id keeps the redelivery
		// from adding a second result.
		d.log.Warn("could not end delivery", "action", end.act.String(), "err", ackErr)
	}
	if end.act == actNak {
		d.log.Debug("delivery put back", "delay", end.delay, "reason", end.reason, "delivered", meta.NumDelivered)
	}
}

// process decides the fate of one delivery. Results are stored (PubAck received) before the
// verdict is returned, so an ack always follows a stored result.
func (w *Worker) process(ctx context.Context, d *delivery) ending {
	size := len(d.msg.Data())
	for k, vs := range d.msg.Headers() {
		for _, v := range vs {
			size += len(k) + len(v)
		}
	}
	if size > w.cfg.MaxMessageBytes {
		w.metrics.received.WithLabelValues("invalid").Inc()
		return w.fail(d, "", events.RoomFailed{
			Reason:  events.ReasonInvalidEvent,
			Message: fmt.Sprintf("message is %d bytes, over the %d-byte limit (MAX_MESSAGE_BYTES)", size, w.cfg.MaxMessageBytes),
		})
	}

	ev, mode, err := events.Decode(d.msg.Headers(), d.msg.Data())
	if err != nil {
		w.metrics.received.WithLabelValues("invalid").Inc()
		f := events.RoomFailed{Reason: events.ReasonInvalidEvent, Message: err.Error()}
		var ie *events.InvalidEventError
		if errors.As(err, &ie) {
			f.Errors = ie.Problems
		}
		return w.fail(d, "", f)
	}
	w.metrics.received.WithLabelValues(string(mode)).Inc()
	req := &request{ev: ev, key: requestKey(ev.Source(), ev.ID()), data: ev.Data()}
	d.req = req
	d.log = w.log.With("request_id", ev.ID(), "source", ev.Source())

	if ev.Type() != events.TypeCreateRoom {
		return w.fail(d, "", events.RoomFailed{
			Reason:  events.ReasonInvalidEvent,
			Message: fmt.Sprintf("unknown event type %q: roomworker handles %q", ev.Type(), events.TypeCreateRoom),
		})
	}
	if ct := ev.DataContentType(); ct != "" && !isJSONContentType(ct) {
		return w.fail(d, "", events.RoomFailed{
			Reason:  events.ReasonInvalidEvent,
			Message: fmt.Sprintf("datacontenttype %q is not JSON: the request data must be application/json", ct),
		})
	}

	tree, err := schema.Parse(req.data)
	if err != nil {
		var head struct {
			RoomID any `json:"room_id"`
		}
		_ = json.Unmarshal(req.data, &head) // best effort, to name the room in the failure
		// Name the room only when its id is well formed: an id with control characters or of
		// absurd length must not reach a CloudEvents subject (or a log line).
		roomID, _ := head.RoomID.(string)
		d.log = d.log.With("room_id", logSafe(roomID)) // quoted by the handler, cut to a sane length
		if !wellFormedRoomID(roomID) {
			roomID = ""
		}
		f := events.RoomFailed{Reason: events.ReasonInvalidRequest, Message: err.Error()}
		var se *schema.Error
		if errors.As(err, &se) {
			f.Message = fmt.Sprintf("request data fails the create-room schema (%d error(s))", len(se.Errors))
			for _, fe := range se.Errors {
				f.Errors = append(f.Errors, events.FieldError{Path: fe.Path, Message: fe.Message})
			}
		}
		return w.fail(d, roomID, f)
	}
	req.roomID, _ = tree["room_id"].(string) // the schema requires it
	d.log = d.log.With("room_id", req.roomID)
	req.metadata = tree["metadata"]
	req.payloadHash = hashTree(tree)
	return w.create(ctx, d)
}

// create runs the idempotent create for a valid request.
func (w *Worker) create(ctx context.Context, d *delivery) ending {
	req := d.req
	lease := Record{State: StateCreating, Holder: w.id, RequestID: req.ev.ID(), RequestKey: req.key,
		PayloadHash: req.payloadHash, At: time.Now().UTC()}
	// Most requests name a room with no record: take the lease at once (one write). Only when
	// the key exists, read it to tell a duplicate, a lease held elsewhere and a stale record apart.
	var prev *entry
	leaseRev, err := w.store.acquire(d.ops, req.roomID, nil, lease, w.cfg.leaseTTL())
	if errors.Is(err, errLeaseHeld) {
		if prev, err = w.store.get(d.ops, req.roomID); err != nil {
			return w.infraTrouble(d, err)
		}
		if prev == nil { // released between our two calls
			return w.leaseBusy(d, nil)
		}
		if rec := prev.rec; rec != nil {
			switch {
			case rec.State == StateCreated && rec.PayloadHash == req.payloadHash && time.Since(rec.At) < w.cfg.IdempotencyWindow:
				return w.fromRecord(d, rec)
			case rec.State == StateCreating && time.Since(prev.created) < w.cfg.leaseTTL():
				return w.leaseBusy(d, rec)
			}
		}
		// A record for another payload, an expired one, or a lease whose holder vanished.
		leaseRev, err = w.store.acquire(d.ops, req.roomID, prev, lease, w.cfg.leaseTTL())
		if errors.Is(err, errLeaseHeld) {
			return w.leaseBusy(d, nil)
		}
	}
	if err != nil {
		return w.infraTrouble(d, err)
	}
	leaseAt := time.Now()

	attempts := 0
	hadCounter := false
	if d.meta.NumDelivered > 1 {
		if attempts, err = w.store.attempts(d.ops, req.key); err != nil {
			w.releaseLease(d, leaseRev, prev)
			return w.infraTrouble(d, err)
		}
		hadCounter = attempts > 0
	}

	for {
		attempts++
		alog := d.log.With("attempt", attempts)
		info, err := w.callCreate(ctx, d, req.data)
		if err == nil {
			return w.created(d, leaseRev, info, attempts, hadCounter)
		}
		switch {
		case errors.Is(err, plugnmeet.ErrSystemic):
			attempts-- // a rejected key is not an attempt
			w.releaseLease(d, leaseRev, prev)
			w.metrics.systemicErrors.Inc()
			w.pause(err)
			return ending{act: actNak, delay: w.pauseNakDelay(), reason: "plugNmeet rejects the credentials"}
		case errors.Is(err, plugnmeet.ErrPermanent):
			w.releaseLease(d, leaseRev, prev)
			w.clearCounter(d, hadCounter)
			return w.fail(d, req.roomID, events.RoomFailed{
				Reason: events.ReasonRejected, Message: err.Error(), Attempts: attempts,
				PlugNmeetStatusCode: httpStatus(err), PlugNmeetCode: statusCode(err),
			})
		}
		// Transient, or our own deadline: try again, here or after a redelivery.
		if attempts >= w.cfg.MaxAttempts {
			w.releaseLease(d, leaseRev, prev)
			w.clearCounter(d, hadCounter)
			return w.fail(d, req.roomID, events.RoomFailed{
				Reason:              events.ReasonRetriesExhausted,
				Message:             fmt.Sprintf("%d create attempts failed; last error: %v", attempts, err),
				Attempts:            attempts,
				PlugNmeetStatusCode: httpStatus(err),
				PlugNmeetCode:       statusCode(err),
				Request:             w.replayable(d),
			})
		}
		delay := w.backoff.delay(attempts, plugnmeet.RetryAfter(err))
		alog.Info("create attempt failed, will retry", "err", err, "class", classLabel(err), "delay", delay)
		inProcess := delay <= maxInProcessDelay &&
			time.Since(leaseAt)+delay+w.cfg.RequestTimeout < w.cfg.deliveryBudget()
		if inProcess && w.sleep(ctx, delay) {
			continue
		}
		w.releaseLease(d, leaseRev, prev)
		if err := w.store.setAttempts(d.ops, req.key, attempts); err != nil {
			d.log.Warn("could not record attempts; the count restarts on redelivery", "err", err)
		}
		if w.finalDelivery(d) {
			return w.fail(d, req.roomID, events.RoomFailed{
				Reason: events.ReasonRetriesExhausted,
				Message: fmt.Sprintf("delivery %d of MAX_DELIVER %d: JetStream will not redeliver; last error: %v",
					d.meta.NumDelivered, w.cfg.MaxDeliver, err),
				Attempts: attempts, PlugNmeetStatusCode: httpStatus(err), PlugNmeetCode: statusCode(err),
				Request: w.replayable(d),
			})
		}
		return ending{act: actNak, delay: delay, reason: "transient failure"}
	}
}

// replayable renders the request event in the JSON event format for a retries_exhausted result,
// so `roomctl replay` can republish it after the outage (work-queue retention has deleted it
// from the request stream by then). The request was at most MAX_MESSAGE_BYTES.
func (w *Worker) replayable(d *delivery) json.RawMessage {
	_, body, err := events.EncodeStructured(d.req.ev)
	if err != nil {
		d.log.Warn("cannot embed the request in its failure; it will not be replayable", "err", err)
		return nil
	}
	return body
}

// finalDelivery reports whether JetStream will not offer this message again (MAX_DELIVER reached).
func (w *Worker) finalDelivery(d *delivery) bool {
	return w.cfg.MaxDeliver > 0 && d.meta.NumDelivered >= uint64(w.cfg.MaxDeliver)
}

// maxInProcessDelay is the longest backoff waited inside one delivery; longer waits go back to
// JetStream as NakWithDelay, freeing the slot.
const maxInProcessDelay = 2 * time.Second

// callCreate makes one create call with the request timeout, sending InProgress heartbeats
// while it runs longer than a third of AckWait.
func (w *Worker) callCreate(ctx context.Context, d *delivery, body []byte) (*plugnmeet.RoomInfo, error) {
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RequestTimeout)
	defer cancel()
	every := w.cfg.AckWait() / 3
	var hb *time.Timer
	hb = time.AfterFunc(every, func() {
		if cctx.Err() == nil {
			_ = d.msg.InProgress()
			hb.Reset(every)
		}
	})
	defer hb.Stop()
	start := time.Now()
	info, err := w.api.CreateRoom(cctx, body)
	w.metrics.observeAPI(plugnmeet.RouteCreate, start, err)
	return info, err
}

// created stores the outcome, publishes room.created and acks.
func (w *Worker) created(d *delivery, leaseRev uint64, info *plugnmeet.RoomInfo, attempts int, hadCounter bool) ending {
	req := d.req
	warnings, err := appliedWarnings(req.metadata, info.Metadata)
	if err != nil {
		d.log.Warn("could not compare requested and applied settings", "err", err)
	}
	roomInfo, err := info.MarshalJSON() // directly: json.Marshal would compact the metadata again
	if err != nil {
		return w.infraTrouble(d, err)
	}
	rec := Record{State: StateCreated, RequestID: req.ev.ID(), RequestKey: req.key, PayloadHash: req.payloadHash,
		SID: info.SID, RoomInfo: roomInfo, Warnings: warnings, Attempts: attempts, At: time.Now().UTC()}
	// The record and the result are written at the same time; both are stored before the ack.
	// Either order survives a crash between them: a redelivery finds the record and republishes
	// the same result (same Nats-Msg-Id), or finds no record and plugNmeet returns the live session.
	end := w.succeed(d, rec, false, func() error { return w.store.complete(d.ops, req.roomID, leaseRev, rec) })
	if end.act == actAck {
		w.clearCounter(d, hadCounter)
		w.metrics.warnings.Add(float64(len(warnings)))
	}
	return end
}

// fromRecord answers a request from the idempotency record, without calling plugNmeet. The
// request that made the record gets its own (non-duplicate) result again, with the same id.
func (w *Worker) fromRecord(d *delivery, rec *Record) ending {
	dup := rec.RequestKey != d.req.key
	if dup {
		w.metrics.idempotencyHits.Inc()
	}
	return w.succeed(d, *rec, dup, nil)
}

// succeed publishes room.created for rec, running store (when given) while the PubAck is on its
// way, and acks once both are done.
func (w *Worker) succeed(d *delivery, rec Record, dup bool, store func() error) ending {
	data := events.RoomCreated{RoomID: d.req.roomID, SID: rec.SID, RoomInfo: rec.RoomInfo,
		Duplicate: dup, Attempts: rec.Attempts, Warnings: rec.Warnings}
	if dup {
		data.Attempts = 0
	}
	body, err := encodeCreated(data)
	if err != nil {
		return w.infraTrouble(d, err)
	}
	wait, err := w.startPublish(d, events.TypeRoomCreated, d.req.roomID, body)
	if err != nil {
		return w.infraTrouble(d, err)
	}
	var storeErr error
	if store != nil {
		storeErr = store()
	}
	if err := wait(); err != nil {
		return w.infraTrouble(d, err)
	}
	if storeErr != nil {
		// The room exists and its result is stored; a redelivery finds no record, calls create
		// again (plugNmeet returns the live session) and republishes the same result, which
		// JetStream drops as a duplicate.
		return w.infraTrouble(d, storeErr)
	}
	reason := "created"
	if dup {
		reason = "duplicate"
	}
	w.metrics.results.WithLabelValues("created", reason).Inc()
	w.metrics.attempts.Observe(float64(data.Attempts))
	d.log.Info("room created", "outcome", "created", "reason", reason, "sid", rec.SID,
		"attempts", data.Attempts, "warnings", len(rec.Warnings), "duration", time.Since(d.start))
	return ending{act: actAck}
}

// fail publishes room.failed and terminates the message.
func (w *Worker) fail(d *delivery, roomID string, f events.RoomFailed) ending {
	f.RoomID = roomID
	if err := w.publishResult(d, events.TypeRoomFailed, roomID, f); err != nil {
		return w.infraTrouble(d, err)
	}
	w.metrics.results.WithLabelValues("failed", string(f.Reason)).Inc()
	w.metrics.attempts.Observe(float64(f.Attempts))
	d.log.Info("room failed", "outcome", "failed", "reason", string(f.Reason), "message", f.Message,
		"errors", len(f.Errors), "attempts", f.Attempts, "duration", time.Since(d.start))
	return ending{act: actTerm, reason: string(f.Reason)}
}

// publishResult stores a result event in the events stream and waits for its PubAck.
func (w *Worker) publishResult(d *delivery, typ, roomID string, data any) error {
	wait, err := w.startPublish(d, typ, roomID, data)
	if err != nil {
		return err
	}
	return wait()
}

// startPublish sends a result event to the events stream and returns a function that waits for
// its PubAck. The result's id and Nats-Msg-Id derive from the request (or, for a message that is
// no valid event, from its stream position), so a redelivered request never adds a second result.
func (w *Worker) startPublish(d *delivery, typ, roomID string, data any) (wait func() error, err error) {
	origin := events.StreamOrigin(d.meta.Stream, d.meta.Sequence.Stream)
	if d.req != nil {
		origin = events.OriginOf(d.req.ev)
	}
	ev, err := events.NewResultFor(origin, typ, w.cfg.EventSource, data)
	if err != nil {
		return nil, err
	}
	if roomID != "" {
		ev.SetSubject(roomID)
	}
	h, body, err := events.EncodeBinary(ev)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	subject := w.cfg.CreatedSubject
	if typ == events.TypeRoomFailed {
		subject = w.cfg.FailedSubject
	}
	msg := &nats.Msg{Subject: subject, Header: h, Data: body}
	fut, err := w.js.PublishMsgAsync(msg, jetstream.WithMsgID(events.ResultMsgID(origin)),
		jetstream.WithExpectStream(w.cfg.EventsStream))
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", typ, err)
	}
	return func() error {
		t := time.NewTimer(publishAckTimeout)
		defer t.Stop()
		select {
		case <-fut.Ok():
			return nil
		case err := <-fut.Err():
			return fmt.Errorf("publish %s: %w", typ, err)
		case <-t.C:
			return fmt.Errorf("publish %s: no PubAck within %s", typ, publishAckTimeout)
		}
	}, nil
}

// publishAckTimeout bounds the wait for a result's PubAck.
const publishAckTimeout = 10 * time.Second

// infraTrouble puts a delivery back when NATS itself failed us (KV or publish): not an attempt.
func (w *Worker) infraTrouble(d *delivery, err error) ending {
	d.log.Warn("NATS operation failed, delivery put back", "err", err)
	return ending{act: actNak, delay: jitter(time.Second), reason: "nats: " + err.Error()}
}

// leaseBusy puts a delivery back while another worker creates the same room.
func (w *Worker) leaseBusy(d *delivery, rec *Record) ending {
	if w.finalDelivery(d) {
		d.log.Error("final delivery found the room lease held by another worker; the message will not be redelivered by JetStream",
			"max_deliver", w.cfg.MaxDeliver)
	}
	holder := ""
	if rec != nil {
		holder = rec.Holder
	}
	d.log.Debug("room lease held elsewhere, waiting", "holder", holder)
	// Wait longer the more often this message found the lease taken, so a lease left by a killed
	// worker (freed by its TTL) costs a handful of deliveries, not hundreds.
	wait := min(time.Duration(d.meta.NumDelivered)*250*time.Millisecond, 5*time.Second)
	return ending{act: actNak, delay: jitter(wait), reason: "room lease held"}
}

func (w *Worker) releaseLease(d *delivery, rev uint64, prev *entry) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.store.release(ctx, d.req.roomID, rev, prev); err != nil {
		d.log.Warn("could not release room lease; it expires on its own", "err", err, "ttl", w.cfg.leaseTTL())
	}
}

// clearCounter removes the attempt counter of a finished request, when earlier deliveries left one.
func (w *Worker) clearCounter(d *delivery, had bool) {
	if !had {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.store.clearAttempts(ctx, d.req.key); err != nil {
		d.log.Debug("could not clear attempt counter; it expires with the idempotency window", "err", err)
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

func requestKey(source, id string) string {
	sum := sha256.Sum256([]byte(source + "\x00" + id))
	return hex.EncodeToString(sum[:16])
}

// logSafe cuts a value from a request to at most 80 bytes for a log line (the log handler
// quotes and escapes what remains).
func logSafe(s string) string {
	const limit = 80
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// wellFormedRoomID reports whether id has the shape plugNmeet accepts: 1 to 64 of [a-zA-Z0-9_-].
func wellFormedRoomID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func isJSONContentType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}

func httpStatus(err error) int {
	var pe *plugnmeet.Error
	if errors.As(err, &pe) {
		return pe.HTTPStatus
	}
	return 0
}

func statusCode(err error) string {
	var pe *plugnmeet.Error
	if errors.As(err, &pe) {
		return pe.StatusCode
	}
	return ""
}

// classLabel is the metric label for a failed call: transient, permanent or systemic.
func classLabel(err error) string {
	switch {
	case errors.Is(err, plugnmeet.ErrSystemic):
		return "systemic"
	case errors.Is(err, plugnmeet.ErrPermanent):
		return "permanent"
	}
	return "transient"
}
