package tracing

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"
)

// ExemplarTraceIDLabel is the exemplar label carrying the trace id.
const ExemplarTraceIDLabel = "trace_id"

// ExemplarLabels returns {"trace_id": <hex trace id>} when ctx holds a
// sampled span (one whose trace a backend will have), nil otherwise.
func ExemplarLabels(ctx context.Context) prometheus.Labels {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsSampled() || !sc.TraceID().IsValid() {
		return nil
	}
	return prometheus.Labels{ExemplarTraceIDLabel: sc.TraceID().String()}
}

// Observe records v in o, with ExemplarLabels(ctx) as its exemplar when
// there are some and o takes exemplars (histograms and summaries do),
// plainly otherwise.
//
// Exemplars are exposed only in the OpenMetrics format: the /metrics
// handler needs promhttp.HandlerOpts{EnableOpenMetrics: true}.
func Observe(ctx context.Context, o prometheus.Observer, v float64) {
	if labels := ExemplarLabels(ctx); labels != nil {
		if eo, ok := o.(prometheus.ExemplarObserver); ok {
			eo.ObserveWithExemplar(v, labels)
			return
		}
	}
	o.Observe(v)
}
