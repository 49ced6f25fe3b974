// Package otlptest is an in-process OTLP/HTTP trace receiver for tests:
// point OTEL_EXPORTER_OTLP_ENDPOINT at Endpoint() and read back the spans
// the exporter sent.
//
//	rcv := otlptest.New(t)
//	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.Endpoint())
//	... run, then Shutdown the tracing (it flushes) ...
//	span := rcv.WaitFor(t, otlptest.Named("process rooms.create"), 5*time.Second)
package otlptest

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// TracesPath is the OTLP/HTTP traces path.
const TracesPath = "/v1/traces"

// maxBody bounds a request body, compressed and decompressed.
const maxBody = 64 << 20

// Span kinds, as OTLP numbers them (and as Span.Kind holds them).
const (
	KindUnspecified = "unspecified"
	KindInternal    = "internal"
	KindServer      = "server"
	KindClient      = "client"
	KindProducer    = "producer"
	KindConsumer    = "consumer"
)

// Status codes of Span.StatusCode.
const (
	StatusUnset = "unset"
	StatusOK    = "ok"
	StatusError = "error"
)

// Span is a received span, flattened.
type Span struct {
	TraceID      string // 32 lowercase hex digits
	SpanID       string // 16 lowercase hex digits
	ParentSpanID string // "" for a root span
	TraceState   string
	Name         string
	Kind         string // KindConsumer, KindProducer, KindClient...
	Start, End   time.Time
	// Attributes holds each attribute's value as a string (arrays and maps
	// as JSON); AttributeValues holds them as Go values (string, bool,
	// int64, float64, []byte, []any, map[string]any).
	Attributes      map[string]string
	AttributeValues map[string]any
	StatusCode      string // StatusUnset, StatusOK or StatusError
	StatusMessage   string
	Events          []Event
	Links           []Link
	// Resource holds the resource attributes as strings.
	Resource     map[string]string
	Scope        string // instrumentation scope name
	ScopeVersion string
}

// Event is a span event.
type Event struct {
	Name       string
	Time       time.Time
	Attributes map[string]string
}

// Link is a span link.
type Link struct {
	TraceID, SpanID string
	Attributes      map[string]string
}

// Request records one export request as received.
type Request struct {
	ContentType     string
	ContentEncoding string
	Header          http.Header
	Spans           int
}

// Receiver is an OTLP/HTTP trace receiver on an httptest.Server. It
// accepts POST /v1/traces with application/x-protobuf or application/json
// bodies, gzip-compressed or not. Safe for concurrent use.
type Receiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	spans    []Span
	requests []Request
	errs     []error
	notify   chan struct{} // closed and replaced when spans arrive
	status   int           // answer with this status instead (0: 200)
}

// New starts a receiver, closed when t's test ends.
func New(t testing.TB) *Receiver {
	t.Helper()
	r := NewUnstarted()
	r.srv.Start()
	t.Cleanup(r.Close)
	return r
}

// NewUnstarted returns a receiver whose server is not started yet: call
// Start, and Close when done. For use outside a test (a benchmark's
// TestMain, a demo).
func NewUnstarted() *Receiver {
	r := &Receiver{notify: make(chan struct{})}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	return r
}

// Start starts a receiver made by NewUnstarted.
func (r *Receiver) Start() { r.srv.Start() }

// Close shuts the server down.
func (r *Receiver) Close() { r.srv.Close() }

// Endpoint returns the base URL for OTEL_EXPORTER_OTLP_ENDPOINT, e.g.
// http://127.0.0.1:34567 (the exporter appends /v1/traces).
func (r *Receiver) Endpoint() string { return r.srv.URL }

// TracesEndpoint returns the full URL for OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.
func (r *Receiver) TracesEndpoint() string { return r.srv.URL + TracesPath }

// SetStatus makes the receiver answer export requests with status code
// (e.g. 503 to test the exporter's retries), still recording nothing; 0 or
// 200 restores normal operation.
func (r *Receiver) SetStatus(code int) {
	r.mu.Lock()
	r.status = code
	r.mu.Unlock()
}

// Spans returns a copy of the spans received so far, in arrival order.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Requests returns what is recorded of each export request so far.
func (r *Receiver) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.requests...)
}

// Errors returns the errors met decoding requests (each answered 400).
func (r *Receiver) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// Reset forgets the spans, requests and errors received so far.
func (r *Receiver) Reset() {
	r.mu.Lock()
	r.spans, r.requests, r.errs = nil, nil, nil
	r.mu.Unlock()
}

// WaitFor waits up to timeout for a received span satisfying pred and
// returns the first one; the test fails (FailNow) if none comes, listing
// the spans received.
func (r *Receiver) WaitFor(t testing.TB, pred func(Span) bool, timeout time.Duration) Span {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for _, s := range r.spans {
			if pred(s) {
				r.mu.Unlock()
				return s
			}
		}
		notify := r.notify
		r.mu.Unlock()
		select {
		case <-notify:
		case <-deadline.C:
			t.Fatalf("otlptest: no matching span within %v; received:\n%s", timeout, Dump(r.Spans()))
			return Span{}
		}
	}
}

// Named matches a span by name.
func Named(name string) func(Span) bool {
	return func(s Span) bool { return s.Name == name }
}

// Dump renders spans one a line, for failure messages.
func Dump(spans []Span) string {
	var b strings.Builder
	for _, s := range spans {
		keys := make([]string, 0, len(s.Attributes))
		for k := range s.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, "  %s %q kind=%s trace=%s span=%s parent=%s status=%s", s.Scope, s.Name, s.Kind, s.TraceID, s.SpanID, s.ParentSpanID, s.StatusCode)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%q", k, s.Attributes[k])
		}
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		return "  (none)\n"
	}
	return b.String()
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != TracesPath {
		http.Error(w, "otlptest: only "+TracesPath, http.StatusNotFound)
		return
	}
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "otlptest: POST only", http.StatusMethodNotAllowed)
		return
	}
	r.mu.Lock()
	status := r.status
	r.mu.Unlock()
	if status != 0 && status != http.StatusOK {
		http.Error(w, "otlptest: status set by the test", status)
		return
	}
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	spans, err := decodeRequest(req, ct)
	if err != nil {
		r.mu.Lock()
		r.errs = append(r.errs, err)
		r.mu.Unlock()
		http.Error(w, "otlptest: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.spans = append(r.spans, spans...)
	r.requests = append(r.requests, Request{
		ContentType: ct, ContentEncoding: req.Header.Get("Content-Encoding"),
		Header: req.Header.Clone(), Spans: len(spans),
	})
	close(r.notify)
	r.notify = make(chan struct{})
	r.mu.Unlock()

	var resp coltracepb.ExportTraceServiceResponse
	var body []byte
	if ct == "application/json" {
		body, err = protojson.Marshal(&resp)
	} else {
		ct = "application/x-protobuf"
		body, err = proto.Marshal(&resp)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(body)
}

// decodeRequest reads and decodes an export request body.
func decodeRequest(req *http.Request, ct string) ([]Span, error) {
	var body io.Reader = io.LimitReader(req.Body, maxBody+1)
	switch enc := strings.ToLower(req.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		body = io.LimitReader(zr, maxBody+1)
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(data) > maxBody {
		return nil, fmt.Errorf("body larger than %d bytes", maxBody)
	}
	var msg coltracepb.ExportTraceServiceRequest
	switch ct {
	case "application/x-protobuf", "application/protobuf":
		if err := proto.Unmarshal(data, &msg); err != nil {
			return nil, fmt.Errorf("protobuf body: %w", err)
		}
	case "application/json":
		if err := unmarshalJSON(data, &msg); err != nil {
			return nil, fmt.Errorf("JSON body: %w", err)
		}
	default:
		return nil, fmt.Errorf("unsupported Content-Type %q", ct)
	}
	return Flatten(&msg), nil
}

// unmarshalJSON decodes OTLP/JSON, whose trace and span ids are hex strings
// (where the protobuf JSON mapping has base64).
func unmarshalJSON(data []byte, msg *coltracepb.ExportTraceServiceRequest) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	hexIDsToBase64(v)
	fixed, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(fixed, msg)
}

// idLen is the hex length of each id field.
var idLen = map[string]int{"traceId": 32, "spanId": 16, "parentSpanId": 16}

func hexIDsToBase64(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if n, ok := idLen[k]; ok {
				if s, ok := e.(string); ok && len(s) == n {
					if b, err := hex.DecodeString(s); err == nil {
						v[k] = base64.StdEncoding.EncodeToString(b)
						continue
					}
				}
			}
			hexIDsToBase64(e)
		}
	case []any:
		for _, e := range v {
			hexIDsToBase64(e)
		}
	}
}

// Flatten turns an export request into Spans.
func Flatten(msg *coltracepb.ExportTraceServiceRequest) []Span {
	var out []Span
	for _, rs := range msg.GetResourceSpans() {
		res := stringMap(rs.GetResource().GetAttributes())
		for _, ss := range rs.GetScopeSpans() {
			for _, s := range ss.GetSpans() {
				sp := Span{
					TraceID:         hex.EncodeToString(s.GetTraceId()),
					SpanID:          hex.EncodeToString(s.GetSpanId()),
					ParentSpanID:    hex.EncodeToString(s.GetParentSpanId()),
					TraceState:      s.GetTraceState(),
					Name:            s.GetName(),
					Kind:            kindName(s.GetKind()),
					Start:           unixNano(s.GetStartTimeUnixNano()),
					End:             unixNano(s.GetEndTimeUnixNano()),
					Attributes:      stringMap(s.GetAttributes()),
					AttributeValues: valueMap(s.GetAttributes()),
					StatusCode:      statusName(s.GetStatus().GetCode()),
					StatusMessage:   s.GetStatus().GetMessage(),
					Resource:        res,
					Scope:           ss.GetScope().GetName(),
					ScopeVersion:    ss.GetScope().GetVersion(),
				}
				for _, e := range s.GetEvents() {
					sp.Events = append(sp.Events, Event{Name: e.GetName(), Time: unixNano(e.GetTimeUnixNano()), Attributes: stringMap(e.GetAttributes())})
				}
				for _, l := range s.GetLinks() {
					sp.Links = append(sp.Links, Link{TraceID: hex.EncodeToString(l.GetTraceId()), SpanID: hex.EncodeToString(l.GetSpanId()), Attributes: stringMap(l.GetAttributes())})
				}
				out = append(out, sp)
			}
		}
	}
	return out
}

func unixNano(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n))
}

func kindName(k tracepb.Span_SpanKind) string {
	switch k {
	case tracepb.Span_SPAN_KIND_INTERNAL:
		return KindInternal
	case tracepb.Span_SPAN_KIND_SERVER:
		return KindServer
	case tracepb.Span_SPAN_KIND_CLIENT:
		return KindClient
	case tracepb.Span_SPAN_KIND_PRODUCER:
		return KindProducer
	case tracepb.Span_SPAN_KIND_CONSUMER:
		return KindConsumer
	default:
		return KindUnspecified
	}
}

func statusName(c tracepb.Status_StatusCode) string {
	switch c {
	case tracepb.Status_STATUS_CODE_OK:
		return StatusOK
	case tracepb.Status_STATUS_CODE_ERROR:
		return StatusError
	default:
		return StatusUnset
	}
}

func stringMap(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = valueString(kv.GetValue())
	}
	return m
}

func valueMap(kvs []*commonpb.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.GetKey()] = value(kv.GetValue())
	}
	return m
}

// value converts an AnyValue to a Go value.
func value(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return x.BytesValue
	case *commonpb.AnyValue_ArrayValue:
		vals := x.ArrayValue.GetValues()
		out := make([]any, len(vals))
		for i, e := range vals {
			out[i] = value(e)
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		return valueMap(x.KvlistValue.GetValues())
	default:
		return nil
	}
}

// valueString renders an AnyValue as a string: scalars plainly, arrays and
// maps as JSON.
func valueString(v *commonpb.AnyValue) string {
	switch x := value(v).(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}
