package tracing_test

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/roomworker/roomworker/internal/tracing"
)

// discard is a span exporter that drops everything.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

func TestSamplerFromEnv(t *testing.T) {
	for _, tc := range []struct {
		sampler, arg string
		want         sdktrace.Sampler
		desc         string
	}{
		{"", "", sdktrace.ParentBased(sdktrace.AlwaysSample()), "parentbased_always_on"},
		{"", "0.5", sdktrace.ParentBased(sdktrace.AlwaysSample()), "parentbased_always_on"},
		{"always_on", "", sdktrace.AlwaysSample(), "always_on"},
		{" ALWAYS_OFF ", "", sdktrace.NeverSample(), "always_off"},
		{"traceidratio", "", sdktrace.TraceIDRatioBased(1), "traceidratio(1)"},
		{"traceidratio", "0.25", sdktrace.TraceIDRatioBased(0.25), "traceidratio(0.25)"},
		{"traceidratio", "0", sdktrace.TraceIDRatioBased(0), "traceidratio(0)"},
		{"parentbased_always_on", "", sdktrace.ParentBased(sdktrace.AlwaysSample()), "parentbased_always_on"},
		{"parentbased_always_off", "", sdktrace.ParentBased(sdktrace.NeverSample()), "parentbased_always_off"},
		{"parentbased_traceidratio", "", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(1)), "parentbased_traceidratio(1)"},
		{"parentbased_traceidratio", " 1e-2 ", sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01)), "parentbased_traceidratio(0.01)"},
		{"always_on", "garbage", sdktrace.AlwaysSample(), "always_on"}, // the arg is for ratio samplers only
	} {
		t.Run(tc.sampler+"/"+tc.arg, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_TRACES_SAMPLER", tc.sampler)
			t.Setenv("OTEL_TRACES_SAMPLER_ARG", tc.arg)
			got, desc, err := tracing.SamplerFromEnv()
			if err != nil {
				t.Fatal(err)
			}
			if got.Description() != tc.want.Description() || desc != tc.desc {
				t.Errorf("got %s (%s), want %s (%s)", got.Description(), desc, tc.want.Description(), tc.desc)
			}
			// Setup accepts it too, and says which.
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
			tr, err := tracing.Setup(context.Background(), "v")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(tr.String(), "sampler "+tc.desc+")") {
				t.Errorf("String() = %q", tr.String())
			}
			_ = tr.Shutdown(context.Background())
		})
	}
}

func TestSamplerFromEnvErrors(t *testing.T) {
	for _, tc := range []struct{ sampler, arg, want string }{
		{"bogus", "", `OTEL_TRACES_SAMPLER="bogus" is not a sampler roomworker supports; use one of always_on,`},
		{"jaeger_remote", "", "is not a sampler roomworker supports"},
		{"parentbased_jaeger_remote", "", "is not a sampler roomworker supports"},
		{"xray", "", "is not a sampler roomworker supports"},
		{"traceidratio", "abc", `OTEL_TRACES_SAMPLER=traceidratio: OTEL_TRACES_SAMPLER_ARG="abc": want a sampling probability between 0 and 1`},
		{"traceidratio", "-0.1", "the sampling probability must be between 0 and 1"},
		{"parentbased_traceidratio", "1.5", `OTEL_TRACES_SAMPLER_ARG="1.5": the sampling probability must be between 0 and 1`},
		{"parentbased_traceidratio", "NaN", "want a sampling probability"},
		{"traceidratio", "25%", "want a sampling probability"},
	} {
		t.Run(tc.sampler+"/"+tc.arg, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_TRACES_SAMPLER", tc.sampler)
			t.Setenv("OTEL_TRACES_SAMPLER_ARG", tc.arg)
			if _, _, err := tracing.SamplerFromEnv(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("SamplerFromEnv error %v, want %q", err, tc.want)
			}
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
			tr, err := tracing.Setup(context.Background(), "v")
			if err == nil || tr != nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "tracing: ") {
				t.Fatalf("Setup = %v, %v; want error %q", tr, err, tc.want)
			}
		})
	}
}

// TestSamplerApplied: the sampler from the environment is the one in use.
func TestSamplerApplied(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	tr, err := tracing.Setup(context.Background(), "v", tracing.WithExporter(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	if !tr.Enabled() {
		t.Fatal("WithExporter did not turn tracing on")
	}
	ctx, span := tr.Tracer().Start(context.Background(), "x")
	defer span.End()
	if span.IsRecording() || !span.SpanContext().IsValid() || span.SpanContext().IsSampled() {
		t.Errorf("always_off: recording %v, sc %v", span.IsRecording(), span.SpanContext())
	}
	if tracing.ExemplarLabels(ctx) != nil {
		t.Error("exemplar for an unsampled span")
	}
}

func TestSetupErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"OTEL_TRACES_EXPORTER": "console"}, `OTEL_TRACES_EXPORTER="console": roomworker supports only "otlp"`},
		{map[string]string{"OTEL_TRACES_EXPORTER": "zipkin,otlp"}, `"zipkin" is not supported`},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp,none"}, `"none" cannot be combined`},
		{map[string]string{"OTEL_SDK_DISABLED": "yes"}, `OTEL_SDK_DISABLED="yes": want true or false`},
		{map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: roomworker exports traces over OTLP/HTTP only"},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "thrift"}, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="thrift": want http/protobuf or http/json`},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "otel-collector:4318"}, `OTEL_EXPORTER_OTLP_ENDPOINT="otel-collector:4318": want an http:// or https:// URL`},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://[::1"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is not a valid URL"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://"}, "want an http:// or https:// URL with a host"},
		{map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team"}, "OTEL_RESOURCE_ATTRIBUTES: want comma-separated key=value pairs"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			setEnv(t, tc.env)
			tr, err := tracing.Setup(context.Background(), "v")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Setup = %v, %v; want error %q", tr, err, tc.want)
			}
		})
	}
	// Several problems are reported together.
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "collector")
	t.Setenv("OTEL_TRACES_SAMPLER", "sometimes")
	_, err := tracing.Setup(context.Background(), "v")
	if err == nil || !strings.Contains(err.Error(), "OTEL_EXPORTER_OTLP_ENDPOINT") || !strings.Contains(err.Error(), "OTEL_TRACES_SAMPLER") {
		t.Errorf("Setup error %v, want both problems", err)
	}
}

func TestSetupAccepts(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"exporter otlp":   {"OTEL_TRACES_EXPORTER": "OTLP"},
		"sdk not off":     {"OTEL_SDK_DISABLED": "false"},
		"https per-sig":   {"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://collector.example:4318/v1/traces"},
		"json":            {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
		"resource values": {"OTEL_RESOURCE_ATTRIBUTES": "team=rooms,note=a%20b", "OTEL_SERVICE_NAME": "rw"},
	} {
		t.Run(name, func(t *testing.T) {
			setEnv(t, env)
			tr, err := tracing.Setup(context.Background(), "v")
			if err != nil || !tr.Enabled() {
				t.Fatalf("Setup = %v, %v", tr, err)
			}
			_ = tr.Shutdown(context.Background())
		})
	}
}

// TestWithExporter: spans go to the given exporter, with the resource.
func TestWithExporter(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,team=rooms")
	exp := tracetest.NewInMemoryExporter()
	tr, err := tracing.Setup(context.Background(), "v9", tracing.WithExporter(exp))
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Tracer().Start(context.Background(), "x", trace.WithSpanKind(trace.SpanKindInternal))
	span.End()
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := exp.GetSpans()
	if len(got) != 1 || got[0].Name != "x" {
		t.Fatalf("spans %v", got)
	}
	res := map[string]string{}
	for _, kv := range got[0].Resource.Attributes() {
		res[string(kv.Key)] = kv.Value.Emit()
	}
	if res["service.name"] != "from-attrs" || res["team"] != "rooms" || res["service.version"] != "v9" {
		t.Errorf("resource %v", res)
	}
	if got[0].InstrumentationScope.Name != tracing.TracerName || got[0].InstrumentationScope.Version != "v9" {
		t.Errorf("scope %+v", got[0].InstrumentationScope)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// After Shutdown, spans are harmless (and not exported).
	_, span = tr.Tracer().Start(context.Background(), "late")
	span.End()
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestMessagingHelpers(t *testing.T) {
	m := tracing.Message{Subject: "rooms.schedule.room-1", SubjectTemplate: "rooms.schedule.{room_id}"}
	if got := m.SpanName(tracing.OpProcess); got != "process rooms.schedule.{room_id}" {
		t.Errorf("SpanName = %q", got)
	}
	if got := (tracing.Message{}).SpanName(tracing.OpPublish); got != "publish" {
		t.Errorf("SpanName = %q", got)
	}
	attrs := map[string]string{}
	for _, kv := range tracing.MessagingAttributes(tracing.OpReceive, m) {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	want := map[string]string{
		"messaging.system": "nats", "messaging.operation.type": "receive", "messaging.operation.name": "receive",
		"messaging.destination.name": "rooms.schedule.room-1", "messaging.destination.template": "rooms.schedule.{room_id}",
	}
	if len(attrs) != len(want) {
		t.Errorf("attributes %v, want %v", attrs, want)
	}
	for k, v := range want {
		if attrs[k] != v {
			t.Errorf("%s = %q, want %q", k, attrs[k], v)
		}
	}
	if tracing.EventAttributes(nil) != nil {
		t.Error("EventAttributes(nil) not nil")
	}
	if kv := tracing.RoomID("r1"); kv.Key != "roomworker.room_id" || kv.Value.AsString() != "r1" {
		t.Errorf("RoomID = %v", kv)
	}
	// SetError on a non-recording span or with a nil error does nothing.
	tracing.SetError(trace.SpanFromContext(context.Background()), context.Canceled, "")
}
