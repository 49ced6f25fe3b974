// Package tracing sets up roomworker's OpenTelemetry tracing from the
// standard OTEL_* environment variables and provides what the worker needs
// to trace a delivery: the CloudEvents distributed-tracing carrier
// (Extract, Inject), messaging span helpers (StartProcess, StartPublish,
// MessagingAttributes), an instrumented HTTP transport (Transport) and
// Prometheus exemplars (ExemplarLabels, Observe).
//
// Tracing is off unless OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and neither
// OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none). Off, every method
// returns at once: no exporter, no goroutine, no allocation beyond the
// no-op span's context. A nil *Tracing behaves as off.
//
// Nothing here sets the OpenTelemetry globals (otel.SetTracerProvider,
// otel.SetTextMapPropagator): the provider and the propagator are passed
// explicitly.
package tracing

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// TracerName is the instrumentation scope of roomworker's own spans.
const TracerName = "github.com/roomworker/roomworker"

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME (or
// service.name in OTEL_RESOURCE_ATTRIBUTES) says otherwise.
const DefaultServiceName = "roomworker"

// propagator is the W3C Trace Context propagator, whose traceparent and
// tracestate are also the CloudEvents distributed-tracing extension.
var propagator propagation.TextMapPropagator = propagation.TraceContext{}

// noopTracer is the tracer of a Tracing that is off.
var noopTracer = noop.NewTracerProvider().Tracer(TracerName)

// Tracing is roomworker's tracing: on (an SDK TracerProvider exporting over
// OTLP/HTTP) or off (no-op). Its methods are safe for concurrent use and on
// a nil *Tracing, which is off.
type Tracing struct {
	sdk    *sdktrace.TracerProvider // nil when off
	tracer trace.Tracer
	desc   string
}

// Option configures Setup.
type Option func(*options)

type options struct {
	exporter sdktrace.SpanExporter
}

// WithExporter makes Setup export to exp (through the batch span processor)
// instead of OTLP/HTTP, and turns tracing on without an endpoint; it is for
// tests and benchmarks (e.g. tracetest.NewInMemoryExporter). OTEL_SDK_DISABLED
// and OTEL_TRACES_EXPORTER=none still turn tracing off, the sampler and
// resource variables still apply.
func WithExporter(exp sdktrace.SpanExporter) Option {
	return func(o *options) { o.exporter = exp }
}

// Off returns a Tracing that is off, as Setup does without an endpoint.
func Off() *Tracing {
	return &Tracing{tracer: noopTracer, desc: "off"}
}

// Setup configures tracing from the OTEL_* environment variables; version
// is service.version. It returns an error an operator can act on for a bad
// setting (unknown sampler, bad ratio, unsupported exporter or protocol,
// endpoint that is not an http(s) URL, malformed OTEL_RESOURCE_ATTRIBUTES);
// these are checked only when tracing would be on. Call Shutdown before
// exiting to flush the spans still buffered.
func Setup(ctx context.Context, version string, opts ...Option) (*Tracing, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := readConfig(o.exporter != nil)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	if !cfg.enabled {
		t := Off()
		t.desc = "off (" + cfg.why + ")"
		return t, nil
	}

	res, err := newResource(ctx, version)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	exp := o.exporter
	if exp == nil {
		// otlptracehttp reads OTEL_EXPORTER_OTLP_* itself: endpoint,
		// headers, timeout, compression, certificates, insecure, protocol.
		// New does not connect: an unreachable collector costs dropped
		// spans (reported to the OpenTelemetry error handler), not a
		// startup failure.
		exp, err = otlptracehttp.New(ctx)
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP/HTTP exporter: %w", err)
		}
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp), // reads OTEL_BSP_*
		sdktrace.WithResource(res),
		sdktrace.WithSampler(cfg.sampler),
	)
	return &Tracing{
		sdk:    tp,
		tracer: tp.Tracer(TracerName, trace.WithInstrumentationVersion(version), trace.WithSchemaURL(semconv.SchemaURL)),
		desc:   "on (OTLP/HTTP, sampler " + cfg.samplerDesc + ")",
	}, nil
}

// newResource builds the resource: service.name roomworker and
// service.version, overridden by OTEL_RESOURCE_ATTRIBUTES and then
// OTEL_SERVICE_NAME, plus the telemetry.sdk.* attributes.
func newResource(ctx context.Context, version string) (*resource.Resource, error) {
	attrs := resource.WithAttributes(semconv.ServiceName(DefaultServiceName))
	if version != "" {
		attrs = resource.WithAttributes(semconv.ServiceName(DefaultServiceName), semconv.ServiceVersion(version))
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		attrs,
		resource.WithFromEnv(), // later detectors win: the environment overrides the defaults
	)
	if err != nil {
		if errors.Is(err, resource.ErrPartialResource) {
			return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: want comma-separated key=value pairs (values percent-encoded): %w", err)
		}
		return nil, fmt.Errorf("resource: %w", err)
	}
	return res, nil
}

// Enabled reports whether tracing is on.
func (t *Tracing) Enabled() bool { return t != nil && t.sdk != nil }

// String describes the setup for a startup log line, e.g.
// "on (OTLP/HTTP, sampler parentbased_always_on)" or
// "off (no OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)".
func (t *Tracing) String() string {
	if t == nil {
		return "off"
	}
	return t.desc
}

// Tracer returns the tracer of roomworker's spans, named TracerName (a no-op
// tracer when off).
func (t *Tracing) Tracer() trace.Tracer {
	if !t.Enabled() {
		return noopTracer
	}
	return t.tracer
}

// TracerProvider returns the provider (a no-op provider when off), for
// instrumentation that takes one.
func (t *Tracing) TracerProvider() trace.TracerProvider {
	if !t.Enabled() {
		return noop.NewTracerProvider()
	}
	return t.sdk
}

// Propagator returns the W3C Trace Context propagator (traceparent,
// tracestate), for instrumentation that takes one.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return propagator }

// ForceFlush exports the spans ended so far.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.sdk.ForceFlush(ctx)
}

// Shutdown flushes the spans still buffered and stops the exporter; ctx
// bounds how long it may take. Spans started afterwards are dropped.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}
