package worker_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roomworker/roomworker/events"
	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/internal/tracing"
	"github.com/roomworker/roomworker/internal/tracing/otlptest"
	"github.com/roomworker/roomworker/plugnmeet"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
)

// failFirst answers the first create call whose body contains marker with a 503, as a proxy in
// front of plugNmeet would, and passes everything else on.
type failFirst struct {
	base   http.RoundTripper
	marker string
	mu     sync.Mutex
	done   bool
}

func (f *failFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == plugnmeet.RouteCreate && r.Body != nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		fail := !f.done && bytes.Contains(body, []byte(f.marker))
		f.done = f.done || fail
		f.mu.Unlock()
		if fail {
			return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
				Header: http.Header{"Content-Type": {"text/plain"}}, Body: io.NopCloser(strings.NewReader("busy")),
				Request: r, ProtoMajor: 1, ProtoMinor: 1}, nil
		}
	}
	return f.base.RoundTrip(r)
}

// One span per delivery, a child of the request's traceparent, with a child span per step; the
// result's traceparent names the worker's publish span, so a consumer of the result continues
// the trace. Exported over OTLP/HTTP to a receiver in the test, configured by OTEL_* alone.
func TestTracesFollowEachDelivery(t *testing.T) {
	rcv := otlptest.New(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.Endpoint())
	t.Setenv("OTEL_SERVICE_NAME", "roomworker-test")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	tr, err := tracing.Setup(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	if !tr.Enabled() {
		t.Fatalf("tracing is off with OTEL_EXPORTER_OTLP_ENDPOINT set: %s", tr)
	}

	e := testenv.NewWithStandin(t, plugnmeettest.Options{Seed: 1})
	e.Standin.SetFaults(plugnmeettest.Faults{ForbidBodyContaining: "forbidden-room"})
	e.Tracing = tr
	hc := plugnmeet.DefaultHTTPClient()
	hc.Transport = tr.Transport(&failFirst{base: hc.Transport, marker: "retried-room"})
	api, err := plugnmeet.New(plugnmeet.Config{URL: e.Standin.URL, APIKey: testenv.APIKey, APISecret: testenv.APISecret, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	rw := e.StartWorker(api)

	const parentSpan = "00f067aa0ba902b7"
	traceIDs := map[string]string{
		"created-room":   "4bf92f3577b34da6a3ce929d0e0e4736",
		"forbidden-room": "5bf92f3577b34da6a3ce929d0e0e4737",
		"retried-room":   "6bf92f3577b34da6a3ce929d0e0e4738",
	}
	ids := map[string]string{}
	for _, room := range []string{"created-room", "forbidden-room", "retried-room"} {
		ev := testenv.NewEvent("", testenv.Request(room))
		ev.SetExtension(events.ExtTraceParent, "00-"+traceIDs[room]+"-"+parentSpan+"-01")
		ids[room] = ev.ID()
		e.Publish(ev)
	}
	results := e.WaitResults(3, 30*time.Second)
	if err := tr.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The latency histograms carry the trace ids of sampled requests as exemplars.
	mfs, err := rw.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	exemplars := map[string]map[string]bool{} // metric -> trace ids
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, b := range m.GetHistogram().GetBucket() {
				for _, l := range b.GetExemplar().GetLabel() {
					if l.GetName() == "trace_id" {
						if exemplars[mf.GetName()] == nil {
							exemplars[mf.GetName()] = map[string]bool{}
						}
						exemplars[mf.GetName()][l.GetValue()] = true
					}
				}
			}
		}
	}
	for _, name := range []string{"roomworker_processing_duration_seconds", "roomworker_plugnmeet_request_duration_seconds"} {
		found := false
		for _, tid := range traceIDs {
			found = found || exemplars[name][tid]
		}
		if !found {
			t.Errorf("%s has no exemplar naming a request's trace (exemplars: %v)", name, exemplars[name])
		}
	}

	for _, room := range []string{"created-room", "forbidden-room", "retried-room"} {
		t.Run(room, func(t *testing.T) {
			tid := traceIDs[room]
			process := rcv.WaitFor(t, func(s otlptest.Span) bool {
				return s.TraceID == tid && s.Name == "process rooms.create"
			}, 10*time.Second)
			if process.ParentSpanID != parentSpan || process.Kind != otlptest.KindConsumer {
				t.Errorf("delivery span: parent %q kind %q, want the request's span %q, consumer", process.ParentSpanID, process.Kind, parentSpan)
			}
			for k, want := range map[string]string{
				"messaging.system": "nats", "messaging.destination.name": "rooms.create",
				"messaging.operation.type": "process", "messaging.consumer.group.name": "roomworker",
				"cloudevents.event_id": ids[room], "cloudevents.event_source": "worker-test",
				"roomworker.room_id": room,
			} {
				if got := process.Attributes[k]; got != want {
					t.Errorf("delivery span attribute %s = %q, want %q", k, got, want)
				}
			}
			if process.Resource["service.name"] != "roomworker-test" {
				t.Errorf("service.name = %q, want OTEL_SERVICE_NAME's roomworker-test", process.Resource["service.name"])
			}
			// Wait for the last child to arrive, then take the whole tree.
			rcv.WaitFor(t, func(s otlptest.Span) bool { return s.TraceID == tid && strings.HasPrefix(s.Name, "publish ") }, 10*time.Second)
			var children, calls, httpSpans []otlptest.Span
			byID := map[string]otlptest.Span{}
			for _, s := range rcv.Spans() {
				if s.TraceID == tid {
					byID[s.SpanID] = s
				}
			}
			for _, s := range byID {
				if s.ParentSpanID == process.SpanID {
					children = append(children, s)
					if s.Name == "plugnmeet "+plugnmeet.RouteCreate {
						calls = append(calls, s)
					}
				}
				if s.Kind == otlptest.KindClient {
					httpSpans = append(httpSpans, s)
				}
				for _, v := range s.Attributes {
					if strings.Contains(v, testenv.APISecret) || strings.Contains(v, "max_participants") {
						t.Errorf("span %q carries a secret or the request body: %q", s.Name, v)
					}
				}
			}
			names := map[string]int{}
			for _, s := range children {
				names[s.Name]++
			}
			for _, n := range []string{"decode and validate", "lease", "record"} {
				if names[n] != 1 {
					t.Errorf("%d %q spans under the delivery, want 1 (children: %v)", names[n], n, names)
				}
			}
			var publish otlptest.Span
			for _, s := range children {
				if strings.HasPrefix(s.Name, "publish ") {
					publish = s
				}
			}
			if publish.Kind != otlptest.KindProducer {
				t.Errorf("publish span %+v: want a producer child of the delivery", publish)
			}
			// Every HTTP client span hangs under one of our plugNmeet call spans.
			for _, h := range httpSpans {
				if p, ok := byID[h.ParentSpanID]; !ok || !strings.HasPrefix(p.Name, "plugnmeet ") {
					t.Errorf("HTTP span %q is not the child of a plugnmeet call span (parent %q)", h.Name, p.Name)
				}
			}

			var res *testenv.Result
			for i := range results {
				if results[i].RequestID() == ids[room] {
					res = &results[i]
				}
			}
			if res == nil {
				t.Fatalf("no result for %s", room)
			}
			if tp, _ := res.Ev.Extensions()[events.ExtTraceParent].(string); tp != "00-"+tid+"-"+publish.SpanID+"-01" {
				t.Errorf("result traceparent %q, want the worker's publish span 00-%s-%s-01", tp, tid, publish.SpanID)
			}

			switch room {
			case "created-room":
				if process.StatusCode == otlptest.StatusError || publish.Name != "publish rooms.created" || len(calls) != 1 ||
					calls[0].Attributes["roomworker.plugnmeet.attempt"] != "1" {
					t.Errorf("created: status %s, publish %q, %d create call spans %+v", process.StatusCode, publish.Name, len(calls), calls)
				}
			case "forbidden-room":
				if process.StatusCode != otlptest.StatusError || process.Attributes["error.type"] != "rejected" ||
					publish.Name != "publish rooms.failed" {
					t.Errorf("rejected: delivery status %s error.type %q, publish %q; want an error span with error.type rejected",
						process.StatusCode, process.Attributes["error.type"], publish.Name)
				}
				if len(calls) != 1 || calls[0].StatusCode != otlptest.StatusError || calls[0].Attributes["http.response.status_code"] != "403" {
					t.Errorf("rejected: create call spans %+v, want one failed with status 403", calls)
				}
			case "retried-room":
				attempts := map[string]otlptest.Span{}
				for _, c := range calls {
					attempts[c.Attributes["roomworker.plugnmeet.attempt"]] = c
				}
				first, second := attempts["1"], attempts["2"]
				if len(calls) != 2 || first.StatusCode != otlptest.StatusError || first.Attributes["http.response.status_code"] != "503" ||
					second.StatusCode == otlptest.StatusError || process.StatusCode == otlptest.StatusError {
					t.Errorf("retried: create call spans %+v, want attempt 1 failed (503) and attempt 2 fine, in one delivery", calls)
				}
			}
			if t.Failed() {
				t.Log(otlptest.Dump(rcv.Spans()))
			}
		})
	}
}
