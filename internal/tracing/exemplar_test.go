package tracing_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/otel/trace"

	"github.com/roomworker/roomworker/internal/tracing"
)

func spanCtx(flags trace.TraceFlags) context.Context {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: flags,
	})
	return trace.ContextWithSpanContext(context.Background(), sc)
}

func TestExemplarLabels(t *testing.T) {
	if got := tracing.ExemplarLabels(spanCtx(trace.FlagsSampled)); len(got) != 1 || got["trace_id"] != parentTraceID {
		t.Errorf("sampled: %v", got)
	}
	if got := tracing.ExemplarLabels(spanCtx(0)); got != nil {
		t.Errorf("unsampled: %v", got)
	}
	if got := tracing.ExemplarLabels(context.Background()); got != nil {
		t.Errorf("no span: %v", got)
	}

	// A real sampled span, from tracing that is on.
	clearEnv(t)
	tr, err := tracing.Setup(context.Background(), "v", tracing.WithExporter(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	ctx, span := tr.Tracer().Start(context.Background(), "x")
	defer span.End()
	if got := tracing.ExemplarLabels(ctx); got["trace_id"] != span.SpanContext().TraceID().String() {
		t.Errorf("on: %v", got)
	}
	// And none from tracing that is off.
	ctx, span = tracing.Off().Tracer().Start(context.Background(), "x")
	defer span.End()
	if got := tracing.ExemplarLabels(ctx); got != nil {
		t.Errorf("off: %v", got)
	}
}

func TestObserve(t *testing.T) {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h", Buckets: []float64{1, 10}})
	tracing.Observe(spanCtx(trace.FlagsSampled), h, 0.5)
	tracing.Observe(spanCtx(0), h, 5)
	tracing.Observe(context.Background(), h, 7)
	var m dto.Metric
	if err := h.Write(&m); err != nil {
		t.Fatal(err)
	}
	if m.GetHistogram().GetSampleCount() != 3 {
		t.Fatalf("count %d", m.GetHistogram().GetSampleCount())
	}
	var exemplars int
	for _, b := range m.GetHistogram().GetBucket() {
		if ex := b.GetExemplar(); ex != nil {
			exemplars++
			if b.GetUpperBound() != 1 || ex.GetValue() != 0.5 || len(ex.GetLabel()) != 1 ||
				ex.GetLabel()[0].GetName() != "trace_id" || ex.GetLabel()[0].GetValue() != parentTraceID {
				t.Errorf("bucket %v exemplar %v", b.GetUpperBound(), ex)
			}
		}
	}
	if exemplars != 1 {
		t.Errorf("%d exemplars, want 1 (the sampled observation)", exemplars)
	}

	// An Observer that takes no exemplars gets a plain Observe.
	var got []float64
	tracing.Observe(spanCtx(trace.FlagsSampled), prometheus.ObserverFunc(func(v float64) { got = append(got, v) }), 3)
	if len(got) != 1 || got[0] != 3 {
		t.Errorf("ObserverFunc got %v", got)
	}
}
