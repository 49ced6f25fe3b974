package otlptest_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/roomworker/roomworker/internal/tracing/otlptest"
)

func send(t *testing.T, url, ct, ce string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if ce != "" {
		req.Header.Set("Content-Encoding", ce)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

func TestReceiverProtobufGzip(t *testing.T) {
	rcv := otlptest.New(t)
	msg := &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "svc")}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "scope", Version: "1"},
			Spans: []*tracepb.Span{{
				TraceId: bytes.Repeat([]byte{0xab}, 16), SpanId: bytes.Repeat([]byte{0xcd}, 8), ParentSpanId: bytes.Repeat([]byte{0xef}, 8),
				Name: "s", Kind: tracepb.Span_SPAN_KIND_PRODUCER, StartTimeUnixNano: 1, EndTimeUnixNano: 2,
				Attributes: []*commonpb.KeyValue{
					str("a", "b"),
					{Key: "n", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 7}}},
					{Key: "l", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}}}}}},
				},
				Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "boom"},
				Events: []*tracepb.Span_Event{{Name: "e", Attributes: []*commonpb.KeyValue{str("x", "y")}}},
				Links:  []*tracepb.Span_Link{{TraceId: bytes.Repeat([]byte{1}, 16), SpanId: bytes.Repeat([]byte{2}, 8)}},
			}},
		}},
	}}}
	raw, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	if code := send(t, rcv.TracesEndpoint(), "application/x-protobuf", "gzip", gz.Bytes()); code != http.StatusOK {
		t.Fatalf("status %d (%v)", code, rcv.Errors())
	}
	s := rcv.WaitFor(t, otlptest.Named("s"), time.Second)
	if s.TraceID != strings.Repeat("ab", 16) || s.SpanID != strings.Repeat("cd", 8) || s.ParentSpanID != strings.Repeat("ef", 8) ||
		s.Kind != otlptest.KindProducer || s.StatusCode != otlptest.StatusError || s.StatusMessage != "boom" ||
		s.Attributes["a"] != "b" || s.Attributes["n"] != "7" || s.AttributeValues["n"] != int64(7) || s.Attributes["l"] != "[true]" ||
		s.Resource["service.name"] != "svc" || s.Scope != "scope" || s.ScopeVersion != "1" ||
		len(s.Events) != 1 || s.Events[0].Attributes["x"] != "y" || len(s.Links) != 1 || s.Links[0].SpanID != "0202020202020202" ||
		s.Start.UnixNano() != 1 || s.End.UnixNano() != 2 {
		t.Errorf("span %+v", s)
	}
}

func TestReceiverJSON(t *testing.T) {
	rcv := otlptest.New(t)
	body := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"EEE19B7EC3C1B173","name":"j","kind":5,"startTimeUnixNano":"1544712660000000000","attributes":[{"key":"k","value":{"intValue":"42"}}],"status":{"code":1}}]}]}]}`
	if code := send(t, rcv.Endpoint()+"/v1/traces", "application/json; charset=utf-8", "", []byte(body)); code != http.StatusOK {
		t.Fatalf("status %d (%v)", code, rcv.Errors())
	}
	s := rcv.WaitFor(t, otlptest.Named("j"), time.Second)
	if s.TraceID != "5b8efff798038103d269b633813fc60c" || s.SpanID != "eee19b7ec3c1b174" || s.ParentSpanID != "eee19b7ec3c1b173" ||
		s.Kind != otlptest.KindConsumer || s.Attributes["k"] != "42" || s.StatusCode != otlptest.StatusOK {
		t.Errorf("span %+v", s)
	}
}

func TestReceiverRejects(t *testing.T) {
	rcv := otlptest.New(t)
	if code := send(t, rcv.Endpoint()+"/v1/metrics", "application/x-protobuf", "", nil); code != http.StatusNotFound {
		t.Errorf("wrong path: %d", code)
	}
	if resp, err := http.Get(rcv.TracesEndpoint()); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %v %v", resp, err)
	}
	if code := send(t, rcv.TracesEndpoint(), "text/plain", "", []byte("x")); code != http.StatusBadRequest {
		t.Errorf("text/plain: %d", code)
	}
	if code := send(t, rcv.TracesEndpoint(), "application/x-protobuf", "br", []byte("x")); code != http.StatusBadRequest {
		t.Errorf("br: %d", code)
	}
	if code := send(t, rcv.TracesEndpoint(), "application/x-protobuf", "gzip", []byte("not gzip")); code != http.StatusBadRequest {
		t.Errorf("bad gzip: %d", code)
	}
	if code := send(t, rcv.TracesEndpoint(), "application/x-protobuf", "", []byte{0xff, 0xff}); code != http.StatusBadRequest {
		t.Errorf("bad protobuf: %d", code)
	}
	if n := len(rcv.Errors()); n != 4 {
		t.Errorf("%d errors recorded, want 4: %v", n, rcv.Errors())
	}
	rcv.SetStatus(http.StatusServiceUnavailable)
	if code := send(t, rcv.TracesEndpoint(), "application/x-protobuf", "", nil); code != http.StatusServiceUnavailable {
		t.Errorf("SetStatus: %d", code)
	}
	rcv.SetStatus(0)
	if code := send(t, rcv.TracesEndpoint(), "application/x-protobuf", "", nil); code != http.StatusOK {
		t.Errorf("empty request: %d", code)
	}
	if len(rcv.Spans()) != 0 || len(rcv.Requests()) != 1 {
		t.Errorf("spans %d requests %d", len(rcv.Spans()), len(rcv.Requests()))
	}
	rcv.Reset()
	if len(rcv.Errors()) != 0 || len(rcv.Requests()) != 0 {
		t.Error("Reset")
	}
}
