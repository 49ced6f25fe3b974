package tracing_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"go.opentelemetry.io/otel/trace"

	"github.com/roomworker/roomworker/internal/tracing"
	"github.com/roomworker/roomworker/internal/tracing/otlptest"
)

const (
	parentTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpanID  = "00f067aa0ba902b7"
	traceparent   = "00-" + parentTraceID + "-" + parentSpanID + "-01"
	tracestate    = "rojo=00f067aa0ba902b7"
)

// otelVars are the variables the tests set; clearEnv blanks them all so
// that the machine's environment cannot leak in (an empty value is unset
// for the SDK too).
var otelVars = []string{
	"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	"OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
	"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
	"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
	"OTEL_EXPORTER_OTLP_COMPRESSION", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
	"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
	"OTEL_EXPORTER_OTLP_INSECURE", "OTEL_EXPORTER_OTLP_TRACES_INSECURE",
	"OTEL_BSP_SCHEDULE_DELAY", "OTEL_BSP_MAX_QUEUE_SIZE", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "OTEL_BSP_EXPORT_TIMEOUT",
}

func clearEnv(t testing.TB) {
	t.Helper()
	for _, v := range otelVars {
		t.Setenv(v, "")
	}
}

// setEnv clears the OTEL_* variables, points the exporter at a collector nobody listens on,
// and sets env over that.
func setEnv(t testing.TB, env map[string]string) {
	t.Helper()
	clearEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// requestEvent is a room.create request carrying a trace context.
func requestEvent(t testing.TB) event.Event {
	t.Helper()
	e := event.New(event.CloudEventsVersionV1)
	e.SetID("req-1")
	e.SetSource("/scheduler")
	e.SetType("room.create")
	e.SetSubject("Weekly sync")
	e.SetExtension(tracing.ExtTraceParent, traceparent)
	e.SetExtension(tracing.ExtTraceState, tracestate)
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	return e
}

// resultEvent is a result answering req, with its trace context copied as
// events.NewResult does.
func resultEvent(req event.Event, typ string) event.Event {
	e := event.New(event.CloudEventsVersionV1)
	e.SetID("res-" + typ)
	e.SetSource("urn:roomworker")
	e.SetType(typ)
	e.SetSubject("room-1")
	for _, k := range []string{tracing.ExtTraceParent, tracing.ExtTraceState} {
		if v, ok := req.Extensions()[k]; ok {
			e.SetExtension(k, v)
		}
	}
	return e
}

func ext(e event.Event, name string) string {
	s, _ := e.Extensions()[name].(string)
	return s
}

type countingRT struct{ n int }

func (c *countingRT) RoundTrip(*http.Request) (*http.Response, error) {
	c.n++
	return nil, errors.New("not used")
}

func TestOffByDefault(t *testing.T) {
	clearEnv(t)
	// Settings for the SDK that are wrong are not checked while tracing is
	// off (they may be meant for another service).
	t.Setenv("OTEL_TRACES_SAMPLER", "jaeger_remote")

	tr, err := tracing.Setup(context.Background(), "v1")
	if err != nil {
		t.Fatal(err)
	}
	checkOff(t, tr)
	if !strings.Contains(tr.String(), "off (no OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Errorf("String() = %q", tr.String())
	}
	var nilTracing *tracing.Tracing
	checkOff(t, nilTracing)
	checkOff(t, tracing.Off())
}

func TestOffSwitches(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"sdk disabled":       {"OTEL_SDK_DISABLED": "TRUE"},
		"exporter none":      {"OTEL_TRACES_EXPORTER": "none"},
		"exporter none list": {"OTEL_TRACES_EXPORTER": " none , none"},
		"disabled beats bad": {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_SAMPLER": "bogus", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
	} {
		t.Run(name, func(t *testing.T) {
			setEnv(t, env)
			tr, err := tracing.Setup(context.Background(), "v1")
			if err != nil {
				t.Fatal(err)
			}
			checkOff(t, tr)
		})
	}
}

func checkOff(t *testing.T, tr *tracing.Tracing) {
	t.Helper()
	if tr.Enabled() {
		t.Fatal("Enabled() = true")
	}
	base := &countingRT{}
	if got := tr.Transport(base); got != http.RoundTripper(base) {
		t.Errorf("Transport(base) = %T, want base itself", got)
	}
	if got := tr.Transport(nil); got != nil {
		t.Errorf("Transport(nil) = %T, want nil", got)
	}

	req := requestEvent(t)
	ctx := context.Background()
	if got := tr.Extract(ctx, &req); got != ctx {
		t.Error("Extract changed ctx")
	}
	// Even with a valid span context in ctx, Inject leaves the event alone.
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled,
	})
	res := resultEvent(req, "room.created")
	tr.Inject(trace.ContextWithSpanContext(ctx, sc), &res)
	if ext(res, "traceparent") != traceparent || ext(res, "tracestate") != tracestate {
		t.Errorf("Inject changed the result's trace context: %v", res.Extensions())
	}
	noTrace := resultEvent(event.New(), "room.failed")
	tr.Inject(trace.ContextWithSpanContext(ctx, sc), &noTrace)
	if len(noTrace.Extensions()) != 0 {
		t.Errorf("Inject added extensions: %v", noTrace.Extensions())
	}

	_, span := tr.Tracer().Start(ctx, "x")
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Error("Tracer() span is recording or has a span context")
	}
	span.End()
	pctx, span := tr.StartProcess(ctx, &req, tracing.Message{Subject: "rooms.create"})
	if span.IsRecording() || pctx != ctx {
		t.Error("StartProcess span is recording or ctx changed")
	}
	span.End()
	_, span = tr.StartPublish(ctx, &res, tracing.Message{Subject: "rooms.created"})
	if span.IsRecording() || ext(res, "traceparent") != traceparent {
		t.Error("StartPublish span is recording or the result changed")
	}
	if tr.TracerProvider() == nil || tr.Propagator() == nil {
		t.Error("nil provider or propagator")
	}
	if err := tr.ForceFlush(ctx); err != nil {
		t.Error(err)
	}
	if err := tr.Shutdown(ctx); err != nil {
		t.Error(err)
	}
}

// plugNmeet stands in for the plugNmeet API: it records what it receives.
type plugNmeet struct {
	mu      sync.Mutex
	headers []http.Header
	queries []string
}

func (p *plugNmeet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	p.mu.Lock()
	p.headers = append(p.headers, r.Header.Clone())
	p.queries = append(p.queries, r.URL.RawQuery)
	p.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, "/fail") {
		http.Error(w, `{"status":false}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":true,"msg":"success"}`)
}

const (
	apiKey     = "key-secret-123"
	apiSig     = "sig-secret-456"
	bodySecret = "body-secret-789"
	qSecret    = "query-secret-000"
)

func post(t *testing.T, ctx context.Context, c *http.Client, url string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"room_id":"room-1","metadata":"`+bodySecret+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("API-KEY", apiKey)
	req.Header.Set("HASH-SIGNATURE", apiSig)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

func TestOnEndToEnd(t *testing.T) {
	clearEnv(t)
	rcv := otlptest.New(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.Endpoint())
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20collector-token")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test")

	ctx := context.Background()
	tr, err := tracing.Setup(ctx, "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Enabled() || tr.String() != "on (OTLP/HTTP, sampler parentbased_always_on)" {
		t.Fatalf("Enabled() = %v, String() = %q", tr.Enabled(), tr.String())
	}

	api := &plugNmeet{}
	srv := httptest.NewServer(api)
	defer srv.Close()
	client := &http.Client{Transport: tr.Transport(http.DefaultTransport)}

	// The delivery: extract the request's trace context, process, call
	// plugNmeet, publish the results.
	req := requestEvent(t)
	dctx, span := tr.StartProcess(ctx, &req, tracing.Message{Subject: "rooms.create", ID: "m-1", ConsumerGroup: "roomworker", BodySize: 42})
	if !span.IsRecording() {
		t.Fatal("process span not recording")
	}
	span.SetAttributes(tracing.RoomID("room-1"))
	if code := post(t, dctx, client, srv.URL+"/auth/room/create"); code != http.StatusOK {
		t.Fatalf("status %d", code)
	}
	if code := post(t, dctx, client, srv.URL+"/auth/room/fail?token="+qSecret+"#frag"); code != http.StatusInternalServerError {
		t.Fatalf("status %d", code)
	}
	created := resultEvent(req, "room.created")
	tr.Inject(dctx, &created)
	failed := resultEvent(req, "room.failed")
	_, pspan := tr.StartPublish(dctx, &failed, tracing.Message{Subject: "rooms.failed", ID: "r-1"})
	pspan.End()
	tracing.SetError(span, errors.New("plugNmeet refused the room"), "rejected")
	span.End()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	spans := rcv.Spans()
	if errs := rcv.Errors(); len(errs) > 0 {
		t.Fatalf("receiver errors: %v", errs)
	}
	if len(spans) != 4 {
		t.Fatalf("got %d spans, want 4:\n%s", len(spans), otlptest.Dump(spans))
	}
	for _, r := range rcv.Requests() {
		if got := r.Header.Get("Authorization"); got != "Bearer collector-token" {
			t.Errorf("exporter Authorization header = %q (OTEL_EXPORTER_OTLP_HEADERS)", got)
		}
	}
	find := func(name string) otlptest.Span {
		t.Helper()
		for _, s := range spans {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("no span %q:\n%s", name, otlptest.Dump(spans))
		return otlptest.Span{}
	}
	process := find("process rooms.create")
	create := find("POST /auth/room/create")
	fail := find("POST /auth/room/fail")
	publish := find("publish rooms.failed")

	// The tree: request's span -> process -> (HTTP x2, publish).
	for _, s := range spans {
		if s.TraceID != parentTraceID {
			t.Errorf("%s: trace %s, want the request's %s", s.Name, s.TraceID, parentTraceID)
		}
		if s.Scope != tracing.TracerName && !strings.Contains(s.Scope, "otelhttp") {
			t.Errorf("%s: scope %q", s.Name, s.Scope)
		}
		if s.Resource["service.name"] != "roomworker" || s.Resource["service.version"] != "v1.2.3" ||
			s.Resource["deployment.environment.name"] != "test" || s.Resource["telemetry.sdk.language"] != "go" {
			t.Errorf("%s: resource %v", s.Name, s.Resource)
		}
	}
	if process.ParentSpanID != parentSpanID {
		t.Errorf("process parent = %s, want %s", process.ParentSpanID, parentSpanID)
	}
	if process.TraceState != tracestate {
		t.Errorf("process tracestate = %q", process.TraceState)
	}
	for _, s := range []otlptest.Span{create, fail, publish} {
		if s.ParentSpanID != process.SpanID {
			t.Errorf("%s: parent %s, want the process span %s", s.Name, s.ParentSpanID, process.SpanID)
		}
	}

	// Kinds.
	for s, kind := range map[*otlptest.Span]string{&process: otlptest.KindConsumer, &create: otlptest.KindClient, &fail: otlptest.KindClient, &publish: otlptest.KindProducer} {
		if s.Kind != kind {
			t.Errorf("%s: kind %s, want %s", s.Name, s.Kind, kind)
		}
	}

	// Attributes.
	wantAttrs(t, process, map[string]string{
		"messaging.system": "nats", "messaging.operation.type": "process", "messaging.operation.name": "process",
		"messaging.destination.name": "rooms.create", "messaging.message.id": "m-1",
		"messaging.consumer.group.name": "roomworker", "messaging.message.body.size": "42",
		"cloudevents.event_id": "req-1", "cloudevents.event_source": "/scheduler",
		"cloudevents.event_type": "room.create", "cloudevents.event_subject": "Weekly sync",
		"roomworker.room_id": "room-1", "error.type": "rejected",
	})
	wantAttrs(t, publish, map[string]string{
		"messaging.system": "nats", "messaging.operation.type": "send", "messaging.operation.name": "publish",
		"messaging.destination.name": "rooms.failed", "messaging.message.id": "r-1",
		"cloudevents.event_id": "res-room.failed", "cloudevents.event_type": "room.failed",
	})
	if _, ok := publish.Attributes["messaging.consumer.group.name"]; ok {
		t.Error("publish span has a consumer group")
	}
	wantAttrs(t, create, map[string]string{
		"http.request.method": "POST", "url.full": srv.URL + "/auth/room/create",
		"server.address": "127.0.0.1", "http.response.status_code": "200",
	})
	wantAttrs(t, fail, map[string]string{
		"http.request.method": "POST", "url.full": srv.URL + "/auth/room/fail",
		"http.response.status_code": "500",
	})

	// Status.
	if process.StatusCode != otlptest.StatusError || process.StatusMessage != "plugNmeet refused the room" {
		t.Errorf("process status %s %q", process.StatusCode, process.StatusMessage)
	}
	if len(process.Events) != 1 || process.Events[0].Name != "exception" || process.Events[0].Attributes["exception.message"] != "plugNmeet refused the room" {
		t.Errorf("process events %+v", process.Events)
	}
	if create.StatusCode != otlptest.StatusUnset || fail.StatusCode != otlptest.StatusError || publish.StatusCode != otlptest.StatusUnset {
		t.Errorf("statuses: create %s, fail %s, publish %s", create.StatusCode, fail.StatusCode, publish.StatusCode)
	}

	// The results name the span that made them; tracestate carries on.
	if want := "00-" + parentTraceID + "-" + process.SpanID + "-01"; ext(created, "traceparent") != want {
		t.Errorf("room.created traceparent %q, want %q (the process span)", ext(created, "traceparent"), want)
	}
	if want := "00-" + parentTraceID + "-" + publish.SpanID + "-01"; ext(failed, "traceparent") != want {
		t.Errorf("room.failed traceparent %q, want %q (the publish span)", ext(failed, "traceparent"), want)
	}
	if ext(created, "tracestate") != tracestate || ext(failed, "tracestate") != tracestate {
		t.Errorf("tracestate not carried: %q, %q", ext(created, "tracestate"), ext(failed, "tracestate"))
	}

	// plugNmeet got the HTTP span as parent, its headers, and the query.
	api.mu.Lock()
	defer api.mu.Unlock()
	if len(api.headers) != 2 {
		t.Fatalf("plugNmeet got %d requests", len(api.headers))
	}
	if got, want := api.headers[0].Get("traceparent"), "00-"+parentTraceID+"-"+create.SpanID+"-01"; got != want {
		t.Errorf("plugNmeet traceparent %q, want %q", got, want)
	}
	if api.headers[0].Get("API-KEY") != apiKey || api.headers[1].Get("HASH-SIGNATURE") != apiSig {
		t.Error("plugNmeet did not get the API headers")
	}
	if api.queries[1] != "token="+qSecret {
		t.Errorf("plugNmeet got query %q, want it untouched", api.queries[1])
	}

	// No header value, body or query string in any span.
	for _, s := range spans {
		for k, v := range s.Attributes {
			for _, secret := range []string{apiKey, apiSig, bodySecret, qSecret, "frag", "collector-token"} {
				if strings.Contains(v, secret) {
					t.Errorf("%s: attribute %s=%q leaks %q", s.Name, k, v, secret)
				}
			}
			if strings.Contains(k, "header") || strings.HasPrefix(k, "http.request.body") && k != "http.request.body.size" {
				t.Errorf("%s: attribute %s", s.Name, k)
			}
		}
		for _, e := range s.Events {
			for k, v := range e.Attributes {
				if strings.Contains(v, apiKey) || strings.Contains(v, apiSig) || strings.Contains(v, bodySecret) {
					t.Errorf("%s: event %s attribute %s=%q leaks a secret", s.Name, e.Name, k, v)
				}
			}
		}
	}
}

func wantAttrs(t *testing.T, s otlptest.Span, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := s.Attributes[k]; !ok || got != v {
			t.Errorf("%s: %s = %q (present %v), want %q", s.Name, k, got, ok, v)
		}
	}
}

// TestExporterEncodings checks the receiver with what the exporter can
// send: protobuf or JSON, gzip or not, to the generic or per-signal
// endpoint.
func TestExporterEncodings(t *testing.T) {
	for _, tc := range []struct {
		protocol, compression string
		perSignal             bool
		wantCT, wantCE        string
	}{
		{"", "", false, "application/x-protobuf", ""},
		{"http/protobuf", "gzip", true, "application/x-protobuf", "gzip"},
		{"http/json", "", false, "application/json", ""},
		{"http/json", "gzip", true, "application/json", "gzip"},
	} {
		t.Run(tc.protocol+"+"+tc.compression, func(t *testing.T) {
			clearEnv(t)
			rcv := otlptest.New(t)
			if tc.perSignal {
				t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", rcv.TracesEndpoint())
			} else {
				t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.Endpoint())
			}
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", tc.protocol)
			t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", tc.compression)
			t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "10") // ms: WaitFor sees it before Shutdown
			t.Setenv("OTEL_SERVICE_NAME", "roomworker-test")

			ctx := context.Background()
			tr, err := tracing.Setup(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tr.Shutdown(ctx) }()
			req := requestEvent(t)
			_, span := tr.StartProcess(ctx, &req, tracing.Message{Subject: "rooms.create"})
			span.SetAttributes(tracing.RoomID("r"))
			span.End()

			got := rcv.WaitFor(t, otlptest.Named("process rooms.create"), 10*time.Second)
			if got.TraceID != parentTraceID || got.ParentSpanID != parentSpanID || got.SpanID != span.SpanContext().SpanID().String() {
				t.Errorf("ids: trace %s parent %s span %s", got.TraceID, got.ParentSpanID, got.SpanID)
			}
			if got.Kind != otlptest.KindConsumer || got.Attributes["roomworker.room_id"] != "r" || got.AttributeValues["messaging.system"] != "nats" {
				t.Errorf("span %+v", got)
			}
			if got.Resource["service.name"] != "roomworker-test" {
				t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", got.Resource["service.name"])
			}
			if _, ok := got.Resource["service.version"]; ok {
				t.Error("service.version set for an empty version")
			}
			reqs := rcv.Requests()
			if len(reqs) == 0 || reqs[0].ContentType != tc.wantCT || reqs[0].ContentEncoding != tc.wantCE {
				t.Errorf("requests %+v, want %s %q", reqs, tc.wantCT, tc.wantCE)
			}
			rcv.Reset()
			if len(rcv.Spans()) != 0 || len(rcv.Requests()) != 0 {
				t.Error("Reset kept spans")
			}
		})
	}
}

// TestInjectReplacesStaleTraceState: a tracestate copied from the request
// goes when the current span has none.
func TestInjectReplacesStaleTraceState(t *testing.T) {
	clearEnv(t)
	tr, err := tracing.Setup(context.Background(), "v", tracing.WithExporter(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	req := requestEvent(t)
	req.SetExtension(tracing.ExtTraceState, "not a valid=tracestate=")
	ctx, span := tr.StartProcess(context.Background(), &req, tracing.Message{})
	defer span.End()
	res := resultEvent(req, "room.created")
	tr.Inject(ctx, &res)
	if _, ok := res.Extensions()[tracing.ExtTraceState]; ok {
		t.Errorf("stale tracestate kept: %v", res.Extensions())
	}
	if want := "00-" + parentTraceID + "-" + span.SpanContext().SpanID().String() + "-01"; ext(res, "traceparent") != want {
		t.Errorf("traceparent %q, want %q", ext(res, "traceparent"), want)
	}

	// No valid span context in ctx: untouched.
	res = resultEvent(requestEvent(t), "room.created")
	tr.Inject(context.Background(), &res)
	if ext(res, "traceparent") != traceparent || ext(res, "tracestate") != tracestate {
		t.Errorf("Inject without a span changed %v", res.Extensions())
	}
	// An invalid traceparent extracts nothing: a new root span.
	bad := requestEvent(t)
	bad.SetExtension(tracing.ExtTraceParent, "00-zz")
	if sc := trace.SpanContextFromContext(tr.Extract(context.Background(), &bad)); sc.IsValid() {
		t.Errorf("extracted %v from an invalid traceparent", sc)
	}
	_, root := tr.StartProcess(context.Background(), &bad, tracing.Message{})
	if root.SpanContext().TraceID().String() == parentTraceID || !root.IsRecording() {
		t.Error("invalid traceparent: want a new recording root")
	}
	root.End()
	// An unsampled parent (flags 00) is honoured by the default sampler.
	unsampled := requestEvent(t)
	unsampled.SetExtension(tracing.ExtTraceParent, "00-"+parentTraceID+"-"+parentSpanID+"-00")
	uctx, us := tr.StartProcess(context.Background(), &unsampled, tracing.Message{})
	if us.IsRecording() {
		t.Error("unsampled parent: span recording")
	}
	res = resultEvent(unsampled, "room.created")
	tr.Inject(uctx, &res)
	if want := "00-" + parentTraceID + "-" + us.SpanContext().SpanID().String() + "-00"; ext(res, "traceparent") != want {
		t.Errorf("unsampled traceparent %q, want %q", ext(res, "traceparent"), want)
	}
	us.End()
}

func TestEventCarrier(t *testing.T) {
	e := event.New()
	c := tracing.EventCarrier{Event: &e}
	if c.Get("traceparent") != "" || len(c.Keys()) != 0 {
		t.Error("empty event has trace context")
	}
	c.Set("other", "x")
	if len(e.Extensions()) != 0 {
		t.Error("Set wrote a non-tracing extension")
	}
	e.SetExtension("tracestate", 7) // not a string, still readable
	if c.Get("tracestate") != "7" || strings.Join(c.Keys(), ",") != "tracestate" {
		t.Errorf("Get = %q, Keys = %v", c.Get("tracestate"), c.Keys())
	}
	var nilEvent tracing.EventCarrier
	nilEvent.Set("traceparent", "x")
	if nilEvent.Get("traceparent") != "" {
		t.Error("nil event")
	}
}

func TestTransportOnWithNilBase(t *testing.T) {
	clearEnv(t)
	tr, err := tracing.Setup(context.Background(), "v", tracing.WithExporter(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tr.Shutdown(context.Background()) }()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.RawQuery)
	}))
	defer srv.Close()
	c := &http.Client{Transport: tr.Transport(nil)}
	for _, q := range []string{"", "?", "?a=1&b=2"} {
		resp, err := c.Get(srv.URL + "/x" + q)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if want := strings.TrimPrefix(q, "?"); string(b) != want {
			t.Errorf("server saw query %q, want %q", b, want)
		}
	}
}
