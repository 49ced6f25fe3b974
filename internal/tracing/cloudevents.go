package tracing

import (
	"context"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/roomworker/roomworker/events"
)

// CloudEvents distributed-tracing extension attributes: the W3C Trace
// Context headers, under the same names.
const (
	ExtTraceParent = "traceparent"
	ExtTraceState  = "tracestate"
)

// EventCarrier adapts a CloudEvent's distributed-tracing extension to a
// propagation.TextMapCarrier. Only traceparent and tracestate are read and
// written.
type EventCarrier struct{ Event *event.Event }

var _ propagation.TextMapCarrier = EventCarrier{}

// Get returns the extension key as a string ("" when absent or not
// representable).
func (c EventCarrier) Get(key string) string {
	return events.Extension(c.Event, key)
}

// Set sets the extension key (only traceparent and tracestate).
func (c EventCarrier) Set(key, value string) {
	if c.Event == nil || c.Event.Context == nil || (key != ExtTraceParent && key != ExtTraceState) {
		return
	}
	c.Event.SetExtension(key, value)
}

// Keys lists the tracing extensions the event has.
func (c EventCarrier) Keys() []string {
	var keys []string
	for _, k := range [...]string{ExtTraceParent, ExtTraceState} {
		if c.Get(k) != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// Extract returns ctx carrying, as the remote parent, the span context of
// ev's traceparent and tracestate extensions (parsed by the W3C Trace
// Context propagator: an absent or invalid traceparent leaves ctx as it
// is). Off, it returns ctx unchanged.
func (t *Tracing) Extract(ctx context.Context, ev *event.Event) context.Context {
	if !t.Enabled() || ev == nil {
		return ctx
	}
	return propagator.Extract(ctx, EventCarrier{ev})
}

// Inject sets ev's traceparent and tracestate extensions to the span
// context of the current span in ctx, so that a result event names the
// span that produced it. When ctx has no valid span context (and always when
// tracing is off) ev is left as it is: the traceparent that
// events.NewResult copied from the request passes through unchanged.
func (t *Tracing) Inject(ctx context.Context, ev *event.Event) {
	if !t.Enabled() || ev == nil || ev.Context == nil {
		return
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	// The propagator writes tracestate only when non-empty; a tracestate
	// copied from the request must not outlive the traceparent it came with.
	ev.SetExtension(ExtTraceState, nil)
	propagator.Inject(ctx, EventCarrier{ev})
}
