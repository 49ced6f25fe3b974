package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/schema"
)

// request is a decoded, validated room.create event.
type request struct {
	ev          *event.Event
	key         string // stable per (source, id): names outcomes and attempt counters
	roomID      string
	data        []byte
	payloadHash string
	metadata    any // the decoded request metadata
}

// delivery is one message being processed, with what decide learned about it.
type delivery struct {
	msg      jetstream.Msg
	meta     *jetstream.MsgMetadata
	start    time.Time
	log      *slog.Logger
	mode     string   // CloudEvents content mode, or "invalid"
	req      *request // nil until the event decoded
	origin   events.Origin
	prior    int           // plugNmeet calls spent on the request by earlier deliveries (read from the bucket)
	attempts int           // plugNmeet calls spent so far, prior included
	lease    *lease        // the room's lease while this delivery holds it; handle releases it
	fireLag  time.Duration // for a booking its schedule fired: how late it is processed (0 otherwise)
	ops      context.Context
	// startTime and booked: the request's starttime extension, when it has one (admit).
	startTime time.Time
	booked    bool
	// span is the delivery's span (nil until decide starts it, and while tracing is off); ctx
	// carries it, for the spans of the executor.
	span trace.Span
	ctx  context.Context
}

// decide is the whole decision about one delivery: what its result is, if any, and how the
// delivery ends. It publishes nothing and never acks, naks or terminates: the executor does.
// Its only effects are reads, the room's lease (owned by the delivery) and the plugNmeet calls.
func (w *Worker) decide(ctx context.Context, d *delivery) verdict {
	v := w.admit(d)
	ok := v.result == nil
	var ev *event.Event
	if d.req != nil {
		ev = d.req.ev
	}
	invalid := ""
	if !ok {
		invalid = v.why
	}
	ctx = w.startDelivery(ctx, d, ev, invalid)
	d.ctx = ctx
	if !ok {
		return v
	}
	req := d.req
	start, booked := d.startTime, d.booked
	d.log = d.log.With("room_id", req.roomID)

	// 3. Everything else happens under the room's lease: one worker at a time per room_id. A
	// request whose outcome is recorded (a redelivery, or the same event published again) gets
	// that outcome again, whatever has happened since.
	_, sp := w.span(ctx, "lease", trace.SpanKindInternal)
	lease, out, err := w.store.acquire(d.ops, req.roomID, req.key,
		Lease{Holder: w.id, RequestID: ev.ID(), At: time.Now().UTC()}, w.cfg.leaseTTL(), d.meta.NumDelivered > 1)
	if errors.Is(err, errLeaseHeld) {
		sp.AddEvent("held by another worker")
		endSpan(sp, nil)
	} else {
		endSpan(sp, err)
	}
	d.lease = lease
	if out != nil {
		return recorded(out)
	}
	if errors.Is(err, errLeaseHeld) {
		// Wait longer the more often this message found the lease taken, so a lease left by a
		// killed worker (freed by its TTL) costs a handful of deliveries, not hundreds.
		wait := min(time.Duration(d.meta.NumDelivered)*250*time.Millisecond, 5*time.Second)
		return putBack(jitter(wait), "another worker holds the room's lease")
	}
	if err != nil {
		return natsTrouble(err)
	}
	if d.meta.NumDelivered > 1 {
		if d.prior, err = w.store.attempts(d.ops, req.key); err != nil {
			return natsTrouble(err)
		}
	}
	d.attempts = d.prior
	switch {
	case ev.Type() == events.TypeEndRoom:
		return w.endRoom(ctx, d)
	case ev.Type() == events.TypeCancelRoom:
		return w.cancelBooking(d)
	case booked && w.createAt(start).After(d.start.Add(dueTolerance)):
		return w.book(ctx, d, start) // validated now, created CREATE_LEAD before the start
	case booked && d.msg.Headers().Get(schedulerHeader) != "":
		d.fireLag = d.start.Sub(w.createAt(start)) // a booking its schedule fired
	case booked && w.schedules.Load():
		// A booking moved to now replaces the room's pending booking, like any rebooking.
		pending, err := w.pendingBooking(d.ops, req.roomID)
		if err != nil {
			return natsTrouble(err)
		}
		v := w.createRoom(ctx, d)
		if pending != nil && v.result != nil && v.result.typ == events.TypeRoomCreated {
			v.purge = w.scheduleSubject(req.roomID)
		}
		return v
	}
	return w.createRoom(ctx, d)
}

// admit decodes the message and validates its request. It returns the room.failed verdict when
// either fails, else a verdict without a result.
func (w *Worker) admit(d *delivery) verdict {
	// 1. The message: size, CloudEvent, type, content type.
	if size := messageSize(d.msg); size > w.cfg.MaxMessageBytes {
		return failure("", events.RoomFailed{
			Reason:  events.ReasonInvalidEvent,
			Message: fmt.Sprintf("message is %d bytes, over the %d-byte limit (MAX_MESSAGE_BYTES)", size, w.cfg.MaxMessageBytes),
		})
	}
	ev, mode, err := events.Decode(d.msg.Headers(), d.msg.Data())
	if err != nil {
		f := events.RoomFailed{Reason: events.ReasonInvalidEvent, Message: err.Error()}
		var ie *events.InvalidEventError
		if errors.As(err, &ie) {
			f.Errors = ie.Problems
		}
		return failure("", f)
	}
	d.mode = string(mode)
	d.origin = events.OriginOf(ev)
	req := &request{ev: ev, key: requestKey(ev.Source(), ev.ID()), data: ev.Data()}
	d.req = req
	d.log = d.log.With("request_id", ev.ID(), "source", ev.Source())
	switch ev.Type() {
	case events.TypeCreateRoom, events.TypeEndRoom, events.TypeCancelRoom:
	default:
		return failure("", events.RoomFailed{
			Reason: events.ReasonInvalidEvent,
			Message: fmt.Sprintf("unknown event type %q: roomworker handles %q, %q and %q", ev.Type(),
				events.TypeCreateRoom, events.TypeEndRoom, events.TypeCancelRoom),
		})
	}
	start, booked, err := events.StartTime(ev)
	if err != nil {
		return failure("", events.RoomFailed{Reason: events.ReasonInvalidEvent, Message: err.Error(),
			Errors: []events.FieldError{{Path: "/" + events.ExtStartTime, Message: err.Error()}}})
	}
	if ct := ev.DataContentType(); ct != "" && !isJSONContentType(ct) {
		return failure("", events.RoomFailed{
			Reason:  events.ReasonInvalidEvent,
			Message: fmt.Sprintf("datacontenttype %q is not JSON: the request data must be application/json", ct),
		})
	}

	// 2. The request data against its schema (room.end and room.cancel name a room).
	if ev.Type() != events.TypeCreateRoom {
		if req.roomID, err = schema.ParseEndRoom(req.data); err != nil {
			return w.invalidRequest(d, "end-room", err)
		}
	} else {
		tree, err := schema.Parse(req.data)
		if err != nil {
			return w.invalidRequest(d, "create-room", err)
		}
		req.roomID, _ = tree["room_id"].(string) // the schema requires it
		req.metadata = tree["metadata"]
		req.payloadHash = hashTree(tree)
	}
	d.startTime, d.booked = start, booked
	return verdict{}
}

// createRoom decides a valid request under its room's lease: answer with the live session an
// earlier request recorded, or call create (retrying transient failures) and answer with what
// plugNmeet says.
func (w *Worker) createRoom(ctx context.Context, d *delivery) verdict {
	req := d.req
	rec := d.lease.record()
	if rec != nil && rec.State == StateCreated && rec.RequestKey == req.key {
		return w.fromRecord(d, rec) // this request's own session: its outcome write was lost
	}
	// A session recorded as ended (a webhook, room.end, reconciliation) is not asked about.
	if rec != nil && rec.State == StateCreated && rec.payload(req.payloadHash) != nil {
		// The recorded session answers only while plugNmeet still has it: a room ended by
		// endRoom, empty_timeout, room_duration or a moderator gets a new session below.
		v, answered := w.retrying(ctx, d, plugnmeet.RouteIsRoomActive, func(cctx context.Context, _ int) (*verdict, error) {
			active, err := w.api.IsRoomActive(cctx, req.roomID)
			if err != nil || !active {
				return nil, err
			}
			v := w.fromRecord(d, rec)
			return &v, nil
		})
		if answered {
			return v
		}
	}
	v, _ := w.retrying(ctx, d, plugnmeet.RouteCreate, func(cctx context.Context, attempts int) (*verdict, error) {
		info, err := w.api.CreateRoom(cctx, req.data)
		if err != nil {
			return nil, err
		}
		v := w.created(d, rec, info, attempts)
		return &v, nil
	})
	return v
}

// endRoom decides a room.end request under its room's lease: end the live session, or answer
// that there was none.
func (w *Worker) endRoom(ctx context.Context, d *delivery) verdict {
	rec := d.lease.record()
	v, _ := w.retrying(ctx, d, plugnmeet.RouteEndRoom, func(cctx context.Context, attempts int) (*verdict, error) {
		err := w.api.EndRoom(cctx, d.req.roomID)
		already := errors.Is(err, plugnmeet.ErrRoomNotFound)
		if err != nil && !already {
			return nil, err
		}
		v := ended(events.RoomEnded{RoomID: d.req.roomID, AlreadyEnded: already, Attempts: attempts})
		v.outcome, v.attempts = true, attempts
		if rec != nil {
			v.endSID = rec.SID
		}
		return &v, nil
	})
	return v
}

// retrying makes a plugNmeet call for a request until it answers or the failures decide: a
// refused key or a wrong PLUGNMEET_URL pauses the worker, a refusal ends the request, transient
// failures are retried here (short waits) or after a redelivery, up to MAX_ATTEMPTS calls in all
// for the request (d.attempts counts them). call returns the verdict its answer decides, or
// none (answered false) when the decision goes on.
func (w *Worker) retrying(ctx context.Context, d *delivery, route string,
	call func(ctx context.Context, attempts int) (*verdict, error)) (v verdict, answered bool) {
	for {
		d.attempts++
		attempts := d.attempts
		answer, err := w.callAPI(ctx, d, route, func(cctx context.Context) (*verdict, error) { return call(cctx, attempts) })
		if err == nil {
			if answer == nil {
				return verdict{}, false
			}
			return *answer, true
		}
		v, answered = w.afterFailure(ctx, d, route, err)
		if !answered {
			continue
		}
		return v, true
	}
}

// afterFailure decides what a failed plugNmeet call means for the request; answered false: try
// again now (the backoff has been waited).
func (w *Worker) afterFailure(ctx context.Context, d *delivery, route string, err error) (verdict, bool) {
	req := d.req
	attempts := d.attempts
	switch {
	case ctx.Err() != nil:
		// Our own shutdown cut the call short: not an attempt.
		v := putBack(0, "shutdown cut the plugNmeet call short")
		v.attempts, v.lastErr = attempts-1, err
		return v, true
	case errors.Is(err, plugnmeet.ErrCredentials):
		// A key refused on every call pauses the worker; a 403 that only this request meets
		// (a firewall in front of plugNmeet) is this request's answer. A 401 (or 407) is never
		// about one request: the key was refused a moment ago and is accepted now (a rotation,
		// an outage ending), so the request is put back, which is not an attempt.
		if probe := w.probeCredentials(ctx); probe != nil {
			v := putBack(w.pauseNakDelay(), "plugNmeet rejects the credentials")
			v.attempts, v.lastErr, v.pause = attempts-1, err, probe
			return v, true
		}
		if httpStatus(err) != http.StatusForbidden {
			v := putBack(jitter(time.Second), "plugNmeet refused the credentials, then accepted them")
			v.attempts, v.lastErr = attempts-1, err
			return v, true
		}
		v := failure(req.roomID, events.RoomFailed{
			Reason: events.ReasonRejected, Attempts: attempts,
			Message: fmt.Sprintf("plugNmeet, or what stands in front of it, refused this request with HTTP %d, while "+
				"the credentials work (a probe call right after was accepted): %s", httpStatus(err), answerText(err)),
			PlugNmeetStatusCode: httpStatus(err), PlugNmeetCode: statusCode(err),
		})
		v.outcome, v.attempts = true, attempts
		return v, true
	case errors.Is(err, plugnmeet.ErrSystemic):
		// Not plugNmeet at PLUGNMEET_URL, or an answer over the size limit: configuration.
		v := putBack(w.pauseNakDelay(), "plugNmeet is misconfigured")
		v.attempts, v.lastErr, v.pause = attempts-1, err, err
		return v, true
	case errors.Is(err, plugnmeet.ErrPermanent):
		return w.rejected(d, err, attempts), true
	}
	// Transient: try again, here or after a redelivery.
	if attempts >= w.cfg.MaxAttempts {
		v := failure(req.roomID, events.RoomFailed{
			Reason:              events.ReasonRetriesExhausted,
			Message:             fmt.Sprintf("%d %s attempts failed; last error: %v", attempts, callName(route), err),
			Attempts:            attempts,
			PlugNmeetStatusCode: httpStatus(err),
			PlugNmeetCode:       statusCode(err),
			Request:             w.replayable(d),
		})
		v.outcome, v.attempts = true, attempts
		return v, true
	}
	delay := w.backoff.delay(attempts, plugnmeet.RetryAfter(err))
	d.log.Info("plugNmeet call failed, will retry", "route", route, "attempt", attempts, "err", err,
		"class", classLabel(err), "delay", delay)
	inProcess := delay <= maxInProcessDelay && time.Since(d.start)+delay+w.cfg.RequestTimeout < w.cfg.deliveryBudget()
	if inProcess && w.sleep(ctx, delay) {
		return verdict{}, false
	}
	v := putBack(delay, "plugNmeet call failed: "+classLabel(err))
	v.attempts, v.lastErr = attempts, err
	return v, true
}

// created is the verdict for a create call that answered with a session. The answer is a
// duplicate when plugNmeet returned the session an earlier request recorded (its room was
// still live); a new session replaces the room's record.
func (w *Worker) created(d *delivery, rec *Record, info *plugnmeet.RoomInfo, attempts int) verdict {
	req := d.req
	warnings, err := appliedWarnings(req.metadata, info.Metadata)
	if err != nil {
		d.log.Warn("could not compare requested and applied settings", "err", err)
	}
	roomInfo, err := info.MarshalJSON() // directly: json.Marshal would compact the metadata again
	if err != nil {
		return natsTrouble(err)
	}
	dup := rec != nil && rec.RequestKey != req.key && rec.SID == info.SID
	v, err := success(events.RoomCreated{RoomID: req.roomID, SID: info.SID, RoomInfo: roomInfo, Duplicate: dup,
		Attempts: attempts, Warnings: warnings})
	if err != nil {
		return natsTrouble(err)
	}
	v.outcome, v.attempts = true, attempts
	switch {
	case !dup:
		v.room = &Record{State: StateCreated, RoomID: req.roomID, RequestID: req.ev.ID(), RequestKey: req.key,
			PayloadHash: req.payloadHash, SID: info.SID, RoomInfo: roomInfo, Warnings: warnings, Attempts: attempts,
			At: time.Now().UTC()}
	case rec.payload(req.payloadHash) == nil:
		// Another payload for the live session: remember it, so its repeats are answered from
		// the record too, with this payload's own warnings.
		more := *rec
		more.Variants = append(slices.Clone(rec.Variants), Variant{PayloadHash: req.payloadHash, Warnings: warnings})
		v.room = &more
	}
	return v
}

// fromRecord answers with the live session recorded in rec, without a create call. The request
// that made the record gets its own (non-duplicate) result again.
func (w *Worker) fromRecord(d *delivery, rec *Record) verdict {
	dup := rec.RequestKey != d.req.key
	warnings := rec.Warnings
	if p := rec.payload(d.req.payloadHash); p != nil {
		warnings = p.Warnings
	}
	c := events.RoomCreated{RoomID: d.req.roomID, SID: rec.SID, RoomInfo: rec.RoomInfo, Duplicate: dup,
		Attempts: rec.Attempts, Warnings: warnings}
	if dup {
		c.Attempts = 0
	}
	v, err := success(c)
	if err != nil {
		return natsTrouble(err)
	}
	v.outcome, v.hit = true, dup
	return v
}

// rejected is the verdict for a request plugNmeet refused.
func (w *Worker) rejected(d *delivery, err error, attempts int) verdict {
	v := failure(d.req.roomID, events.RoomFailed{
		Reason: events.ReasonRejected, Message: err.Error(), Attempts: attempts,
		PlugNmeetStatusCode: httpStatus(err), PlugNmeetCode: statusCode(err),
	})
	v.outcome, v.attempts = true, attempts
	return v
}

// invalidRequest is the verdict for request data that fails its schema (name).
func (w *Worker) invalidRequest(d *delivery, name string, err error) verdict {
	var head struct {
		RoomID any `json:"room_id"`
	}
	_ = json.Unmarshal(d.req.data, &head) // best effort, to name the room in the failure
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
		f.Message = fmt.Sprintf("request data fails the %s schema (%d error(s))", name, len(se.Errors))
		for _, fe := range se.Errors {
			f.Errors = append(f.Errors, events.FieldError{Path: fe.Path, Message: fe.Message})
		}
	}
	return failure(roomID, f)
}

// natsTrouble puts a delivery back when NATS itself failed us: not an attempt.
func natsTrouble(err error) verdict {
	return putBack(jitter(time.Second), "nats: "+err.Error())
}

// replayable renders the request event in the JSON event format for a retries_exhausted result,
// so `roomctl replay` can republish it after the outage (work-queue retention has deleted it
// from the request stream by then). The executor leaves it out if the result would not fit the
// server's max_payload.
func (w *Worker) replayable(d *delivery) json.RawMessage {
	if d.req == nil {
		return nil
	}
	_, body, err := events.EncodeStructured(d.req.ev)
	if err != nil {
		d.log.Warn("cannot embed the request in its failure; it will not be replayable", "err", err)
		return nil
	}
	return body
}

// maxInProcessDelay is the longest backoff waited inside one delivery; longer waits go back to
// JetStream as NakWithDelay, freeing the slot.
const maxInProcessDelay = 2 * time.Second

// callAPI makes one plugNmeet call with the request timeout, sending InProgress heartbeats
// while it runs longer than a third of AckWait.
func (w *Worker) callAPI(ctx context.Context, d *delivery, route string, call func(context.Context) (*verdict, error)) (*verdict, error) {
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RequestTimeout)
	defer cancel()
	stop := w.heartbeat(d)
	defer stop()
	cctx, sp := w.span(cctx, "plugnmeet "+route, trace.SpanKindInternal)
	start := time.Now()
	v, err := call(cctx)
	w.metrics.observeAPI(cctx, route, start, err)
	endCall(sp, route, d.attempts, err)
	return v, err
}

// isRoomActive asks plugNmeet whether roomID has a live session.
func (w *Worker) isRoomActive(ctx context.Context, roomID string) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, w.cfg.RequestTimeout)
	defer cancel()
	cctx, sp := w.span(cctx, "plugnmeet "+plugnmeet.RouteIsRoomActive, trace.SpanKindInternal)
	start := time.Now()
	active, err := w.api.IsRoomActive(cctx, roomID)
	w.metrics.observeAPI(cctx, plugnmeet.RouteIsRoomActive, start, err)
	endCall(sp, plugnmeet.RouteIsRoomActive, 0, err)
	return active, err
}

// heartbeat sends InProgress every third of AckWait until stop is called, so a slow call does
// not make JetStream offer the message to another worker.
func (w *Worker) heartbeat(d *delivery) (stop func()) {
	every := w.ackWait() / 3
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = d.msg.InProgress()
			}
		}
	}()
	return func() { close(done) }
}

// finalDelivery reports whether JetStream will not offer this message again (MAX_DELIVER reached).
func (w *Worker) finalDelivery(d *delivery) bool {
	maxDeliver := w.maxDeliver()
	return maxDeliver > 0 && d.meta.NumDelivered >= uint64(maxDeliver)
}

// callName names a route's call in messages: "create", "endRoom".
func callName(route string) string { return route[strings.LastIndexByte(route, '/')+1:] }

func messageSize(msg jetstream.Msg) int {
	size := len(msg.Data())
	for k, vs := range msg.Headers() {
		for _, v := range vs {
			size += len(k) + len(v)
		}
	}
	return size
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

// answerText is what plugNmeet (or what answered in its place) said, without the client's advice.
func answerText(err error) string {
	var pe *plugnmeet.Error
	if errors.As(err, &pe) && pe.Msg != "" {
		return pe.Msg
	}
	return err.Error()
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
