package tracing_test

import (
	"context"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/trace"

	"github.com/roomworker/roomworker/internal/tracing"
	"github.com/roomworker/roomworker/internal/tracing/otlptest"
)

var benchMsg = tracing.Message{Subject: "rooms.create", ID: "m-1", ConsumerGroup: "roomworker"}

// delivery is the per-delivery tracing a worker does with the helpers:
// Extract + consumer span with its attributes (StartProcess), a project
// attribute, Inject into the result, End.
func delivery(tr *tracing.Tracing, req, res *event.Event) {
	ctx, span := tr.StartProcess(context.Background(), req, benchMsg)
	if span.IsRecording() {
		span.SetAttributes(tracing.RoomID("room-1"))
	}
	tr.Inject(ctx, res)
	span.End()
}

// deliveryPrimitives is the same with the primitives: Extract, Tracer().Start
// with attributes, Inject, End, attributes built whether recorded or not.
func deliveryPrimitives(tr *tracing.Tracing, req, res *event.Event) {
	ctx := tr.Extract(context.Background(), req)
	ctx, span := tr.Tracer().Start(ctx, "process rooms.create", trace.WithSpanKind(trace.SpanKindConsumer))
	span.SetAttributes(tracing.MessagingAttributes(tracing.OpProcess, benchMsg)...)
	span.SetAttributes(tracing.EventAttributes(req)...)
	span.SetAttributes(tracing.RoomID("room-1"))
	tr.Inject(ctx, res)
	span.End()
}

func benchDelivery(b *testing.B, tr *tracing.Tracing) {
	req := requestEvent(b)
	res := resultEvent(req, "room.created")
	b.Run("helpers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			delivery(tr, &req, &res)
		}
	})
	b.Run("primitives", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			deliveryPrimitives(tr, &req, &res)
		}
	})
}

// BenchmarkOff: the cost of tracing a delivery when tracing is off.
func BenchmarkOff(b *testing.B) {
	clearEnv(b)
	tr, err := tracing.Setup(context.Background(), "v")
	if err != nil || tr.Enabled() {
		b.Fatal(tr, err)
	}
	benchDelivery(b, tr)
}

// BenchmarkOn: the cost with every span sampled, through the batch span
// processor into an OTLP/HTTP exporter sending to the in-process receiver
// (the processor drops spans when its queue is full, as it would in
// production, rather than slowing the caller), or into a discarding
// exporter.
func BenchmarkOn(b *testing.B) {
	b.Run("otlp", func(b *testing.B) {
		clearEnv(b)
		rcv := otlptest.New(b)
		b.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.Endpoint())
		b.Setenv("OTEL_TRACES_SAMPLER", "always_on")
		tr, err := tracing.Setup(context.Background(), "v")
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = tr.Shutdown(context.Background()) }()
		benchDelivery(b, tr)
	})
	b.Run("discard", func(b *testing.B) {
		clearEnv(b)
		b.Setenv("OTEL_TRACES_SAMPLER", "always_on")
		tr, err := tracing.Setup(context.Background(), "v", tracing.WithExporter(discard{}))
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = tr.Shutdown(context.Background()) }()
		benchDelivery(b, tr)
	})
}
