package worker

// The webhook receiver: plugNmeet's signed deliveries become lifecycle CloudEvents.
//
// A delivery is answered 2xx only once its event is stored in LIFECYCLE_STREAM (PubAck
// received). The stream's duplicate window and a Nats-Msg-Id derived from the delivery id store
// the global and the per-room copy, and every retry, once. A delivery that cannot be stored
// within WEBHOOK_PUBLISH_WAIT is answered 503, which plugNmeet retries with the same bytes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/plugnmeet"
)

// WebhookPath is where the receiver takes deliveries (POST only).
const WebhookPath = "/webhook"

// WebhookMsgIDPrefix prefixes the delivery id in the Nats-Msg-Id of a lifecycle event.
const WebhookMsgIDPrefix = "plugnmeet-webhook:"

// lifecycleDuplicateWindow is how long LIFECYCLE_STREAM remembers delivery ids: far longer than
// plugNmeet's retries (1 s, then 2 s) and the gap between the global and the per-room copy.
const lifecycleDuplicateWindow = 10 * time.Minute

// maxEventName bounds the event name, which becomes a subject token and part of the type.
const maxEventName = 64

// maxDeliveryID bounds the delivery id (plugNmeet's are UUIDs or LiveKit's EV_ ids).
const maxDeliveryID = 256

// unverifiedReasons label roomworker_webhooks_unverified_total: plugNmeet.WebhookFailure values,
// and "other" for an error that carries none.
var unverifiedReasons = []string{
	string(plugnmeet.WebhookMissingToken), string(plugnmeet.WebhookMalformedToken), string(plugnmeet.WebhookBadAlgorithm),
	string(plugnmeet.WebhookBadSignature), string(plugnmeet.WebhookWrongIssuer), string(plugnmeet.WebhookExpired),
	string(plugnmeet.WebhookNotYetValid), string(plugnmeet.WebhookMissingClaim), string(plugnmeet.WebhookBodyHashMismatch),
	"other",
}

// LifecycleSubject is the subject a lifecycle event of the given plugNmeet event name is stored
// under: LIFECYCLE_SUBJECT_PREFIX.<event>.
func (c WebhookConfig) LifecycleSubject(event string) string { return c.SubjectPrefix + "." + event }

// ProvisionLifecycle creates LIFECYCLE_STREAM (subjects LIFECYCLE_SUBJECT_PREFIX.>, limits
// retention, file storage, STREAM_REPLICAS, EVENTS_MAX_AGE, a 10-minute duplicate window), or
// brings an existing one in line, keeping subjects an operator added.
func (w *Worker) ProvisionLifecycle(ctx context.Context) error {
	c := w.cfg
	return w.ensureStream(ctx, jetstream.StreamConfig{
		Name:        c.Webhook.Stream,
		Description: "plugNmeet webhook deliveries republished as CloudEvents by roomworker",
		Subjects:    []string{c.Webhook.SubjectPrefix + ".>"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    c.StreamReplicas,
		MaxAge:      c.EventsMaxAge,
		Duplicates:  min(lifecycleDuplicateWindow, c.EventsMaxAge),
	})
}

// WebhookHandler returns the receiver for plugNmeet's webhooks: POST /webhook, verified with v
// and published to LIFECYCLE_STREAM; every other path answers 404 and every other method 405.
// m may be nil (nothing is counted). The lifecycle stream is created on first need if it does
// not exist.
func (w *Worker) WebhookHandler(v plugnmeet.WebhookVerifier, m *LifecycleMetrics) http.Handler {
	if m == nil {
		m = NewLifecycleMetrics(nopRegisterer{})
	}
	mux := http.NewServeMux()
	mux.Handle("POST "+WebhookPath, &webhookReceiver{w: w, verify: v, metrics: m})
	return mux
}

// webhookReceiver serves POST /webhook.
type webhookReceiver struct {
	w       *Worker
	verify  plugnmeet.WebhookVerifier
	metrics *LifecycleMetrics

	mu    sync.Mutex
	rooms *store // the idempotency bucket, opened on first need (the worker provisions it)
}

func (rc *webhookReceiver) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	cfg := rc.w.cfg.Webhook
	deadline := time.Now().Add(cfg.PublishWait)
	log := rc.w.log.With("remote", r.RemoteAddr)

	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, int64(cfg.MaxBytes)))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			rc.metrics.verdict(verdictTooLarge)
			log.Warn("webhook refused: body too large", "limit", cfg.MaxBytes, "content_length", r.ContentLength)
			http.Error(rw, fmt.Sprintf("body over %d bytes", cfg.MaxBytes), http.StatusRequestEntityTooLarge)
			return
		}
		rc.metrics.verdict(verdictMalformed)
		http.Error(rw, "cannot read the body", http.StatusBadRequest)
		return
	}

	wh, err := rc.verify.Verify(r.Header, body)
	switch {
	case errors.Is(err, plugnmeet.ErrWebhookMalformed):
		rc.metrics.verdict(verdictMalformed)
		log.Warn("webhook refused: malformed body", "err", err)
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		// Anything else, a failure of an unknown kind included, is not verified.
		reason := "other"
		if f, ok := errors.AsType[plugnmeet.WebhookFailure](err); ok {
			reason = string(f)
		}
		rc.metrics.refused(reason)
		// err names the failed check, never the token or the secret.
		log.Warn("webhook refused: not verified", "reason", reason, "err", err)
		http.Error(rw, "webhook signature not verified", http.StatusUnauthorized)
		return
	}

	name := strings.ToLower(wh.Event)
	log = log.With("event", name, "id", wh.ID, "room_id", wh.RoomID)
	if problem := deliveryProblem(name, wh.ID); problem != "" {
		rc.metrics.verdict(verdictMalformed)
		log.Warn("webhook refused: " + problem)
		http.Error(rw, problem, http.StatusBadRequest)
		return
	}
	msg, err := rc.lifecycleMsg(name, wh)
	if err != nil {
		rc.metrics.verdict(verdictMalformed)
		log.Warn("webhook refused: not a valid CloudEvent", "err", err)
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}

	ack, err := rc.publish(r.Context(), msg, wh.ID, deadline)
	if err != nil {
		rc.metrics.verdict(verdictPublishFailed)
		log.Warn("webhook not stored: answering 503 so plugNmeet retries", "err", err, "waited", cfg.PublishWait)
		rw.Header().Set("Retry-After", "1")
		http.Error(rw, "the event could not be stored; retry", http.StatusServiceUnavailable)
		return
	}
	rc.metrics.verdict(verdictPublished)
	if !ack.Duplicate {
		rc.metrics.stored(name)
	}
	log.Debug("webhook stored", "subject", msg.Subject, "seq", ack.Sequence, "duplicate", ack.Duplicate)

	if (name == "room_finished" || name == "session_ended") && wh.RoomID != "" && wh.SID != "" {
		rc.endRoom(r.Context(), log, wh.RoomID, wh.SID, deadline)
	}
	rw.WriteHeader(http.StatusNoContent)
}

// deliveryProblem says what makes a verified delivery unusable, or "" when it is fine: the
// event name must be a NATS subject token ([a-z0-9_] after lower-casing) and the id printable
// ASCII (it goes into a header).
func deliveryProblem(name, id string) string {
	if len(name) > maxEventName {
		return fmt.Sprintf("event name of %d bytes, more than %d", len(name), maxEventName)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Sprintf("event name %q is not a subject token (letters, digits and _ only)", name)
		}
	}
	if len(id) > maxDeliveryID {
		return fmt.Sprintf("id of %d bytes, more than %d", len(id), maxDeliveryID)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return fmt.Sprintf("id %q is not printable ASCII without spaces", id)
		}
	}
	return ""
}

// lifecycleMsg builds the binary-mode CloudEvent of a verified delivery, on its subject.
func (rc *webhookReceiver) lifecycleMsg(name string, wh *plugnmeet.Webhook) (*nats.Msg, error) {
	ev := event.New(event.CloudEventsVersionV1)
	ev.SetID(wh.ID)
	ev.SetSource(rc.w.cfg.PlugNmeet.URL)
	ev.SetType(events.TypeLifecyclePrefix + name)
	if wh.RoomID != "" {
		ev.SetSubject(wh.RoomID)
	}
	if !wh.CreatedAt.IsZero() {
		ev.SetTime(wh.CreatedAt)
	}
	if err := ev.SetData(event.ApplicationJSON, withMetadataDecoded(wh.Body)); err != nil {
		return nil, err
	}
	h, data, err := events.EncodeBinary(&ev)
	if err != nil {
		return nil, err
	}
	return &nats.Msg{Subject: rc.w.cfg.Webhook.LifecycleSubject(name), Header: h, Data: data}, nil
}

// publish stores msg in the lifecycle stream, retrying until deadline: while NATS is
// disconnected it does not publish at all (a publish buffered for the reconnect could be stored
// after the delivery was answered 503), and when no stream takes the subject it provisions the
// stream once. The Nats-Msg-Id makes every retry, and every copy of the delivery, one message.
func (rc *webhookReceiver) publish(ctx context.Context, msg *nats.Msg, id string, deadline time.Time) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	cfg := rc.w.cfg.Webhook
	opts := []jetstream.PublishOpt{
		jetstream.WithMsgID(WebhookMsgIDPrefix + id),
		jetstream.WithExpectStream(cfg.Stream),
		jetstream.WithRetryAttempts(0), // this loop retries
	}
	provisioned := false
	pause := 50 * time.Millisecond
	var lastErr error
	for {
		if rc.w.nc.IsConnected() {
			ack, err := rc.w.js.PublishMsg(ctx, msg, opts...)
			if err == nil {
				return ack, nil
			}
			lastErr = err
			if errors.Is(err, jetstream.ErrNoStreamResponse) && !provisioned && ctx.Err() == nil {
				provisioned = true
				if perr := rc.w.ProvisionLifecycle(ctx); perr != nil {
					lastErr = fmt.Errorf("%w; provisioning stream %s: %w", err, cfg.Stream, perr)
				} else {
					rc.w.log.Info("lifecycle stream provisioned", "stream", cfg.Stream, "subjects", cfg.SubjectPrefix+".>")
					continue
				}
			}
		} else {
			lastErr = fmt.Errorf("NATS not connected (%s)", rc.w.nc.Status())
		}
		if ctx.Err() != nil {
			return nil, lastErr
		}
		select {
		case <-ctx.Done():
			return nil, lastErr
		case <-time.After(pause):
		}
		pause = min(2*pause, 400*time.Millisecond)
	}
}

// endRoom records that the room's session sid has ended, when the room's Record is that
// session's. The event is stored already, so a failure here is only logged. It gets what is left
// of the delivery's time budget, at least half a second.
func (rc *webhookReceiver) endRoom(ctx context.Context, log *slog.Logger, roomID, sid string, deadline time.Time) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(time.Until(deadline), 500*time.Millisecond))
	defer cancel()
	s, err := rc.bucket(ctx)
	if err != nil {
		log.Warn("lifecycle event stored, but the room's record could not be marked ended", "sid", sid, "err", err)
		return
	}
	changed, err := s.markEnded(ctx, roomID, sid)
	if err != nil {
		log.Warn("lifecycle event stored, but the room's record could not be marked ended", "sid", sid, "err", err)
		return
	}
	if changed {
		log.Info("room session ended: record marked ended", "sid", sid)
	}
}

// bucket opens the idempotency bucket once; it keeps its own handle so that it never races with
// the worker re-provisioning its own.
func (rc *webhookReceiver) bucket(ctx context.Context) (*store, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.rooms != nil {
		return rc.rooms, nil
	}
	c := rc.w.cfg
	kv, err := rc.w.js.KeyValue(ctx, c.Bucket)
	if err != nil {
		return nil, fmt.Errorf("key-value bucket %s: %w", c.Bucket, err)
	}
	rc.rooms = &store{js: rc.w.js, kv: kv, bucket: c.Bucket, window: c.IdempotencyWindow}
	return rc.rooms, nil
}

// withMetadataDecoded returns body with room.metadata, a JSON string holding a JSON object (as
// plugNmeet sends it), replaced by that object. Every other byte is kept as it is; a body without
// such a string is returned unchanged.
func withMetadataDecoded(body []byte) []byte {
	rs, re, ok := memberSpan(body, "room")
	if !ok {
		return body
	}
	ms, me, ok := memberSpan(body[rs:re], "metadata")
	if !ok {
		return body
	}
	start, end := rs+ms, rs+me
	var s string
	if body[start] != '"' || json.Unmarshal(body[start:end], &s) != nil {
		return body
	}
	var obj bytes.Buffer
	if json.Compact(&obj, []byte(s)) != nil || obj.Len() == 0 || obj.Bytes()[0] != '{' {
		return body // not JSON, or not an object: left as the string it is
	}
	out := make([]byte, 0, len(body)-(end-start)+obj.Len())
	out = append(out, body[:start]...)
	out = append(out, obj.Bytes()...)
	return append(out, body[end:]...)
}

// memberSpan finds the value of member name in the JSON object obj: its start and end offsets.
// With the member given twice, the last one counts (as encoding/json reads it).
func memberSpan(obj []byte, name string) (start, end int, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0, 0, false
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0, 0, false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, 0, false
		}
		if key, _ := t.(string); key == name {
			end = int(dec.InputOffset())
			start, ok = end-len(raw), true
		}
	}
	return start, end, ok
}
