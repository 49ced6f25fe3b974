package worker

import (
	"context"
	"errors"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/tracing"
)

// Traces. Each delivery is one CONSUMER span, "process <request subject>", a child of the
// request's traceparent (the CloudEvents distributed-tracing extension), begun when the message
// was received. Its children: "decode and validate", "lease", one "plugnmeet <route>" per call
// (over the HTTP client span of otelhttp), "record" (the bucket writes) and the PRODUCER span
// "publish <result subject>", whose context the result carries as its traceparent, so a
// consumer of room.created continues the same trace. With tracing off every helper here
// returns at once: no span, no attribute, no allocation.

// Attributes of roomworker's own spans (the messaging and CloudEvents ones come from tracing).
const (
	attrRoute         = attribute.Key("roomworker.plugnmeet.route")
	attrAttempt       = attribute.Key("roomworker.plugnmeet.attempt")
	attrPlugNmeetCode = attribute.Key("roomworker.plugnmeet.status_code")
	attrHTTPStatus    = attribute.Key("http.response.status_code")
	attrResultType    = attribute.Key("roomworker.result.type")
	attrResultReason  = attribute.Key("roomworker.result.reason")
	attrAction        = attribute.Key("roomworker.delivery.action")
	attrDelivered     = attribute.Key("roomworker.delivery.count")
	attrDuplicate     = attribute.Key("roomworker.result.duplicate")
)

// traced reports whether spans are recorded.
func (w *Worker) traced() bool { return w.tr.Enabled() }

// startDelivery starts the delivery's span, back-dated to when the message was received, once
// decide knows the request event (ev nil: the message is not a readable CloudEvent), and
// records the "decode and validate" span that ended just now. It returns ctx with the span.
func (w *Worker) startDelivery(ctx context.Context, d *delivery, ev *event.Event, invalid string) context.Context {
	if !w.traced() {
		return ctx
	}
	m := tracing.Message{Subject: d.msg.Subject(), ConsumerGroup: w.cfg.Consumer, BodySize: len(d.msg.Data()),
		ID: d.msg.Headers().Get("Nats-Msg-Id")}
	if ev != nil {
		ctx = w.tr.Extract(ctx, ev)
		if m.ID == "" {
			m.ID = ev.ID()
		}
	}
	attrs := append(tracing.MessagingAttributes(tracing.OpProcess, m), tracing.EventAttributes(ev)...)
	attrs = append(attrs, attrDelivered.Int64(int64(d.meta.NumDelivered)))
	ctx, d.span = w.tr.Tracer().Start(ctx, m.SpanName(tracing.OpProcess), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithTimestamp(d.start), trace.WithAttributes(attrs...))
	_, sp := w.tr.Tracer().Start(ctx, "decode and validate", trace.WithTimestamp(d.start))
	if invalid != "" {
		sp.SetStatus(codes.Error, invalid)
	}
	sp.End()
	return ctx
}

// span starts a child span of the delivery (a no-op span when tracing is off).
func (w *Worker) span(ctx context.Context, name string, kind trace.SpanKind) (context.Context, trace.Span) {
	if !w.traced() {
		return ctx, noSpan
	}
	return w.tr.Tracer().Start(ctx, name, trace.WithSpanKind(kind))
}

// noSpan is the span of a context without one: every method does nothing.
var noSpan = trace.SpanFromContext(context.Background())

// endCall ends a plugNmeet call's span with what the call answered.
func endCall(sp trace.Span, route string, attempt int, err error) {
	if !sp.IsRecording() {
		return
	}
	sp.SetAttributes(attrRoute.String(route))
	if attempt > 0 { // 0: not a call spent on the request (the credentials probe)
		sp.SetAttributes(attrAttempt.Int(attempt))
	}
	if s := httpStatus(err); s != 0 {
		sp.SetAttributes(attrHTTPStatus.Int(s))
	}
	if c := statusCode(err); c != "" {
		sp.SetAttributes(attrPlugNmeetCode.String(c))
	}
	if err != nil {
		tracing.SetError(sp, err, classLabel(err))
	}
	sp.End()
}

// endSpan ends a span, marking it failed when err is not nil.
func endSpan(sp trace.Span, err error) {
	if !sp.IsRecording() {
		return
	}
	if err != nil {
		tracing.SetError(sp, err, "")
	}
	sp.End()
}

// endDelivery ends the delivery's span with how the delivery ended: a room.failed result makes
// it an error, with the failure's reason as error.type.
func (d *delivery) endDelivery(v verdict) {
	sp := d.span
	if sp == nil || !sp.IsRecording() {
		return
	}
	if d.req != nil && d.req.roomID != "" {
		sp.SetAttributes(tracing.RoomID(d.req.roomID))
	}
	sp.SetAttributes(attrAction.String(v.end.act.String()))
	if r := v.result; r != nil {
		sp.SetAttributes(attrResultType.String(r.typ), attrResultReason.String(r.label))
		if r.label == "duplicate" {
			sp.SetAttributes(attrDuplicate.Bool(true))
		}
		if r.typ == events.TypeRoomFailed {
			msg := r.message
			if msg == "" {
				msg = r.label
			}
			tracing.SetError(sp, errors.New(msg), r.label)
		}
	} else if v.why != "" {
		sp.AddEvent("put back", trace.WithAttributes(attribute.String("reason", v.why),
			attribute.String("delay", v.end.delay.String())))
	}
	sp.End(trace.WithTimestamp(time.Now()))
}

// traceCtx is the context carrying the delivery's span (background before decide started it).
func (d *delivery) traceCtx() context.Context {
	if d.ctx == nil {
		return context.Background()
	}
	return d.ctx
}
