package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/roomworker/roomworker/internal/testenv"
	"github.com/roomworker/roomworker/plugnmeet/plugnmeettest"
	"github.com/roomworker/roomworker/worker"
)

// eventuallyMetrics waits until the registry's metrics named in names read as want (the text
// exposition format); metrics are updated right after a result is stored, so they may trail it.
func eventuallyMetrics(t *testing.T, reg prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	deadline := time.Now().Add(12 * time.Second) // covers the 5s consumer-info poll
	for {
		err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func TestMetricsAfterKnownSequence(t *testing.T) {
	e := testenv.New(t)
	rw := e.StartWorker(nil)

	// Before any traffic every labelled series already exists at 0.
	eventuallyMetrics(t, rw.Reg, `
# HELP roomworker_results_total Result events published, by outcome (created, ended, scheduled, cancelled, failed) and reason.
# TYPE roomworker_results_total counter
roomworker_results_total{outcome="cancelled",reason="cancelled"} 0
roomworker_results_total{outcome="cancelled",reason="created"} 0
roomworker_results_total{outcome="cancelled",reason="never_scheduled"} 0
roomworker_results_total{outcome="scheduled",reason="scheduled"} 0
roomworker_results_total{outcome="created",reason="created"} 0
roomworker_results_total{outcome="created",reason="duplicate"} 0
roomworker_results_total{outcome="ended",reason="already_ended"} 0
roomworker_results_total{outcome="ended",reason="ended"} 0
roomworker_results_total{outcome="failed",reason="invalid_event"} 0
roomworker_results_total{outcome="failed",reason="invalid_request"} 0
roomworker_results_total{outcome="failed",reason="rejected"} 0
roomworker_results_total{outcome="failed",reason="retries_exhausted"} 0
# HELP roomworker_ready 1 while this worker is ready to take work (what /readyz answers 200 for), else 0.
# TYPE roomworker_ready gauge
roomworker_ready 1
`, "roomworker_results_total", "roomworker_ready")

	// 3 rooms created, then 1 duplicate of the first (same room and payload, new event id, in
	// structured mode: plugNmeet is asked whether the room is still live), 1 request failing the
	// schema and 1 message that is no CloudEvent.
	for _, room := range []string{"m-one", "m-two", "m-three"} {
		e.Publish(testenv.NewEvent("", testenv.Request(room)))
	}
	e.WaitResults(3, 10*time.Second)
	e.PublishStructured(testenv.NewEvent("", testenv.Request("m-one")))
	e.Publish(testenv.NewEvent("", []byte(`{"room_id":"bad room id!","metadata":{}}`)))
	e.PublishRaw(nats.Header{"Content-Type": []string{"text/plain"}}, []byte("not an event"))
	e.WaitResults(6, 10*time.Second)

	eventuallyMetrics(t, rw.Reg, `
# HELP roomworker_results_total Result events published, by outcome (created, ended, scheduled, cancelled, failed) and reason.
# TYPE roomworker_results_total counter
roomworker_results_total{outcome="cancelled",reason="cancelled"} 0
roomworker_results_total{outcome="cancelled",reason="created"} 0
roomworker_results_total{outcome="cancelled",reason="never_scheduled"} 0
roomworker_results_total{outcome="scheduled",reason="scheduled"} 0
roomworker_results_total{outcome="created",reason="created"} 3
roomworker_results_total{outcome="created",reason="duplicate"} 1
roomworker_results_total{outcome="ended",reason="already_ended"} 0
roomworker_results_total{outcome="ended",reason="ended"} 0
roomworker_results_total{outcome="failed",reason="invalid_event"} 1
roomworker_results_total{outcome="failed",reason="invalid_request"} 1
roomworker_results_total{outcome="failed",reason="rejected"} 0
roomworker_results_total{outcome="failed",reason="retries_exhausted"} 0
# HELP roomworker_requests_received_total Requests received (first deliveries; redeliveries are not counted again), by CloudEvents content mode (binary, structured, invalid).
# TYPE roomworker_requests_received_total counter
roomworker_requests_received_total{mode="binary"} 4
roomworker_requests_received_total{mode="invalid"} 1
roomworker_requests_received_total{mode="structured"} 1
# HELP roomworker_idempotency_hits_total Requests answered, once their result was stored, with the live session an earlier request recorded, without a create call.
# TYPE roomworker_idempotency_hits_total counter
roomworker_idempotency_hits_total 1
# HELP roomworker_plugnmeet_requests_total Calls to the plugNmeet API, by route and outcome class (ok, transient, permanent, systemic).
# TYPE roomworker_plugnmeet_requests_total counter
roomworker_plugnmeet_requests_total{class="ok",route="/auth/room/create"} 3
roomworker_plugnmeet_requests_total{class="permanent",route="/auth/room/create"} 0
roomworker_plugnmeet_requests_total{class="systemic",route="/auth/room/create"} 0
roomworker_plugnmeet_requests_total{class="transient",route="/auth/room/create"} 0
roomworker_plugnmeet_requests_total{class="ok",route="/auth/room/endRoom"} 0
roomworker_plugnmeet_requests_total{class="permanent",route="/auth/room/endRoom"} 0
roomworker_plugnmeet_requests_total{class="systemic",route="/auth/room/endRoom"} 0
roomworker_plugnmeet_requests_total{class="transient",route="/auth/room/endRoom"} 0
roomworker_plugnmeet_requests_total{class="ok",route="/auth/room/isRoomActive"} 1
roomworker_plugnmeet_requests_total{class="permanent",route="/auth/room/isRoomActive"} 0
roomworker_plugnmeet_requests_total{class="systemic",route="/auth/room/isRoomActive"} 0
roomworker_plugnmeet_requests_total{class="transient",route="/auth/room/isRoomActive"} 0
# HELP roomworker_deliveries_total Deliveries by how they ended: ack, nak (redelivered later) or term.
# TYPE roomworker_deliveries_total counter
roomworker_deliveries_total{action="ack"} 4
roomworker_deliveries_total{action="nak"} 0
roomworker_deliveries_total{action="term"} 2
# HELP roomworker_attempts Create attempts a request needed before its result.
# TYPE roomworker_attempts histogram
roomworker_attempts_bucket{le="0"} 3
roomworker_attempts_bucket{le="1"} 6
roomworker_attempts_bucket{le="2"} 6
roomworker_attempts_bucket{le="3"} 6
roomworker_attempts_bucket{le="5"} 6
roomworker_attempts_bucket{le="8"} 6
roomworker_attempts_bucket{le="13"} 6
roomworker_attempts_bucket{le="21"} 6
roomworker_attempts_bucket{le="+Inf"} 6
roomworker_attempts_sum 3
roomworker_attempts_count 6
# HELP roomworker_inflight Deliveries being processed right now by this worker.
# TYPE roomworker_inflight gauge
roomworker_inflight 0
# HELP roomworker_systemic_pause 1 while consumption is paused because plugNmeet rejects the credentials (401/403 confirmed by a probe) or PLUGNMEET_URL does not lead to its API.
# TYPE roomworker_systemic_pause gauge
roomworker_systemic_pause 0
`, "roomworker_results_total", "roomworker_requests_received_total", "roomworker_idempotency_hits_total",
		"roomworker_plugnmeet_requests_total", "roomworker_deliveries_total", "roomworker_attempts",
		"roomworker_inflight", "roomworker_systemic_pause")

	for _, name := range []string{"roomworker_processing_duration_seconds", "roomworker_request_age_seconds"} {
		if n, err := testutil.GatherAndCount(rw.Reg, name); err != nil || n != 1 {
			t.Errorf("%s: %d series, err %v; want 1", name, n, err)
		}
	}
	got, err := rw.Reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range got {
		switch mf.GetName() {
		case "roomworker_processing_duration_seconds", "roomworker_request_age_seconds":
			if c := mf.GetMetric()[0].GetHistogram().GetSampleCount(); c != 6 {
				t.Errorf("%s: %d observations, want one per delivery (6)", mf.GetName(), c)
			}
		case "roomworker_plugnmeet_request_duration_seconds":
			for _, m := range mf.GetMetric() {
				if m.GetLabel()[0].GetValue() == "/auth/room/create" && m.GetHistogram().GetSampleCount() != 3 {
					t.Errorf("create call durations: %d observations, want 3", m.GetHistogram().GetSampleCount())
				}
			}
		}
	}

	// The consumer gauges are polled every 5s; once polled after the six acks, nothing is pending.
	eventuallyConsumerGaugesZero(t, rw.Reg)
}

func eventuallyConsumerGaugesZero(t *testing.T, reg prometheus.Gatherer) {
	t.Helper()
	const want = `
# HELP roomworker_consumer_ack_pending Requests delivered and not yet acked, across all replicas (from consumer info).
# TYPE roomworker_consumer_ack_pending gauge
roomworker_consumer_ack_pending 0
# HELP roomworker_consumer_pending Requests in the stream not yet delivered to the consumer (from consumer info).
# TYPE roomworker_consumer_pending gauge
roomworker_consumer_pending 0
`
	if n, err := testutil.GatherAndCount(reg, "roomworker_consumer_pending", "roomworker_consumer_ack_pending",
		"roomworker_consumer_redelivered"); err != nil || n != 3 {
		t.Fatalf("consumer gauges: %d series, err %v; want 3", n, err)
	}
	eventuallyMetrics(t, reg, want, "roomworker_consumer_pending", "roomworker_consumer_ack_pending")
}

func TestMetricsFollowCredentialsPause(t *testing.T) {
	e := testenv.New(t)
	rw := e.StartWorker(nil)
	e.Standin.SetFaults(plugnmeettest.Faults{Unauthorized: true})
	e.Publish(testenv.NewEvent("", testenv.Request("m-paused")))

	const paused = `
# HELP roomworker_ready 1 while this worker is ready to take work (what /readyz answers 200 for), else 0.
# TYPE roomworker_ready gauge
roomworker_ready 0
# HELP roomworker_systemic_pause 1 while consumption is paused because plugNmeet rejects the credentials (401/403 confirmed by a probe) or PLUGNMEET_URL does not lead to its API.
# TYPE roomworker_systemic_pause gauge
roomworker_systemic_pause 1
`
	eventuallyMetrics(t, rw.Reg, paused, "roomworker_ready", "roomworker_systemic_pause")
	// Give the credential probe (isRoomActive) its first check, 1s into the pause, while the key
	// is still refused.
	time.Sleep(1500 * time.Millisecond)
	if v := value(t, rw.Reg, "roomworker_plugnmeet_requests_total",
		map[string]string{"route": "/auth/room/isRoomActive", "class": "systemic"}); v < 1 {
		t.Errorf("probe calls refused: %v, want >= 1", v)
	}
	e.Standin.SetFaults(plugnmeettest.Faults{})
	e.WaitResults(1, 45*time.Second)
	const resumed = `
# HELP roomworker_ready 1 while this worker is ready to take work (what /readyz answers 200 for), else 0.
# TYPE roomworker_ready gauge
roomworker_ready 1
# HELP roomworker_systemic_pause 1 while consumption is paused because plugNmeet rejects the credentials (401/403 confirmed by a probe) or PLUGNMEET_URL does not lead to its API.
# TYPE roomworker_systemic_pause gauge
roomworker_systemic_pause 0
# HELP roomworker_systemic_errors_total Deliveries put back because plugNmeet rejected the credentials or was not at PLUGNMEET_URL (never counted as attempts).
# TYPE roomworker_systemic_errors_total counter
roomworker_systemic_errors_total 1
`
	eventuallyMetrics(t, rw.Reg, resumed, "roomworker_ready", "roomworker_systemic_pause", "roomworker_systemic_errors_total")
}

// value reads one series of a counter or gauge from reg by its labels.
func value(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want, ok := labels[l.GetName()]; ok && want != l.GetValue() {
					continue series
				}
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, labels)
	return 0
}

// Counters count requests and stored results, not deliveries: a request put back while another
// worker holds its room's lease is received once, and a duplicate whose result could not be
// stored at first is one idempotency hit, counted when its result is stored.
func TestMetricsCountRequestsNotDeliveries(t *testing.T) {
	t.Parallel()
	e := testenv.New(t)
	rw := e.StartWorker(nil)
	ctx := context.Background()
	e.Publish(testenv.NewEvent("", testenv.Request("mc-room")))
	e.WaitResults(1, 10*time.Second)

	kv, err := e.JS.KeyValue(ctx, e.Cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Create(ctx, worker.RoomKey("mc-busy"), []byte(`{"state":"claimed","holder":"other"}`), jetstream.KeyTTL(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	e.Publish(testenv.NewEvent("", testenv.Request("mc-busy")))
	e.WaitResults(2, 20*time.Second)
	if v := value(t, rw.Reg, "roomworker_deliveries_total", map[string]string{"action": "nak"}); v < 1 {
		t.Fatalf("%v deliveries put back; the lease should have put mc-busy back at least once", v)
	}

	// ROOM_EVENTS refuses new results for a while.
	s, err := e.JS.Stream(ctx, e.Cfg.EventsStream)
	if err != nil {
		t.Fatal(err)
	}
	full := s.CachedInfo().Config
	full.MaxMsgs, full.Discard = 2, jetstream.DiscardNew
	if _, err := e.JS.UpdateStream(ctx, full); err != nil {
		t.Fatal(err)
	}
	e.Publish(testenv.NewEvent("", testenv.Request("mc-room"))) // a duplicate of the live room
	e.Eventually(10*time.Second, "the duplicate put back", func() bool {
		return value(t, rw.Reg, "roomworker_deliveries_total", map[string]string{"action": "nak"}) >= 3
	})
	if v := value(t, rw.Reg, "roomworker_idempotency_hits_total", nil); v != 0 {
		t.Errorf("%v idempotency hits before the duplicate's result was stored, want 0", v)
	}
	full.MaxMsgs = -1
	if _, err := e.JS.UpdateStream(ctx, full); err != nil {
		t.Fatal(err)
	}
	e.WaitResults(3, 20*time.Second)
	eventuallyMetrics(t, rw.Reg, `
# HELP roomworker_idempotency_hits_total Requests answered, once their result was stored, with the live session an earlier request recorded, without a create call.
# TYPE roomworker_idempotency_hits_total counter
roomworker_idempotency_hits_total 1
# HELP roomworker_requests_received_total Requests received (first deliveries; redeliveries are not counted again), by CloudEvents content mode (binary, structured, invalid).
# TYPE roomworker_requests_received_total counter
roomworker_requests_received_total{mode="binary"} 3
roomworker_requests_received_total{mode="invalid"} 0
roomworker_requests_received_total{mode="structured"} 0
`, "roomworker_idempotency_hits_total", "roomworker_requests_received_total")
	if v := value(t, rw.Reg, "roomworker_results_total", map[string]string{"outcome": "created", "reason": "duplicate"}); v != 1 {
		t.Errorf("%v duplicate results counted, want 1", v)
	}
}
