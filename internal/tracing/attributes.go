package tracing

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// MessagingSystem is messaging.system for NATS (JetStream included); the
// semantic conventions have no predefined value for it.
const MessagingSystem = "nats"

// RoomIDKey is the project attribute naming the plugNmeet room a span is
// about.
const RoomIDKey = attribute.Key("roomworker.room_id")

// RoomID returns the roomworker.room_id attribute.
func RoomID(id string) attribute.KeyValue { return RoomIDKey.String(id) }

// Operation is a messaging operation: its messaging.operation.type (one of
// the semantic conventions' values) and messaging.operation.name (the NATS
// operation).
type Operation struct {
	Type string // messaging.operation.type
	Name string // messaging.operation.name, and the first word of the span name
}

// The operations roomworker performs. "publish" is a "send" in the
// semantic conventions since v1.26 (the "publish" type is deprecated).
var (
	// OpProcess: handling a delivered message (CONSUMER span).
	OpProcess = Operation{Type: "process", Name: "process"}
	// OpReceive: fetching messages from a pull consumer (CLIENT span when
	// separate from processing).
	OpReceive = Operation{Type: "receive", Name: "receive"}
	// OpPublish: publishing a message (PRODUCER span).
	OpPublish = Operation{Type: "send", Name: "publish"}
)

// Message describes the NATS message a messaging span is about.
type Message struct {
	// Subject is messaging.destination.name: the subject the message was
	// delivered on or is published to.
	Subject string
	// SubjectTemplate, when set, is messaging.destination.template and
	// replaces Subject in the span name; set it when Subject has a
	// high-cardinality part, e.g. "rooms.schedule.{room_id}".
	SubjectTemplate string
	// ID is messaging.message.id: the Nats-Msg-Id (or the CloudEvent id).
	ID string
	// ConsumerGroup is messaging.consumer.group.name: the durable
	// consumer's name (consumers only).
	ConsumerGroup string
	// BodySize, when positive, is messaging.message.body.size in bytes.
	BodySize int
}

// SpanName returns the conventional messaging span name,
// "{operation name} {destination}", e.g. "process rooms.create".
func (m Message) SpanName(op Operation) string {
	dest := m.SubjectTemplate
	if dest == "" {
		dest = m.Subject
	}
	if dest == "" {
		return op.Name
	}
	return op.Name + " " + dest
}

// MessagingAttributes returns the messaging semantic-convention attributes
// of operation op on m: messaging.system, messaging.operation.type and
// .name, and, when set, messaging.destination.name and .template,
// messaging.message.id, messaging.consumer.group.name and
// messaging.message.body.size.
func MessagingAttributes(op Operation, m Message) []attribute.KeyValue {
	return appendMessagingAttributes(make([]attribute.KeyValue, 0, maxMessagingAttrs), op, m)
}

// maxMessagingAttrs and maxEventAttrs are how many attributes
// appendMessagingAttributes and appendEventAttributes add at most.
const (
	maxMessagingAttrs = 8
	maxEventAttrs     = 4
)

func appendMessagingAttributes(attrs []attribute.KeyValue, op Operation, m Message) []attribute.KeyValue {
	attrs = append(attrs,
		semconv.MessagingSystemKey.String(MessagingSystem),
		semconv.MessagingOperationTypeKey.String(op.Type),
		semconv.MessagingOperationName(op.Name),
	)
	if m.Subject != "" {
		attrs = append(attrs, semconv.MessagingDestinationName(m.Subject))
	}
	if m.SubjectTemplate != "" {
		attrs = append(attrs, semconv.MessagingDestinationTemplate(m.SubjectTemplate))
	}
	if m.ID != "" {
		attrs = append(attrs, semconv.MessagingMessageID(m.ID))
	}
	if m.ConsumerGroup != "" {
		attrs = append(attrs, semconv.MessagingConsumerGroupName(m.ConsumerGroup))
	}
	if m.BodySize > 0 {
		attrs = append(attrs, semconv.MessagingMessageBodySize(m.BodySize))
	}
	return attrs
}

// EventAttributes returns the CloudEvents semantic-convention attributes of
// ev: cloudevents.event_id, .event_source, .event_type and, when set,
// .event_subject. nil for a nil event.
func EventAttributes(ev *event.Event) []attribute.KeyValue {
	if ev == nil || ev.Context == nil {
		return nil
	}
	return appendEventAttributes(make([]attribute.KeyValue, 0, maxEventAttrs), ev)
}

func appendEventAttributes(attrs []attribute.KeyValue, ev *event.Event) []attribute.KeyValue {
	if ev == nil || ev.Context == nil {
		return attrs
	}
	attrs = append(attrs,
		semconv.CloudEventsEventID(ev.ID()),
		semconv.CloudEventsEventSource(ev.Source()),
		semconv.CloudEventsEventType(ev.Type()),
	)
	if s := ev.Subject(); s != "" {
		attrs = append(attrs, semconv.CloudEventsEventSubject(s))
	}
	return attrs
}

// offSpan is the no-op span the Start helpers return when off (never a span
// found in ctx, which the caller's End would end).
var offSpan = trace.SpanFromContext(context.Background())

// StartProcess starts the CONSUMER span of processing request event ev
// delivered as m: its parent is the span context of ev's traceparent
// (Extract), else the span in ctx; its name is m.SpanName(OpProcess); its
// attributes are MessagingAttributes(OpProcess, m) and EventAttributes(ev).
// ev may be nil (a message that is not a readable CloudEvent). Off, it
// returns ctx and a no-op span without building any attribute.
//
// Add more attributes (RoomID...) under `if span.IsRecording()` to keep
// the off path free of allocations; End the span when the delivery is
// settled.
func (t *Tracing) StartProcess(ctx context.Context, ev *event.Event, m Message) (context.Context, trace.Span) {
	if !t.Enabled() {
		return ctx, offSpan
	}
	ctx = t.Extract(ctx, ev)
	attrs := appendEventAttributes(appendMessagingAttributes(make([]attribute.KeyValue, 0, maxMessagingAttrs+maxEventAttrs), OpProcess, m), ev)
	return t.tracer.Start(ctx, m.SpanName(OpProcess),
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
}

// StartPublish starts the PRODUCER span of publishing result event ev as m
// (a child of the span in ctx, normally the StartProcess span), and injects
// the new span's context into ev (Inject): per the messaging conventions the
// publish span is the result's creation context, so the result's
// traceparent names it. End the span when the publish is acknowledged. Off,
// it returns ctx and a no-op span and leaves ev as it is.
func (t *Tracing) StartPublish(ctx context.Context, ev *event.Event, m Message) (context.Context, trace.Span) {
	if !t.Enabled() {
		return ctx, offSpan
	}
	attrs := appendEventAttributes(appendMessagingAttributes(make([]attribute.KeyValue, 0, maxMessagingAttrs+maxEventAttrs), OpPublish, m), ev)
	ctx, span := t.tracer.Start(ctx, m.SpanName(OpPublish),
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	t.Inject(ctx, ev)
	return ctx, span
}

// SetError marks span as failed: status Error with err's message, an
// exception event, and error.type = errType (e.g. a room.failed reason such
// as "rejected"; the error's Go type when empty). Nothing when err is nil or
// the span is not recording.
func SetError(span trace.Span, err error, errType string) {
	if err == nil || !span.IsRecording() {
		return
	}
	et := semconv.ErrorType(err)
	if errType != "" {
		et = semconv.ErrorTypeKey.String(errType)
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(et)
}
